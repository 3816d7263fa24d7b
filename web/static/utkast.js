// Progressive enhancement of the draft form (form[data-utkast], web/templates/utkast_skjema.html).
// Without this script the form posts and the server shows it again with its findings. With it:
// - when a field is left, the form's values are sent to the server (data-sjekk: the same
//   validation as a save, nothing kept) and its findings are shown beside the fields the person
//   has been through; no rule of the form lives here;
// - every 30 seconds a changed form is saved (data-autolagring) without reloading the page, so
//   nothing typed is lost. A draft changed elsewhere (409) is never overwritten: the person is
//   told plainly and saving stops.
// Loaded from 'self' with no inline code (Content-Security-Policy "default-src 'self'").
(function () {
  "use strict";

  var INTERVAL_MS = 30000;
  var PREFIX = { feil: "Feil: ", advarsel: "Merk: " };
  var form = document.querySelector("form[data-utkast]");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  // a refused save: the summary of what to fix takes focus, so the keyboard starts there
  var refused = document.querySelector(".feiloppsummering[role=alert]");
  if (refused && !window.location.hash) {
    refused.focus();
  }
  var versjon = form.querySelector("input[name=versjon]");
  // the saving status: beside the top button (read out) and the bottom buttons (seen there too)
  var statuses = form.querySelectorAll(".lagring");
  function saidSaved(text) {
    Array.prototype.forEach.call(statuses, function (el) { el.textContent = text; });
  }
  var said = document.createElement("p");
  said.className = "skjult";
  said.setAttribute("role", "status");
  said.setAttribute("aria-live", "polite");
  form.appendChild(said);

  var touched = {}; // field names the person has left at least once
  var shown = {}; // targets whose findings are on the page now
  var dirty = false; // changed since the last save
  var saving = null; // the save in flight (a promise)
  var stopped = false; // a conflict: no more saving from this page
  var checkTimer = null;
  var lastLeft = null;

  Array.prototype.forEach.call(form.querySelectorAll(".feltfunn"), function (el) {
    if (el.textContent.trim()) {
      shown[el.id.replace(/-feil$/, "")] = true;
    }
  });

  function isField(el) {
    return (
      el && el.name && el.form === form && !el.readOnly && el.type !== "hidden" &&
      el.type !== "submit" && el.name !== "csrf_token"
    );
  }

  function post(url) {
    return fetch(url, {
      method: "POST",
      body: new FormData(form),
      credentials: "same-origin",
      headers: { Accept: "application/json" },
    }).then(function (r) {
      var json = (r.headers.get("Content-Type") || "").indexOf("application/json") === 0;
      if (!json) {
        return { status: r.status, data: null };
      }
      return r.json().then(function (data) {
        return { status: r.status, data: data };
      });
    });
  }

  function inputsOf(name) {
    var el = form.elements.namedItem(name);
    if (!el) {
      return [];
    }
    return el.tagName ? [el] : Array.prototype.slice.call(el);
  }

  function describe(holder, id, on) {
    var ids = (holder.getAttribute("aria-describedby") || "").split(/\s+/).filter(Boolean);
    ids = ids.filter(function (x) { return x !== id; });
    if (on) {
      ids.push(id);
    }
    if (ids.length) {
      holder.setAttribute("aria-describedby", ids.join(" "));
    } else {
      holder.removeAttribute("aria-describedby");
    }
  }

  function show(target, items) {
    var box = document.getElementById(target + "-feil");
    if (!box) {
      return;
    }
    box.textContent = "";
    items.forEach(function (m) {
      var span = document.createElement("span");
      span.className = m.type + "melding"; // feil, mangler (not filled in yet) or advarsel
      span.textContent = (PREFIX[m.type] || "") + m.tekst;
      box.appendChild(span);
    });
    var error = items.some(function (m) { return m.type === "feil"; });
    var inputs = inputsOf(target);
    inputs.forEach(function (input) {
      if (error) {
        input.setAttribute("aria-invalid", "true");
      } else {
        input.removeAttribute("aria-invalid");
      }
    });
    // a radio group's messages belong to its fieldset, any other field's to the field itself
    var holder = inputs.length && inputs[0].type === "radio"
      ? inputs[0].closest("fieldset")
      : inputs[0] || document.getElementById(target);
    if (holder) {
      describe(holder, box.id, items.length > 0);
    }
    if (items.length) {
      shown[target] = true;
    } else {
      delete shown[target];
    }
  }

  // a group of rows or a part of the form: shown once a field inside it has been left
  function reached(target) {
    if (touched[target] || shown[target]) {
      return true;
    }
    var box = document.getElementById(target);
    if (!box || box.tagName === "INPUT" || box.tagName === "TEXTAREA" || box.tagName === "SELECT") {
      return false;
    }
    return Object.keys(touched).some(function (name) {
      var first = inputsOf(name)[0];
      return first && box.contains(first);
    });
  }

  function update(funn) {
    var targets = {};
    Object.keys(touched).concat(Object.keys(shown), Object.keys(funn || {})).forEach(function (t) {
      targets[t] = true;
    });
    Object.keys(targets).forEach(function (t) {
      if (reached(t)) {
        show(t, (funn && funn[t]) || []);
      }
    });
    if (lastLeft && funn && funn[lastLeft] && funn[lastLeft].length) {
      said.textContent = funn[lastLeft].map(function (m) { return m.tekst; }).join(" ");
    }
  }

  function check() {
    post(form.getAttribute("data-sjekk")).then(function (res) {
      if (res.status === 200 && res.data) {
        update(res.data.funn);
      }
    }).catch(function () { /* the findings come with the next save instead */ });
  }

  function left(e) {
    var el = e.target;
    if (!isField(el)) {
      return;
    }
    touched[el.name] = true;
    lastLeft = el.name;
    clearTimeout(checkTimer);
    checkTimer = setTimeout(check, 150);
  }

  function clock() {
    var now = new Date();
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return "kl. " + pad(now.getHours()) + ":" + pad(now.getMinutes());
  }

  function conflict() {
    stopped = true;
    if (form.querySelector(".konflikt")) {
      return;
    }
    var box = document.createElement("div");
    box.className = "melding melding-feil konflikt";
    box.setAttribute("role", "alert");
    var p = document.createElement("p");
    p.textContent = "Utkastet er endret siden du åpnet det – av deg i en annen fane eller av en " +
      "kollega. Det du har skrevet her, er ikke lagret, og det blir ikke lagret over endringen. " +
      "Kopier det du vil ta vare på, og ";
    var a = document.createElement("a");
    a.href = window.location.pathname;
    a.textContent = "last inn utkastet på nytt";
    p.appendChild(a);
    p.appendChild(document.createTextNode("."));
    box.appendChild(p);
    form.insertBefore(box, form.firstChild);
    saidSaved("Ikke lagret: utkastet er endret et annet sted.");
  }

  function save() {
    if (!dirty || saving || stopped) {
      return;
    }
    dirty = false;
    saidSaved("Lagrer …");
    saving = post(form.getAttribute("data-autolagring")).then(function (res) {
      if (res.status === 200 && res.data) {
        versjon.value = res.data.versjon;
        saidSaved("Lagret automatisk " + clock() + ".");
        update(res.data.funn);
      } else if (res.status === 409) {
        conflict();
      } else if (res.data && res.data.feil) {
        // refused for what was typed (an identity number, a field that cannot be saved):
        // nothing was saved; the next change is saved again
        saidSaved("Ikke lagret: " + res.data.feil.melding);
        update(res.data.funn);
      } else {
        dirty = true;
        saidSaved("Kunne ikke lagre automatisk. Trykk «Lagre utkastet» " +
          "(er du fortsatt logget inn?).");
      }
    }).catch(function () {
      dirty = true;
      saidSaved("Kunne ikke lagre automatisk. Prøver igjen om litt.");
    }).then(function () {
      saving = null;
    });
  }

  form.addEventListener("focusout", left);
  form.addEventListener("change", function (e) {
    dirty = true;
    if (e.target.type === "checkbox" || e.target.type === "radio" || e.target.tagName === "SELECT") {
      left(e);
    }
  });
  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function (e) {
    if (saving) {
      // the posted form must carry the version the save in flight gives: post it after
      e.preventDefault();
      var button = e.submitter;
      saving.then(function () {
        if (!stopped && form.requestSubmit) {
          form.requestSubmit(button);
        }
      });
      return;
    }
    stopped = true; // the page is leaving: no save from it after this post
  });
  window.setInterval(save, INTERVAL_MS);
})();
