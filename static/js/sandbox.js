// The sandbox console: CodeMirror editors over the textareas, the event picker and
// Ctrl/Cmd+Enter to invoke. Without JavaScript the textareas and forms work as they are.
(function () {
  "use strict";

  function invoke(form) {
    var button = form.querySelector("[data-invoke]");
    if (!button || button.disabled) return;
    if (form.requestSubmit) form.requestSubmit(button);
    else button.click();
  }

  function makeEditor(textarea) {
    if (!window.CodeMirror || textarea.dataset.enhanced) return null;
    textarea.dataset.enhanced = "true";
    var json = textarea.dataset.editor === "json";
    var editor = window.CodeMirror.fromTextArea(textarea, {
      mode: json ? { name: "javascript", json: true } : "python",
      lineNumbers: true,
      indentUnit: json ? 2 : 4,
      tabSize: 4,
      indentWithTabs: false,
      matchBrackets: true,
      autoCloseBrackets: true,
      readOnly: textarea.readOnly,
      viewportMargin: Infinity,
      screenReaderLabel: textarea.id === "code-editor" ? "Code editor" : "Event JSON editor",
      extraKeys: {
        Tab: function (cm) {
          if (cm.somethingSelected()) cm.indentSelection("add");
          else cm.replaceSelection(cm.getOption("indentWithTabs") ? "\t" : " ".repeat(cm.getOption("indentUnit")), "end");
        },
        "Shift-Tab": function (cm) {
          cm.indentSelection("subtract");
        },
        "Ctrl-Enter": function () {
          invoke(textarea.form);
        },
        "Cmd-Enter": function () {
          invoke(textarea.form);
        },
        "Ctrl-/": "toggleComment",
        "Cmd-/": "toggleComment",
        Esc: function (cm) {
          cm.getInputField().blur();
        },
      },
    });
    // Keep the textarea current so htmx and plain posts both send what is in the editor.
    editor.on("change", function () {
      editor.save();
    });
    textarea.editor = editor;
    textarea.dataset.clean = String(editor.changeGeneration());
    return editor;
  }

  function setup() {
    document.querySelectorAll("textarea[data-editor]").forEach(makeEditor);
  }

  // Delegated, since the picker is swapped in afresh after "Save event". Each option carries
  // its event's body (a JSON <script> would be dropped by htmx's allowScriptTags: false).
  document.addEventListener("change", function (event) {
    var picker = event.target;
    if (!picker.matches || !picker.matches("[data-event-picker]")) return;
    var option = picker.selectedOptions[0];
    var textarea = document.querySelector("textarea[name=event][data-editor]");
    if (!option || option.dataset.body === undefined || !textarea) return;
    if (textarea.editor) textarea.editor.setValue(option.dataset.body);
    else textarea.value = option.dataset.body;
  });

  // Opening another file loads a new page: say so when the open one has unsaved edits.
  document.addEventListener("click", function (event) {
    var tab = event.target.closest && event.target.closest("[data-file-tab]");
    var code = document.getElementById("code-editor");
    if (!tab || !code || !code.editor || code.readOnly) return;
    if (code.editor.isClean(Number(code.dataset.clean))) return;
    if (!window.confirm("Your changes to this file are not saved. Open " + tab.textContent + " anyway?")) {
      event.preventDefault();
    }
  });
  // Both save the code.
  ["codeSaved", "invocationStarted"].forEach(function (name) {
    document.addEventListener(name, function () {
      var code = document.getElementById("code-editor");
      if (code && code.editor) code.dataset.clean = String(code.editor.changeGeneration());
    });
  });

  // A poll that fails (the server restarting, a dropped connection) would leave the result
  // "Running…" for good, since the next poll is only scheduled by a successful swap: try again.
  function retryPoll(event) {
    var elt = event.detail && event.detail.elt;
    if (!elt || !elt.matches || !elt.matches("[data-poll]") || !window.htmx) return;
    var tries = Number(elt.dataset.pollFailures || 0) + 1;
    elt.dataset.pollFailures = String(tries);
    if (tries > 30) return;
    window.setTimeout(function () {
      if (!document.body.contains(elt)) return;
      window.htmx.ajax("GET", elt.getAttribute("hx-get"), { source: elt, target: elt, swap: "outerHTML" });
    }, Math.min(1000 * tries, 5000));
  }
  document.addEventListener("htmx:sendError", retryPoll);
  document.addEventListener("htmx:responseError", retryPoll);

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("#invoke-form");
    if (form) {
      event.preventDefault();
      invoke(form);
    }
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
