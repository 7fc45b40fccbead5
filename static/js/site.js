// Site-wide behaviour: the colour theme toggle; forms that ask before they delete; scrolling
// regions that keyboards can reach; the time zone guess at sign-up.
(function () {
  // <form data-confirm="Delete x?">: a plain confirm, before any other handler sees the submit.
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var question = form.dataset && form.dataset.confirm;
      if (question && !window.confirm(question)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );

  function currentTheme() {
    var chosen = document.documentElement.dataset.theme;
    if (chosen) return chosen;
    return window.matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
  }

  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-theme-toggle]");
    if (!toggle) return;
    var next = currentTheme() === "dark" ? "light" : "dark";
    document.documentElement.dataset.theme = next;
    toggle.setAttribute("aria-pressed", String(next === "dark"));
    try {
      localStorage.setItem("theme", next);
    } catch (e) {
      /* not saved; still applies to this page */
    }
  });

  // A region whose content overflows (a wide table on a phone, a long log, the editor's
  // scroller) can be scrolled from the keyboard only when it takes focus (WCAG 2.1.1):
  // give it a tab stop while, and only while, it overflows. Checked on load, after htmx
  // swaps and when the window is resized.
  var SCROLLERS = "pre, table, .table-scroll, .CodeMirror-scroll, .log";
  function scrollersFocusable() {
    document.querySelectorAll(SCROLLERS).forEach(function (el) {
      if (el.hasAttribute("tabindex") && !el.hasAttribute("data-scroll-stop")) return;
      var style = window.getComputedStyle(el);
      var scrolls =
        (el.scrollWidth > el.clientWidth + 1 && /(auto|scroll)/.test(style.overflowX)) ||
        (el.scrollHeight > el.clientHeight + 1 && /(auto|scroll)/.test(style.overflowY));
      if (scrolls) {
        el.setAttribute("tabindex", "0");
        el.setAttribute("data-scroll-stop", "");
      } else if (el.hasAttribute("data-scroll-stop")) {
        el.removeAttribute("tabindex");
        el.removeAttribute("data-scroll-stop");
      }
    });
  }
  var pending = null;
  function later() {
    window.clearTimeout(pending);
    pending = window.setTimeout(scrollersFocusable, 50);
  }
  document.addEventListener("DOMContentLoaded", scrollersFocusable);
  window.addEventListener("load", scrollersFocusable);
  window.addEventListener("resize", later);
  document.addEventListener("htmx:afterSettle", later);

  // Sign-up guesses the learner's time zone from the browser (account settings can change it).
  document.addEventListener("DOMContentLoaded", function () {
    var field = document.querySelector('input[type=hidden][name="time_zone"]');
    if (!field || field.value) return;
    try {
      field.value = Intl.DateTimeFormat().resolvedOptions().timeZone || "";
    } catch (e) {
      /* left empty: UTC until the learner picks one */
    }
  });
})();
