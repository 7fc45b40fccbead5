// Site-wide behaviour: the colour theme toggle; forms that ask before they delete; the time
// zone guess at sign-up.
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
