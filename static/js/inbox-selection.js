// "3 selected": a [data-selection-count="FORM-ID"] element says how many checkboxes of that form
// are ticked, as boxes are ticked and unticked and after the list is swapped in (its ticks are
// kept by hx-preserve). Without JS the bulk page says how many it received.
(function () {
  "use strict";

  function ticked(formId) {
    var boxes = document.querySelectorAll('input[type="checkbox"][name="item"]');
    return Array.prototype.filter.call(boxes, function (box) {
      return box.checked && box.form && box.form.id === formId;
    }).length;
  }

  function update() {
    document.querySelectorAll("[data-selection-count]").forEach(function (out) {
      out.textContent = ticked(out.getAttribute("data-selection-count")) + " selected";
    });
  }

  document.addEventListener("change", function (event) {
    var box = event.target;
    if (box instanceof HTMLInputElement && box.type === "checkbox" && box.name === "item") update();
  });
  document.addEventListener("htmx:afterSettle", update);
  document.addEventListener("DOMContentLoaded", update);
})();
