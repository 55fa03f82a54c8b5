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
  // The customer reads Japanese (UI-1): a browser's own error text (DOMException.message,
  // in the browser's language — "The user attempted to register an authenticator that
  // contains one of the credentials already registered …") is never shown. Only our own
  // server's Japanese refusal is shown as it is; everything else by the error's name.
  var GENERIC = "パスキーを利用できませんでした。しばらくしてからもう一度お試しください。";
  var BY_NAME = {
    NotAllowedError: "パスキーの確認が取り消されたか、時間切れになりました。もう一度お試しください。",
    AbortError: "パスキーの確認が中断されました。もう一度お試しください。",
    SecurityError: "このアドレスではパスキーを利用できません。当金庫のインターネットバンキングのアドレスからご利用ください。",
    NotSupportedError: "お使いの端末またはブラウザは、このパスキーの方式に対応していません。",
    ConstraintError: "お使いの端末で本人確認（指紋・顔認証・画面ロック）ができないため、パスキーを利用できません。"
  };
  var ON_CREATE = { InvalidStateError: "この端末のパスキーは登録済みです。" };
  var NETWORK = "通信できませんでした。通信環境をご確認のうえ、もう一度お試しください。";
  function Refusal(message) { this.name = "Refusal"; this.message = message; }
  function errorText(error, creating) {
    if (error instanceof Refusal) { return error.message; }
    var name = error && error.name;
    return (creating && ON_CREATE[name]) || BY_NAME[name] || GENERIC;
  }
  function fetchOptions(url, form) {
    var token = form.querySelector("input[name=csrfmiddlewaretoken]").value;
    return fetch(url, { method: "POST", credentials: "same-origin", headers: { "X-CSRFToken": token } })
      .catch(function () { throw new Refusal(NETWORK); })
      .then(function (answer) {
        return answer.json().catch(function () { return {}; }).then(function (data) {
          // our views refuse in Japanese ({"error": …}); a proxy's or CSRF page is not JSON
          if (!answer.ok) { throw new Refusal(typeof data.error === "string" && data.error ? data.error : GENERIC); }
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
        status.textContent = errorText(error, button.dataset.passkey === "create");
      });
    });
  });
})();
