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
    return editor;
  }

  function setup() {
    document.querySelectorAll("textarea[data-editor]").forEach(makeEditor);

    var picker = document.querySelector("[data-event-picker]");
    var data = document.getElementById("event-bodies");
    if (picker && data) {
      var bodies = JSON.parse(data.textContent);
      picker.addEventListener("change", function () {
        var body = bodies[picker.value];
        var textarea = document.querySelector("textarea[name=event][data-editor]");
        if (body === undefined || !textarea) return;
        if (textarea.editor) textarea.editor.setValue(body);
        else textarea.value = body;
      });
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Enter" || !(event.ctrlKey || event.metaKey)) return;
    var form = event.target.closest && event.target.closest("#invoke-form");
    if (form) {
      event.preventDefault();
      invoke(form);
    }
  });

  document.addEventListener("eventSaved", function () {
    // A new saved event belongs in the picker: reload it with the page's state on the server.
    var picker = document.querySelector("[data-event-picker]");
    if (picker) picker.dataset.stale = "true";
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
