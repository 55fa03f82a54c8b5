/* SEC-4 software keyboard (ソフトウェアキーボード) for password fields, PC only.
 *
 * Progressive enhancement: the server renders a hidden toggle button next to each input
 * with data-soft-keyboard="1" (never on a smartphone); this file reveals it. The keyboard
 * is built from real <button type="button"> elements with aria-labels, so it works with a
 * mouse and from the keyboard (Tab, Enter/Space, Escape closes). Keys are shuffled with
 * crypto.getRandomValues each time it opens. No inline script: CSP-safe. The form works
 * without this file.
 */
(function () {
  "use strict";

  var LETTERS = "abcdefghijklmnopqrstuvwxyz";
  var DIGITS = "0123456789";

  function randomInt(limit) {
    var buffer = new Uint32Array(1);
    var ceiling = Math.floor(4294967296 / limit) * limit;  // no modulo bias
    do { window.crypto.getRandomValues(buffer); } while (buffer[0] >= ceiling);
    return buffer[0] % limit;
  }

  function shuffled(text) {
    var keys = text.split("");
    for (var i = keys.length - 1; i > 0; i--) {
      var j = randomInt(i + 1);
      var swap = keys[i]; keys[i] = keys[j]; keys[j] = swap;
    }
    return keys;
  }

  function makeButton(label, ariaLabel, className) {
    var button = document.createElement("button");
    button.type = "button";
    button.textContent = label;
    button.setAttribute("aria-label", ariaLabel);
    if (className) { button.className = className; }
    return button;
  }

  function setValue(input, value) {
    var max = parseInt(input.getAttribute("maxlength"), 10);
    if (max && value.length > max) { return; }
    input.value = value;
    input.dispatchEvent(new Event("input", { bubbles: true }));
  }

  function SoftKeyboard(input, toggle) {
    this.input = input;
    this.toggle = toggle;
    this.shift = false;
    this.panel = null;
  }

  SoftKeyboard.prototype.open = function () {
    if (this.panel) { this.close(false); }
    var self = this;
    var panel = document.createElement("div");
    panel.className = "softkb";
    panel.id = "softkb-" + this.input.id;
    panel.setAttribute("role", "group");
    panel.setAttribute("aria-label", "ソフトウェアキーボード");
    var keys = document.createElement("div");
    keys.className = "softkb-keys";
    shuffled(LETTERS + DIGITS).forEach(function (character) {
      var isLetter = LETTERS.indexOf(character) >= 0;
      var button = makeButton(character, "", "softkb-key");
      button.setAttribute("data-key", character);
      self.label(button, character, isLetter);
      button.addEventListener("click", function () {
        var typed = isLetter && self.shift ? character.toUpperCase() : character;
        setValue(self.input, self.input.value + typed);
      });
      keys.appendChild(button);
    });
    var controls = document.createElement("div");
    controls.className = "softkb-controls";
    var shift = makeButton("Shift（大文字）", "大文字入力の切り替え", "softkb-shift");
    shift.setAttribute("aria-pressed", "false");
    shift.addEventListener("click", function () {
      self.shift = !self.shift;
      shift.setAttribute("aria-pressed", self.shift ? "true" : "false");
      Array.prototype.forEach.call(keys.querySelectorAll("button"), function (button) {
        var character = button.getAttribute("data-key");
        self.label(button, character, LETTERS.indexOf(character) >= 0);
      });
    });
    var backspace = makeButton("1文字削除", "1文字削除", "softkb-backspace");
    backspace.addEventListener("click", function () { setValue(self.input, self.input.value.slice(0, -1)); });
    var clear = makeButton("クリア", "入力をすべて消去", "softkb-clear");
    clear.addEventListener("click", function () { setValue(self.input, ""); });
    var close = makeButton("閉じる", "ソフトウェアキーボードを閉じる", "softkb-close");
    close.addEventListener("click", function () { self.close(true); });
    [shift, backspace, clear, close].forEach(function (button) { controls.appendChild(button); });
    panel.appendChild(keys);
    panel.appendChild(controls);
    panel.addEventListener("keydown", function (event) {
      if (event.key === "Escape") { event.preventDefault(); self.close(true); }
    });
    this.toggle.parentNode.insertBefore(panel, this.toggle.nextSibling);
    this.panel = panel;
    this.toggle.setAttribute("aria-expanded", "true");
    keys.querySelector("button").focus();
  };

  SoftKeyboard.prototype.label = function (button, character, isLetter) {
    var shown = isLetter && this.shift ? character.toUpperCase() : character;
    button.textContent = shown;
    button.setAttribute("aria-label", isLetter ? (this.shift ? "大文字 " : "小文字 ") + shown : "数字 " + shown);
  };

  SoftKeyboard.prototype.close = function (focusToggle) {
    if (this.panel) { this.panel.parentNode.removeChild(this.panel); this.panel = null; }
    this.shift = false;
    this.toggle.setAttribute("aria-expanded", "false");
    if (focusToggle) { this.toggle.focus(); }
  };

  document.addEventListener("DOMContentLoaded", function () {
    if (!window.crypto || !window.crypto.getRandomValues) { return; }
    Array.prototype.forEach.call(document.querySelectorAll("button.softkb-toggle[data-softkb-for]"), function (toggle) {
      var input = document.getElementById(toggle.getAttribute("data-softkb-for"));
      if (!input || input.getAttribute("data-soft-keyboard") !== "1") { return; }
      var keyboard = new SoftKeyboard(input, toggle);
      toggle.hidden = false;
      toggle.addEventListener("click", function () {
        if (keyboard.panel) { keyboard.close(true); } else { keyboard.open(); }
      });
    });
  });
})();
