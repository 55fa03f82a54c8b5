// Staff action forms (STAFF-1; walk28 F2): the first click sends the form, a second click
// or tap sends nothing. A browser shows only the last response of a double submit, and on
// an issue form the first one carries the one-time 初回ログインパスワード通知書. The server
// issues once either way (the form's nonce); this spares the second request. A file, not
// inline script: CSP (SEC-11). Without JavaScript the form works as before (UI-2).
document.querySelectorAll("form[data-submit-once]").forEach(function (form) {
  var sent = false;
  function buttons(disabled) {
    form.querySelectorAll("[type=submit]").forEach(function (button) {
      button.disabled = disabled;
      if (disabled) { button.setAttribute("aria-disabled", "true"); } else { button.removeAttribute("aria-disabled"); }
    });
  }
  form.addEventListener("submit", function (event) {
    if (sent) { event.preventDefault(); return; }
    sent = true;
    // after this event: a submitter disabled now would be left out of the form's data
    window.setTimeout(function () { buttons(true); }, 0);
  });
  // the back button may bring this page back from the browser's cache as it was left
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) { sent = false; buttons(false); }
  });
});
