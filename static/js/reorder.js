// Ordering lists by drag, by the move buttons (keyboard) or by typed numbers, on any
// form[data-reorder]: each list's items carry a number input, renumbered 1, 2, 3... after
// every change; then the form's "reordered" event saves it with htmx (hx-trigger). Without
// JavaScript the same buttons and numbers are a plain form post.
(function () {
  "use strict";

  function items(list) {
    return Array.from(list.children).filter((el) => el.matches("[data-reorder-item]"));
  }

  function numberOf(item) {
    return item.querySelector(":scope > .reorder-row [data-reorder-number]");
  }

  function renumber(list) {
    items(list).forEach((item, n) => {
      const input = numberOf(item);
      if (input) input.value = String(n + 1);
    });
  }

  function announce(form, item) {
    const status = form.querySelector("[data-reorder-status]");
    if (!status) return;
    const list = item.parentElement;
    const position = items(list).indexOf(item) + 1;
    status.textContent = `${item.dataset.title} moved to position ${position} of ${items(list).length}.`;
  }

  function changed(form, item) {
    renumber(item.parentElement);
    announce(form, item);
    if (window.htmx) window.htmx.trigger(form, "reordered");
  }

  function setUp(form) {
    let dragged = null;

    form.addEventListener("click", (event) => {
      const button = event.target.closest("[data-move]");
      if (!button || !form.contains(button)) return;
      event.preventDefault();
      const item = button.closest("[data-reorder-item]");
      const list = item.parentElement;
      if (button.dataset.move === "up" && item.previousElementSibling) {
        list.insertBefore(item, item.previousElementSibling);
      } else if (button.dataset.move === "down" && item.nextElementSibling) {
        list.insertBefore(item.nextElementSibling, item);
      } else {
        return;
      }
      button.focus(); // the moved item keeps the focus, so the key can be pressed again
      changed(form, item);
    });

    form.addEventListener("change", (event) => {
      const input = event.target.closest("[data-reorder-number]");
      if (!input) return;
      const item = input.closest("[data-reorder-item]");
      const list = item.parentElement;
      const wanted = parseInt(input.value, 10);
      if (Number.isNaN(wanted)) return;
      const others = items(list).filter((el) => el !== item);
      const index = Math.max(0, Math.min(others.length, wanted - 1));
      list.insertBefore(item, others[index] || null);
      input.focus();
      changed(form, item);
    });

    form.addEventListener("keydown", (event) => {
      // Enter in a number applies it here rather than posting the whole page.
      if (event.key === "Enter" && event.target.matches("[data-reorder-number]")) {
        event.preventDefault();
        event.target.dispatchEvent(new Event("change", { bubbles: true }));
      }
    });

    form.addEventListener("dragstart", (event) => {
      const handle = event.target.closest && event.target.closest("[data-reorder-handle]");
      if (!handle) return;
      dragged = handle.closest("[data-reorder-item]");
      dragged.classList.add("dragging");
      event.dataTransfer.effectAllowed = "move";
      event.dataTransfer.setData("text/plain", dragged.dataset.title || "");
      event.dataTransfer.setDragImage(dragged, 10, 10);
    });

    form.addEventListener("dragover", (event) => {
      if (!dragged) return;
      const over = event.target.closest && event.target.closest("[data-reorder-item]");
      // Only among siblings: a lesson stays in its module, a module among modules.
      const target = over && over.parentElement === dragged.parentElement ? over : null;
      if (!target) {
        const ancestor = over && over.parentElement.closest("[data-reorder-item]");
        if (!ancestor || ancestor.parentElement !== dragged.parentElement) return;
        return dragOver(event, ancestor);
      }
      dragOver(event, target);
    });

    function dragOver(event, target) {
      event.preventDefault();
      event.dataTransfer.dropEffect = "move";
      if (target === dragged) return;
      const box = target.getBoundingClientRect();
      const after = event.clientY > box.top + box.height / 2;
      target.parentElement.insertBefore(dragged, after ? target.nextElementSibling : target);
    }

    form.addEventListener("drop", (event) => {
      if (dragged) event.preventDefault();
    });

    form.addEventListener("dragend", () => {
      if (!dragged) return;
      const item = dragged;
      dragged = null;
      item.classList.remove("dragging");
      changed(form, item);
    });
  }

  document.querySelectorAll("form[data-reorder]").forEach(setUp);
})();
