// Resources console: uploads an object with a progress bar (XHR's upload progress events),
// then swaps in the bucket's object list. Without JavaScript the form posts as it is.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !form.hasAttribute("data-upload")) return;
  event.preventDefault();
  const bar = form.querySelector("progress");
  const status = form.querySelector("[data-upload-status]");
  const request = new XMLHttpRequest();
  request.open("POST", form.action);
  request.setRequestHeader("HX-Request", "true");
  request.upload.addEventListener("progress", (progress) => {
    if (!progress.lengthComputable) return;
    bar.hidden = false;
    bar.value = Math.round((progress.loaded / progress.total) * 100);
    status.textContent = `${bar.value}%`;
  });
  request.addEventListener("load", () => {
    if (request.status === 200) {
      const target = document.querySelector(form.dataset.target);
      if (target) target.outerHTML = request.responseText;
      status.textContent = "Uploaded.";
      form.reset();
    } else {
      status.textContent = request.responseText || `Upload failed (${request.status}).`;
    }
    bar.hidden = true;
  });
  request.addEventListener("error", () => {
    status.textContent = "Upload failed: the connection was lost.";
    bar.hidden = true;
  });
  request.send(new FormData(form));
});
