// Lesson pages: keyboard shortcuts (j/k or arrows for next/previous, "/" to search, "?" for help).
// Plain links and forms do the work; this only adds keys. No inline script (CSP: script-src 'self').
(function () {
  "use strict";

  function typing(target) {
    if (!target || !(target instanceof Element)) return false;
    return Boolean(target.closest("input, textarea, select, [contenteditable=''], [contenteditable='true']"));
  }

  function follow(which) {
    var link = document.querySelector('a[data-shortcut="' + which + '"]');
    if (link) window.location.assign(link.href);
  }

  function toggleHelp() {
    var dialog = document.getElementById("shortcuts-help");
    if (!dialog || typeof dialog.showModal !== "function") return;
    if (dialog.open) {
      dialog.close();
    } else {
      dialog.showModal();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.altKey || event.ctrlKey || event.metaKey) return;
    if (typing(event.target)) return;
    var dialog = document.getElementById("shortcuts-help");
    if (dialog && dialog.open && event.key !== "?") return; // Esc closes it natively
    switch (event.key) {
      case "j":
      case "ArrowRight":
        follow("next");
        break;
      case "k":
      case "ArrowLeft":
        follow("prev");
        break;
      case "?":
        toggleHelp();
        break;
      case "/":
        var search = document.querySelector("[data-search-input]");
        if (!search) return;
        search.focus();
        break;
      default:
        return;
    }
    event.preventDefault();
  });
})();
