// The decision forms: show the fields of the chosen decision, a live diff of edited arguments,
// and JSON checked as it is typed. The server checks everything again; without JS every field
// is shown and the server's preview step shows the diff.
(function () {
  "use strict";

  function chosen(card) {
    var checked = card.querySelector('input[type="radio"]:checked');
    return checked ? checked.value : "";
  }

  function toggle(card) {
    var value = chosen(card);
    card.querySelectorAll("[data-when]").forEach(function (el) {
      var wanted = el.getAttribute("data-when").split(" ");
      el.hidden = wanted.indexOf(value) === -1;
    });
  }

  // Browsers send textarea line breaks as CRLF and attributes hold them as LF: a field is
  // changed only if its text differs once line breaks are alike.
  function lf(text) { return text.replace(/\r\n?/g, "\n"); }

  function liveDiff(card) {
    var out = card.querySelector("[data-diff-for]");
    if (!out) return;
    out.textContent = "";
    card.querySelectorAll("[data-original]").forEach(function (input) {
      var before = input.getAttribute("data-original");
      if (lf(input.value) === lf(before)) return;
      var key = input.name.split("-arg-").pop();
      var line = document.createElement("div");
      var del = document.createElement("del");
      var ins = document.createElement("ins");
      del.textContent = before;
      ins.textContent = input.value;
      line.append(key + ": ", del, " → ", ins);
      out.append(line);
    });
  }

  function checkJson(area) {
    var text = area.value.trim();
    var message = "";
    if (text) {
      try { JSON.parse(text); } catch (e) { message = "Not valid JSON: " + e.message; }
    }
    area.setCustomValidity(message);
    area.classList.toggle("json-invalid", message !== "");
    area.title = message;
  }

  function checkNumber(input) {
    var text = input.value.trim();
    var bad = text !== "" && !/^-?\d+(\.\d+)?([eE][-+]?\d+)?$/.test(text);
    if (input.getAttribute("data-type") === "integer" && /[.eE]/.test(text)) bad = true;
    input.setCustomValidity(bad ? "Must be a number" : "");
  }

  function init(root) {
    root.querySelectorAll("[data-action]").forEach(function (card) {
      toggle(card);
      card.addEventListener("change", function () { toggle(card); liveDiff(card); });
      card.addEventListener("input", function () { liveDiff(card); });
    });
    root.querySelectorAll("[data-json]").forEach(function (area) {
      area.addEventListener("input", function () { checkJson(area); });
      checkJson(area);
    });
    root.querySelectorAll('[data-type="number"], [data-type="integer"]').forEach(function (input) {
      if (input.tagName === "INPUT") input.addEventListener("input", function () { checkNumber(input); });
    });
    root.querySelectorAll("[data-fill]").forEach(function (button) {
      button.addEventListener("click", function () {
        var target = document.getElementById(button.getAttribute("data-fill"));
        if (target) { target.value = button.getAttribute("data-value"); checkJson(target); }
      });
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-inbox-form]").forEach(init);
  });
})();
