// Study sessions: the heartbeat that measures time on task, and the session timer.
// Beats only while the page is visible (Page Visibility API); hiding the page sends one last
// beat so the server stops counting at once. No inline script (CSP): wired from data- attributes.
(function () {
  "use strict";

  var bar = document.querySelector("[data-study-bar]");
  if (!bar) return;
  var url = bar.dataset.heartbeatUrl;
  var interval = parseInt(bar.dataset.interval, 10) || 15000;
  var stopped = false;

  function csrfToken() {
    try {
      return JSON.parse(document.body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function stop() {
    stopped = true;
    bar.hidden = true;
  }

  function beat(visible) {
    if (stopped) return;
    var body = new FormData();
    body.append("visible", visible ? "1" : "");
    body.append("csrfmiddlewaretoken", csrfToken());
    if (!visible && navigator.sendBeacon) {
      // Survives the page being closed or navigated away from.
      navigator.sendBeacon(url, body);
      return;
    }
    fetch(url, { method: "POST", body: body, credentials: "same-origin", keepalive: true })
      .then(function (response) {
        if (response.status === 410) stop();
        var seconds = response.headers.get("X-Study-Seconds");
        if (seconds !== null) syncTimers(parseInt(seconds, 10));
      })
      .catch(function () { /* offline: the gap is simply not counted */ });
  }

  function visibleNow() {
    return document.visibilityState === "visible";
  }

  if (visibleNow()) beat(true);
  setInterval(function () { if (visibleNow()) beat(true); }, interval);
  document.addEventListener("visibilitychange", function () { beat(visibleNow()); });
  window.addEventListener("pagehide", function () { beat(false); });

  // The timer: the server's count, ticking locally while visible and not paused.
  var timers = [];

  function format(total) {
    var minutes = Math.floor(total / 60);
    var seconds = total % 60;
    return minutes + ":" + (seconds < 10 ? "0" : "") + seconds;
  }

  function startTimer(element) {
    if (element.dataset.timerReady) return;
    element.dataset.timerReady = "1";
    var state = {
      element: element,
      base: parseInt(element.dataset.elapsed, 10) || 0,
      paused: element.dataset.paused === "1",
      since: null
    };
    if (!state.paused && visibleNow()) state.since = Date.now();
    timers.push(state);
    render(state);
  }

  function current(state) {
    if (state.since === null) return state.base;
    return state.base + Math.floor((Date.now() - state.since) / 1000);
  }

  function render(state) {
    var clock = state.element.querySelector("[data-clock]");
    if (clock) clock.textContent = format(current(state));
  }

  function syncTimers(seconds) {
    timers.forEach(function (state) {
      if (state.since !== null && seconds > current(state)) {
        state.base = seconds;
        state.since = Date.now();
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    timers.forEach(function (state) {
      if (visibleNow()) {
        if (!state.paused) state.since = Date.now();
      } else {
        state.base = current(state);
        state.since = null;
      }
    });
  });

  function scan(root) {
    var found = root.querySelectorAll ? root.querySelectorAll("[data-study-timer]") : [];
    Array.prototype.forEach.call(found, startTimer);
    if (root.matches && root.matches("[data-study-timer]")) startTimer(root);
    timers = timers.filter(function (state) { return document.body.contains(state.element); });
  }

  scan(document);
  document.body.addEventListener("htmx:load", function (event) { scan(event.detail.elt); });
  setInterval(function () { timers.forEach(render); }, 1000);
})();
