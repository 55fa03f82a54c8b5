/* Progressive enhancements; every page works without this file (UI-2). */
(function () {
  "use strict";

  // SEC-9: warn shortly before the server-side idle logout. The timer only informs;
  // the server decides. "Continue" sends one request, which resets the server's clock.
  // Every tab of the session shares the latest deadline (localStorage): a tab left open
  // on 残高照会 must not log out a customer who is working in another tab (walk25 F24).
  var DEADLINE_KEY = "cosei-ib.idle-deadline";

  function sharedDeadline(candidate) {
    // the later of this tab's deadline and the one other tabs stored (no storage: this tab's)
    try {
      var stored = parseInt(window.localStorage.getItem(DEADLINE_KEY), 10) || 0;
      if (candidate > stored) { window.localStorage.setItem(DEADLINE_KEY, String(candidate)); }
      return Math.max(candidate, stored);
    } catch (e) { return candidate; }
  }

  function idleWarning() {
    var body = document.body;
    var idle = parseInt(body.getAttribute("data-idle-seconds"), 10);
    if (!idle) { return; }
    var warnBefore = parseInt(body.getAttribute("data-warning-seconds"), 10) || 60;
    var dialog = document.getElementById("idle-warning");
    var button = document.getElementById("idle-continue");
    var warnTimer, endTimer, deadline = 0;
    function csrfToken() {
      var match = document.cookie.match(/(?:^|;\s*)(?:__Host-)?csrftoken=([^;]+)/);
      if (match) { return match[1]; }
      var input = document.querySelector("input[name=csrfmiddlewaretoken]");
      return input ? input.value : "";
    }
    function movedOn() {
      // another tab made a request since: follow its deadline instead of acting
      var latest = sharedDeadline(deadline);
      if (latest <= deadline) { return false; }
      dialog.hidden = true;
      schedule(latest);
      return true;
    }
    function schedule(until) {
      clearTimeout(warnTimer); clearTimeout(endTimer);
      deadline = until;
      var left = deadline - Date.now();
      warnTimer = setTimeout(function () {
        if (movedOn()) { return; }
        dialog.hidden = false; button.focus();
      }, Math.max(left - warnBefore * 1000, 1000));
      endTimer = setTimeout(function () {
        if (movedOn()) { return; }
        // End the session on the server too (POST with the CSRF token), then show why.
        var form = document.querySelector("form.logout-form");
        if (!form) { window.location.href = body.getAttribute("data-logout-url"); return; }
        var reason = document.createElement("input");
        reason.type = "hidden"; reason.name = "reason"; reason.value = "timeout";
        form.appendChild(reason);
        form.submit();
      }, Math.max(left, 0) + 2000);
    }
    button.addEventListener("click", function () {
      fetch(body.getAttribute("data-ping-url"), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() }
      }).then(function (response) {
        // an ended session answers with a redirect to the logged-out page
        if (response.ok && !response.redirected) {
          dialog.hidden = true; schedule(sharedDeadline(Date.now() + idle * 1000));
        }
        else { window.location.href = body.getAttribute("data-logout-url"); }
      });
    });
    window.addEventListener("storage", function (event) {
      if (event.key === DEADLINE_KEY) { movedOn(); }
    });
    // A download (CSV) is a request the server counts, but no page load follows: it moves
    // the shared deadline as a page load would (walk26 F10). The server stores a read's
    // time only when its stored one is older than a few seconds, so the deadline counted
    // from here is what the server guarantees at the least (data-request-idle-seconds).
    var afterRequest = parseInt(body.getAttribute("data-request-idle-seconds"), 10) || idle;
    document.addEventListener("submit", function (event) {
      if (!event.target.matches || !event.target.matches("form.download-form")) { return; }
      dialog.hidden = true;
      schedule(sharedDeadline(Date.now() + afterRequest * 1000));
    });
    schedule(sharedDeadline(Date.now() + idle * 1000));
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
