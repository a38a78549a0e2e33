// The open inbox list refetches itself whenever the inbox socket sends a message (a new
// interrupt, a decision, a claim). htmx's own triggers drop an event that arrives while the
// element is fetching, and its hx-sync queue lives on the element that the outerHTML swap
// replaces, so a burst of messages could leave the list one change behind until the next one.
// Here every message that lands while any request for the list is in flight (ours, a filter,
// the next page) earns exactly one more fetch once they have all ended: a burst costs at most
// two fetches and the last one starts after the last message. A list response that started
// before a claim made in the list finished is not swapped in: it would show the item unclaimed
// again; it is fetched anew instead.
(function () {
  "use strict";

  var LIST_ID = "inbox-results";
  var inFlight = new Set();
  var again = false;
  var clock = 0;
  var lastChangeInList = 0;
  var ours = new Map();

  function list() {
    return document.getElementById(LIST_ID);
  }

  function refresh() {
    if (inFlight.size) { again = true; return; }
    again = false;
    var el = list();
    if (!el) return;
    htmx.ajax("GET", el.getAttribute("data-refresh-url"), {
      source: el, target: el, select: "#" + LIST_ID, swap: "outerHTML",
    }).catch(function () { /* the next message fetches again */ });
  }

  function settled(xhr) {
    inFlight.delete(xhr);
    ours.delete(xhr);
    if (!inFlight.size && again) refresh();
  }

  function track(event) {
    var detail = event.detail;
    var target = detail.target;
    var xhr = detail.xhr;
    if (!target || !xhr) return;
    if (target.id === LIST_ID) {
      inFlight.add(xhr);
      if (detail.elt === target) ours.set(xhr, ++clock);
      // loadend comes after load, where htmx swaps: the list is in place when it fires.
      xhr.addEventListener("loadend", function () { settled(xhr); });
    } else if (list() && list().contains(target)) {
      xhr.addEventListener("loadend", function () { lastChangeInList = ++clock; });
    }
  }

  function keepFresh(event) {
    var started = ours.get(event.detail.xhr);
    if (started !== undefined && lastChangeInList > started) {
      event.detail.shouldSwap = false;
      again = true;
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    if (!list()) return;
    document.body.addEventListener("htmx:beforeRequest", track);
    document.body.addEventListener("htmx:beforeSwap", keepFresh);
    document.body.addEventListener("htmx:wsAfterMessage", refresh);
  });
})();
