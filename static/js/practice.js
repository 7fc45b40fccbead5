// Interview prep: keyboard answers (1-4, Enter), the mock interview countdown, the code editor.
// No inline script anywhere (CSP script-src 'self'): everything is wired from data- attributes.
(function () {
  "use strict";

  function typing(target) {
    return target && (target.tagName === "TEXTAREA" || target.isContentEditable ||
      (target.tagName === "INPUT" && ["text", "number", "date", "search"].indexOf(target.type) >= 0) ||
      (target.tagName === "INPUT" && target.inputMode === "decimal"));
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var item = document.querySelector("[data-practice-item]");
    if (!item) return;
    if (/^[1-6]$/.test(event.key) && !typing(event.target)) {
      var target = item.querySelector('[data-key="' + event.key + '"]');
      if (!target) return;
      event.preventDefault();
      if (target.tagName === "INPUT") {
        target.checked = target.type === "checkbox" ? !target.checked : true;
        target.focus();
      } else {
        target.click();
      }
    } else if ((event.key === "u" || event.key === "U") && !typing(event.target)) {
      // Undo the rating just given, as Anki's undo does.
      var undo = item.querySelector('[data-key="u"]');
      if (!undo) return;
      event.preventDefault();
      undo.click();
    } else if (event.key === "Enter" && !(event.target && event.target.tagName === "TEXTAREA")) {
      if (event.target && (event.target.tagName === "BUTTON" || event.target.tagName === "A")) return;
      var form = item.querySelector("[data-answer-form]");
      var next = item.querySelector('[data-key="enter"]');
      var rating = item.querySelector("[data-default-rating]");
      event.preventDefault();
      if (form) {
        form.requestSubmit();
      } else if (rating) {
        rating.click();
      } else if (next) {
        next.click();
      }
    }
  });

  // Mock interview countdown. The server's deadline is authoritative: at zero the page goes to
  // the results, which the server only shows once it agrees that time is up.
  function startClock(clock) {
    var remaining = parseInt(clock.dataset.remaining, 10) || 0;
    var display = clock.querySelector("[data-countdown]");
    var paused = clock.dataset.paused === "1";
    function show() {
      var minutes = Math.floor(remaining / 60);
      var seconds = remaining % 60;
      display.textContent = minutes + ":" + (seconds < 10 ? "0" : "") + seconds + (paused ? " (paused)" : "");
      clock.classList.toggle("is-low", remaining <= 60);
    }
    show();
    if (paused) return;
    var started = Date.now();
    var initial = remaining;
    var timer = setInterval(function () {
      remaining = Math.max(0, initial - Math.floor((Date.now() - started) / 1000));
      show();
      if (remaining <= 0) {
        clearInterval(timer);
        setTimeout(function () { window.location.href = clock.dataset.resultsUrl; }, 2500);
      }
    }, 250);
  }

  // The code editor: CodeMirror when vendored, else a textarea that indents with Tab.
  function startEditor(area) {
    if (area.dataset.editorReady) return;
    area.dataset.editorReady = "1";
    if (window.CodeMirror) {
      var editor = window.CodeMirror.fromTextArea(area, {
        mode: area.dataset.mode === "javascript" ? "javascript" : "python",
        lineNumbers: true,
        indentUnit: area.dataset.mode === "javascript" ? 2 : 4,
        // On a phone long lines wrap: a sideways-scrolling editor hides code off screen.
        lineWrapping: window.matchMedia("(max-width: 640px)").matches,
        // CodeMirror types into its own hidden textarea; give it the visible label's name.
        screenReaderLabel: area.labels.length ? area.labels[0].textContent.trim() : "Code editor",
        extraKeys: {
          Tab: function (cm) { cm.execCommand(cm.somethingSelected() ? "indentMore" : "insertSoftTab"); },
          "Ctrl-Enter": function (cm) { cm.save(); area.form.requestSubmit(); }
        }
      });
      // Keep the textarea current on every edit: htmx reads the form's values before any
      // submit or configRequest listener of ours runs, so saving then would send the old code.
      editor.on("change", function () { editor.save(); });
      return;
    }
    area.addEventListener("keydown", function (event) {
      if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
        event.preventDefault();
        area.form.requestSubmit();
      } else if (event.key === "Tab" && !event.shiftKey) {
        event.preventDefault();
        var start = area.selectionStart;
        area.setRangeText("    ", start, area.selectionEnd, "end");
      } else if (event.key === "Escape") {
        area.blur(); // keyboard users can leave the editor: Tab moves focus again afterwards
      }
    });
  }

  function wire(root) {
    root.querySelectorAll("[data-mock-clock]").forEach(startClock);
    root.querySelectorAll("[data-code-editor]").forEach(startEditor);
    var focus = root.querySelector("[data-practice-item] input[autofocus], [data-practice-item] textarea");
    if (focus && root !== document) focus.focus();
  }

  document.addEventListener("DOMContentLoaded", function () { wire(document); });
  document.addEventListener("htmx:afterSettle", function (event) { wire(event.target); });
})();
