// Keyboard triage. On the inbox list: j / k move between items, Enter opens the focused one,
// a / e / r / x open it with that decision chosen (only when the item allows it), ? shows the
// help. On a decision page opened that way (?choose=...), the decision is ticked in the first
// action of the item, ready to submit. Keys typed into a field are left alone.
(function () {
  "use strict";

  var KEYS = { a: ["approve", "accept"], e: ["edit"], r: ["respond", "response"], x: ["reject", "ignore"] };
  var currentId = "";

  function typing(event) {
    var t = event.target;
    return t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName));
  }

  function rows() {
    return Array.prototype.slice.call(document.querySelectorAll("#inbox-results tr[data-row]"));
  }

  function focusRow(row) {
    rows().forEach(function (r) { r.classList.remove("is-current"); r.removeAttribute("aria-current"); });
    if (!row) return;
    row.classList.add("is-current");
    row.setAttribute("aria-current", "true");
    row.focus();
    currentId = row.id;
  }

  function current() {
    var list = rows();
    var found = list.filter(function (r) { return r.id === currentId; })[0];
    return found || null;
  }

  function move(step) {
    var list = rows();
    if (!list.length) return;
    var at = list.indexOf(current());
    var next = at === -1 ? 0 : Math.min(list.length - 1, Math.max(0, at + step));
    focusRow(list[next]);
  }

  function open(row, decision) {
    var href = row.getAttribute("data-href");
    if (decision) {
      var hash = href.indexOf("#");
      var path = hash === -1 ? href : href.slice(0, hash);
      var fragment = hash === -1 ? "" : href.slice(hash);
      href = path + "?choose=" + encodeURIComponent(decision) + fragment;
    }
    window.location.assign(href);
  }

  function allowed(row, key) {
    var offered = (row.getAttribute("data-decisions") || "").split(" ");
    return KEYS[key].filter(function (d) { return offered.indexOf(d) !== -1; })[0] || "";
  }

  function toggleHelp() {
    var help = document.getElementById("inbox-keys-help");
    if (help) help.hidden = !help.hidden;
  }

  function onListKey(event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typing(event)) return;
    var row = current();
    if (event.key === "j") { move(1); event.preventDefault(); }
    else if (event.key === "k") { move(-1); event.preventDefault(); }
    else if (event.key === "?") { toggleHelp(); event.preventDefault(); }
    else if (event.key === "Enter" && row && document.activeElement === row) { open(row, ""); event.preventDefault(); }
    else if (KEYS[event.key] && row) {
      var decision = allowed(row, event.key);
      if (decision) { open(row, decision); event.preventDefault(); }
    }
  }

  function chooseOnDecisionPage() {
    var params = new URLSearchParams(window.location.search);
    var decision = params.get("choose");
    if (!decision) return;
    var scope = (window.location.hash && document.getElementById(window.location.hash.slice(1))) || document;
    var radios = scope.querySelectorAll('input[type="radio"][name$="-type"]');
    var radio = Array.prototype.filter.call(radios, function (r) { return r.value === decision; })[0];
    if (!radio) return;
    radio.checked = true;
    radio.dispatchEvent(new Event("change", { bubbles: true }));
    radio.focus();
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (document.querySelector("[data-inbox-list]")) {
      document.addEventListener("keydown", onListKey);
      // The list is swapped in place (filters, live updates): keep the focused item.
      document.body.addEventListener("htmx:afterSwap", function () {
        var row = current();
        if (row) focusRow(row);
      });
    }
    chooseOnDecisionPage();
  });
})();
