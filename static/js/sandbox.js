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
    var javascript = textarea.dataset.editor === "javascript";
    var editor = window.CodeMirror.fromTextArea(textarea, {
      mode: json ? { name: "javascript", json: true } : javascript ? "javascript" : "python",
      lineNumbers: true,
      indentUnit: json || javascript ? 2 : 4,
      tabSize: 4,
      indentWithTabs: false,
      matchBrackets: true,
      autoCloseBrackets: true,
      readOnly: textarea.readOnly,
      viewportMargin: Infinity,
      // On a phone long lines wrap: a sideways-scrolling editor hides code off screen.
      lineWrapping: window.matchMedia("(max-width: 640px)").matches,
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
      showCodeState();
    });
    textarea.editor = editor;
    textarea.dataset.clean = String(editor.changeGeneration());
    return editor;
  }

  function setup() {
    document.querySelectorAll("textarea[data-editor]").forEach(makeEditor);
    showCodeState();
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

  // Unsaved edits. The code editor shows "Saved" or "Unsaved changes" (as the Lambda console
  // shows "Deploy"); leaving the page with unsaved code or event edits asks first; the file
  // actions (add, rename, delete, upload) carry the open file's edits so the server saves them
  // before it reloads the page.
  var leaving = false;

  function codeTextarea() {
    return document.getElementById("code-editor");
  }

  function isDirty(textarea) {
    if (!textarea || textarea.readOnly || !textarea.editor) return false;
    return !textarea.editor.isClean(Number(textarea.dataset.clean));
  }

  function anyDirty() {
    var dirty = false;
    document.querySelectorAll("textarea[data-editor]").forEach(function (textarea) {
      if (isDirty(textarea)) dirty = true;
    });
    return dirty;
  }

  function showCodeState() {
    var state = document.querySelector("[data-code-state]");
    var code = codeTextarea();
    if (!state || !code || !code.editor) return;
    var dirty = isDirty(code);
    state.textContent = dirty ? "Unsaved changes" : "Saved";
    state.classList.toggle("state-dirty", dirty);
    state.classList.toggle("state-clean", !dirty);
  }

  function markClean(textarea) {
    if (textarea && textarea.editor) textarea.dataset.clean = String(textarea.editor.changeGeneration());
  }

  window.addEventListener("beforeunload", function (event) {
    if (leaving || !anyDirty()) return;
    event.preventDefault();
    event.returnValue = "";
  });

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (event.defaultPrevented || !form.matches) return;
    if (form.matches("[data-carries-code]")) {
      var code = codeTextarea();
      if (code && code.editor && !code.readOnly) {
        code.editor.save();
        ["open_path", "open_content"].forEach(function (name) {
          var input = form.querySelector("input[name=" + name + "]");
          if (!input) {
            input = document.createElement("input");
            input.type = "hidden";
            input.name = name;
            form.appendChild(input);
          }
          input.value = name === "open_path" ? code.form.querySelector("input[name=path]").value : code.value;
        });
      }
      leaving = true;
    } else if (form.id === "invoke-form") {
      // A plain post of the editor's form (htmx would have cancelled the submit): it sends
      // the code, so nothing is lost by leaving.
      leaving = true;
    }
  });

  // Both save the code; "Save event" saves the event.
  ["codeSaved", "invocationStarted"].forEach(function (name) {
    document.addEventListener(name, function () {
      markClean(codeTextarea());
      showCodeState();
    });
  });
  document.addEventListener("eventSaved", function () {
    markClean(document.querySelector("textarea[name=event][data-editor]"));
  });

  // The New function page: a name the learner has not changed follows the template chosen.
  document.addEventListener("change", function (event) {
    var radio = event.target;
    if (!radio.matches || !radio.matches("input[name=blueprint]")) return;
    var label = radio.closest("[data-blueprint-name]");
    var suggested = document.querySelector("[data-suggested-name]");
    var name = radio.form && radio.form.querySelector("input[name=name]");
    if (!label || !suggested || !name || name.value !== suggested.value) return;
    name.value = label.dataset.blueprintName;
    suggested.value = label.dataset.blueprintName;
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
