// Progressive enhancement of the upload form (form[data-opplasting]); without this script the
// form posts as before. With it: a dropped file fills the file field, and while the file is sent
// a <progress> bar with a label shows how far it has come (announced through aria-live); the
// server's answer page then replaces the page's <main>. Loaded from 'self' with no inline code,
// so it runs under the Content-Security-Policy "default-src 'self'" (XHR: connect-src 'self').
(function () {
  "use strict";

  function announce(status, text) {
    status.textContent = text;
  }

  function showAnswer(xhr, form) {
    var doc = new DOMParser().parseFromString(xhr.responseText, "text/html");
    var fresh = doc.querySelector("main");
    var main = document.querySelector("main");
    if (!fresh || !main) {
      return false;
    }
    main.replaceWith(fresh);
    if (doc.title) {
      document.title = doc.title;
    }
    enhance(fresh);
    var heading = fresh.querySelector("#resultat-tittel") || fresh.querySelector("h1");
    if (heading) {
      heading.setAttribute("tabindex", "-1");
      heading.focus();
    }
    return true;
  }

  function withProgress(form) {
    var input = form.querySelector("input[type=file]");
    var button = form.querySelector("button[type=submit]");
    var box = document.createElement("div");
    box.className = "fremdrift";
    box.hidden = true;
    var label = document.createElement("label");
    label.id = "fremdrift-etikett";
    label.textContent = "Sender filen";
    var bar = document.createElement("progress");
    bar.id = "fremdrift";
    bar.max = 100;
    bar.value = 0;
    label.htmlFor = bar.id;
    var status = document.createElement("p");
    status.className = "fremdrift-status";
    status.setAttribute("aria-live", "polite");
    status.setAttribute("role", "status");
    box.appendChild(label);
    box.appendChild(bar);
    form.appendChild(box);
    form.appendChild(status); // present (empty) from the start, so screen readers follow it

    form.addEventListener("submit", function (e) {
      if (!window.FormData || !window.XMLHttpRequest || !input || !input.files.length) {
        return; // the browser posts the form as usual
      }
      e.preventDefault();
      var xhr = new XMLHttpRequest();
      var lastSaid = -1;
      xhr.open("POST", form.action);
      xhr.upload.addEventListener("progress", function (ev) {
        if (!ev.lengthComputable) {
          bar.removeAttribute("value"); // an indeterminate bar
          return;
        }
        var percent = Math.floor((ev.loaded / ev.total) * 100);
        bar.value = percent;
        var step = Math.floor(percent / 25); // say it at 0, 25, 50, 75 and 100 %
        if (step !== lastSaid) {
          lastSaid = step;
          announce(status, "Sendt " + percent + " % av filen.");
        }
      });
      xhr.upload.addEventListener("load", function () {
        bar.value = 100;
        announce(status, "Filen er sendt. Venter på svar fra tjenesten …");
      });
      xhr.addEventListener("load", function () {
        var sameAction = xhr.responseURL === "" || xhr.responseURL === form.action;
        var html = (xhr.getResponseHeader("Content-Type") || "").indexOf("text/html") === 0;
        if (!sameAction || !html || !showAnswer(xhr, form)) {
          // redirected (to the login page) or no page to show: go there as the browser would
          window.location.assign(xhr.responseURL || form.action);
        }
      });
      xhr.addEventListener("error", function () {
        box.hidden = false;
        button.disabled = false;
        announce(status, "Filen kom ikke fram. Sjekk nettforbindelsen og prøv igjen.");
      });
      box.hidden = false;
      button.disabled = true;
      announce(status, "Sender filen …");
      xhr.send(new FormData(form));
    });
  }

  function withDrop(form) {
    var input = form.querySelector("input[type=file]");
    if (!input) {
      return;
    }
    ["dragenter", "dragover"].forEach(function (name) {
      form.addEventListener(name, function (e) {
        e.preventDefault();
        form.classList.add("dra");
      });
    });
    ["dragleave", "drop"].forEach(function (name) {
      form.addEventListener(name, function () {
        form.classList.remove("dra");
      });
    });
    form.addEventListener("drop", function (e) {
      e.preventDefault();
      if (e.dataTransfer && e.dataTransfer.files.length) {
        input.files = e.dataTransfer.files;
      }
    });
  }

  function enhance(root) {
    root.querySelectorAll("form[data-opplasting]").forEach(function (form) {
      withDrop(form);
      withProgress(form);
    });
  }

  enhance(document);
})();
