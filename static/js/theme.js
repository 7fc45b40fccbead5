// Runs before first paint so a saved theme choice never flashes the other theme.
(function () {
  try {
    var saved = localStorage.getItem("theme");
    if (saved === "light" || saved === "dark") {
      document.documentElement.dataset.theme = saved;
    }
  } catch (e) {
    /* storage disabled: follow the system setting */
  }
})();
