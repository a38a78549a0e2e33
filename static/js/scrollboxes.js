// A box whose content scrolls inside it (a long value in a <pre>, a wide table on a phone) must
// be reachable by keyboard, to be scrolled with the arrow keys: it joins the tab order, once it
// scrolls. Boxes that htmx swaps in or that grow live are looked at again after each change.
(() => {
  const BOXES = "pre, table, .table-scroll, .graph-wrap";

  function scrolls(box) {
    return box.scrollWidth > box.clientWidth + 1 || box.scrollHeight > box.clientHeight + 1;
  }

  function mark(root) {
    for (const box of root.querySelectorAll(BOXES)) {
      if (!box.hasAttribute("tabindex") && scrolls(box)) {
        box.tabIndex = 0;
      }
    }
  }

  let pending = false;
  function markSoon() {
    if (pending) return;
    pending = true;
    requestAnimationFrame(() => {
      pending = false;
      mark(document);
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    mark(document);
    new MutationObserver(markSoon).observe(document.body, { childList: true, subtree: true, characterData: true });
  });
  window.addEventListener("resize", markSoon);
})();
