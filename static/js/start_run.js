// The start-run form: "Use this example" copies a graph's example input into the JSON editor.
// Bound on the document, so it also works on the buttons htmx swaps in as the graph changes.
"use strict";
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-to][data-copy-from]");
  if (!button) return;
  const target = document.getElementById(button.dataset.copyTo);
  const source = document.getElementById(button.dataset.copyFrom);
  if (target && source) {
    target.value = source.textContent;
    target.focus();
  }
});
