// Passkeys (SEC-16): a button with data-passkey="create" or "get" fetches the WebAuthn
// options from data-passkey-options (POST, CSRF), asks the browser's authenticator, puts
// the JSON response into the form's [data-passkey-response] field and submits the form.
// A file, not inline script: CSP (SEC-11). Without JavaScript the page says so (noscript).
(function () {
  "use strict";
  if (!window.PublicKeyCredential) {
    document.querySelectorAll("[data-passkey-status]").forEach(function (status) {
      status.textContent = "このブラウザはパスキーに対応していません。";
    });
    return;
  }
  function toBuffer(value) {
    var base64 = value.replace(/-/g, "+").replace(/_/g, "/");
    var binary = atob(base64 + "===".slice((base64.length + 3) % 4));
    return Uint8Array.from(binary, function (c) { return c.charCodeAt(0); }).buffer;
  }
  function toBase64url(buffer) {
    var bytes = new Uint8Array(buffer), binary = "";
    for (var i = 0; i < bytes.length; i++) { binary += String.fromCharCode(bytes[i]); }
    return btoa(binary).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }
  function asJSON(credential) {
    var response = credential.response, out = {};
    ["clientDataJSON", "attestationObject", "authenticatorData", "signature", "userHandle"]
      .forEach(function (name) { if (response[name]) { out[name] = toBase64url(response[name]); } });
    if (response.getTransports) { out.transports = response.getTransports(); }
    return {
      id: credential.id, rawId: toBase64url(credential.rawId), type: credential.type,
      response: out, clientExtensionResults: credential.getClientExtensionResults(),
      authenticatorAttachment: credential.authenticatorAttachment || undefined
    };
  }
  function fetchOptions(url, form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .then(function (answer) {
        return answer.json().then(function (data) {
          if (!answer.ok) { throw new Error(data.error || "パスキーを利用できません。"); }
          return data;
        });
      });
  }
  document.querySelectorAll("[data-passkey]").forEach(function (button) {
    var form = button.closest("form");
    var status = form.querySelector("[data-passkey-status]");
    button.hidden = false;
    button.addEventListener("click", function () {
      status.textContent = "";
      button.disabled = true;
      fetchOptions(button.dataset.passkeyOptions, form).then(function (options) {
        options.challenge = toBuffer(options.challenge);
        (options.allowCredentials || options.excludeCredentials || []).forEach(function (c) { c.id = toBuffer(c.id); });
        if (button.dataset.passkey === "create") {
          options.user.id = toBuffer(options.user.id);
          return navigator.credentials.create({ publicKey: options });
        }
        return navigator.credentials.get({ publicKey: options });
      }).then(function (credential) {
        form.querySelector("[data-passkey-response]").value = JSON.stringify(asJSON(credential));
        var submit = form.querySelector("button[type=submit]:not([data-passkey-skip])");
        if (form.requestSubmit) { form.requestSubmit(submit || undefined); } else { form.submit(); }
      }).catch(function (error) {
        button.disabled = false;
        status.textContent = error && error.name === "NotAllowedError"
          ? "パスキーの確認が取り消されたか、時間切れになりました。もう一度お試しください。"
          : (error && error.message) || "パスキーを利用できませんでした。";
      });
    });
  });
})();
