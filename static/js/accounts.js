/* 残高照会・入出金明細照会 (UI-1). CSP forbids inline script, so buttons are wired here.
   The print button is only rendered for PCs (the server decides); without JavaScript the
   browser's own print command still works. */
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll('[data-action="print"]').forEach(function (button) {
      button.addEventListener("click", function () { window.print(); });
    });
  });
})();
