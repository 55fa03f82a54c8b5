/* Progressive enhancements; every page works without this file (UI-2). */
(function () {
  "use strict";

  // SEC-9: warn shortly before the server-side idle logout. The timer only informs;
  // the server decides. "Continue" sends one request, which resets the server's clock.
  function idleWarning() {
    var body = document.body;
    var idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
    if (!idle) { return; }
    var warnBefore = parseInt(body.getAttribute("data-warning-seconds"), 10) || 60;
    var dialog = document.getElementById("idle-warning");
    var button = document.getElementById("idle-continue");
    var warnTimer, endTimer;
    function csrfToken() {
      var match = document.cookie.match(/(?:^|;\s*)(?:__Host-)?csrftoken=([^;]+)/);
      if (match) { return match[1]; }
      var input = document.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
    function schedule() {
      clearTimeout(warnTimer); clearTimeout(endTimer);
      warnTimer = setTimeout(function () { dialog.hidden = false; button.focus(); },
                             Math.max(idle - warnBefore, 1) * 1000);
      endTimer = setTimeout(function () {
        // End the session on the server too (POST with the CSRF token), then show why.
        var form = document.querySelector("form.logout-form");
        if (!form) { window.location.href = body.getAttribute("data-logout-url"); return; }
        var reason = document.createElement("input");
        reason.type = "hidden"; reason.name = "reason"; reason.value = "timeout";
        form.appendChild(reason);
        form.submit();
      }, (idle + 2) * 1000);
    }
    button.addEventListener("click", function () {
      fetch(body.getAttribute("data-ping-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        // an ended session answers with a redirect to the logged-out page
        if (response.ok && !response.redirected) { dialog.hidden = true; schedule(); }
        else { window.location.href = body.getAttribute("data-logout-url"); }
      });
    });
    schedule();
  }

  // UI-1: a refused form comes back from the top of the page; on a phone its message (a
  // wrong image-card answer under the transfer's details) sat below the screen, unseen.
  function showFirstError() {
    var error = document.querySelector("main .form-errors, main .field-error");
    if (!error) { return; }
    var box = error.getBoundingClientRect();
    if (box.top >= 0 && box.bottom <= window.innerHeight) { return; }
    error.scrollIntoView({ block: "center" });
  }

  document.addEventListener("DOMContentLoaded", function () {
    idleWarning();
    showFirstError();
  });
})();
