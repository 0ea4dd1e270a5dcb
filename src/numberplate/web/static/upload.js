// The upload form, enhanced: drag and drop, paste from the clipboard, and an upload progress bar.
// Without JavaScript the form still posts normally; nothing here is needed for it to work.
(function () {
  "use strict";

  var form = document.querySelector("form.upload-form");
  if (!form || !window.FormData || !window.XMLHttpRequest) {
    return;
  }
  var input = form.querySelector("#image");
  var camera = form.querySelector("#camera");
  var zone = form.querySelector(".drop-zone");
  var chosen = form.querySelector(".chosen-files");
  var progressBox = form.querySelector(".upload-progress");
  var progress = form.querySelector("progress");
  var status = form.querySelector(".upload-status");
  var errorBox = form.querySelector(".upload-error");
  var button = form.querySelector("button[type=submit]");

  function describe(files) {
    if (!files || files.length === 0) {
      return "";
    }
    var names = Array.prototype.map.call(files, function (f) { return f.name || "pasted image"; });
    var shown = names.slice(0, 5).join(", ") + (names.length > 5 ? ", …" : "");
    return files.length + (files.length === 1 ? " file chosen: " : " files chosen: ") + shown;
  }

  function setFiles(files) {
    // Some systems give HEIC/AVIF photos no type: their extension counts too.
    var images = Array.prototype.filter.call(files, function (f) {
      return /^(image|video)\//.test(f.type) || /\.(heic|heif|avif)$/i.test(f.name);
    });
    if (images.length === 0) {
      errorBox.textContent = "That is not a photo or a video. Drop an image (JPEG, PNG, WebP, …) or a video file.";
      return false;
    }
    var transfer = new DataTransfer();
    images.forEach(function (f) { transfer.items.add(f); });
    input.files = transfer.files;
    if (camera) {
      camera.value = "";
    }
    errorBox.textContent = "";
    chosen.textContent = describe(input.files);
    return true;
  }

  input.addEventListener("change", function () {
    errorBox.textContent = "";
    chosen.textContent = describe(input.files);
  });

  ["dragenter", "dragover"].forEach(function (type) {
    zone.addEventListener(type, function (event) {
      event.preventDefault();
      zone.classList.add("dragging");
    });
  });
  ["dragleave", "drop"].forEach(function (type) {
    zone.addEventListener(type, function () { zone.classList.remove("dragging"); });
  });
  zone.addEventListener("drop", function (event) {
    event.preventDefault();
    if (event.dataTransfer && event.dataTransfer.files.length) {
      setFiles(event.dataTransfer.files);
    }
  });

  document.addEventListener("paste", function (event) {
    var data = event.clipboardData;
    if (!data || !data.files || data.files.length === 0) {
      return; // ordinary text pastes into the country field as usual
    }
    if (setFiles(data.files)) {
      event.preventDefault();
    }
  });

  function fail(message) {
    progressBox.hidden = true;
    button.disabled = false;
    status.textContent = "";
    errorBox.textContent = message;
  }

  function errorMessage(xhr) {
    try {
      return JSON.parse(xhr.responseText).error.message;
    } catch (e) {
      return "The upload failed (status " + xhr.status + "). Please try again.";
    }
  }

  function nextPage(xhr) {
    if (!/json/.test(xhr.getResponseHeader("Content-Type") || "")) {
      return null; // the result itself, as HTML
    }
    try {
      return JSON.parse(xhr.responseText).location || null;
    } catch (e) {
      return null;
    }
  }

  form.addEventListener("submit", function (event) {
    event.preventDefault();
    var data = new FormData(form);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", form.action);
    xhr.setRequestHeader("Accept", "application/json, text/html;q=0.5");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        progress.value = Math.round((e.loaded / e.total) * 100);
      }
    });
    xhr.upload.addEventListener("load", function () {
      progress.removeAttribute("value"); // indeterminate while the server reads the plates
      status.textContent = "Uploaded. Reading the plates…";
    });
    xhr.addEventListener("load", function () {
      if (xhr.status >= 400) {
        fail(errorMessage(xhr));
        return;
      }
      var next = nextPage(xhr);
      if (next) {
        window.location.assign(next); // the read (or summary) page; the server answers JSON, not a redirect,
        // so that its flashed messages are still there for the page the browser opens now
      } else {
        document.open(); // the result itself (storing is off): show it as a form post would
        document.write(xhr.responseText);
        document.close();
      }
    });
    xhr.addEventListener("error", function () {
      fail("The photo could not be sent: the connection failed. Check it and try again.");
    });
    errorBox.textContent = "";
    progress.value = 0;
    progressBox.hidden = false;
    button.disabled = true;
    status.textContent = "Uploading…";
    xhr.send(data);
  });
})();
