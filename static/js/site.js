// Site-wide behaviour: the colour theme toggle; forms that ask before they delete.
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
})();
