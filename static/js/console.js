// Behaviour every page shares, kept out of the HTML: the Content-Security-Policy allows no inline
// script or handler. A <select data-submit-on-change> submits its form when a choice is made.
document.addEventListener("change", (event) => {
  const select = event.target;
  if (select instanceof HTMLSelectElement && select.form && select.hasAttribute("data-submit-on-change")) {
    select.form.requestSubmit();
  }
});
