// Runs before the app: a browser without WebAssembly SIMD (ADR 0029) cannot
// compile Parley's modules, and a page that is not a secure context cannot
// use WebCrypto; either would otherwise show an empty or broken page.
(function () {
  // The smallest module that uses SIMD: () -> v128 { i8x16.popcnt(i8x16.splat(0)) }.
  var simd = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var wasm = typeof WebAssembly === "object";
  // WebCrypto (which keeps the identity key) and the service worker exist
  // only in a secure context: HTTPS, or this computer (localhost). Over plain
  // HTTP to a server's address the app could not even open its storage.
  var secure = window.isSecureContext !== false;
  if (secure && wasm && WebAssembly.validate(simd)) return;
  // The app's loader (boot-*.js, client/pwa/page.py) then starts nothing.
  window.parleyUnsupported = true;
  // No WebAssembly at all is a setting (a lockdown or hardened mode), not an old browser.
  var texts = !secure
    ? [
      "Parley needs a secure connection: open it over HTTPS (or as localhost on the computer that runs it).",
      "Parley нужно защищённое соединение: откройте его по HTTPS (или как localhost на компьютере, где он запущен).",
    ]
    : wasm
    ? [
      "Parley needs a newer browser: Chrome or Edge 91, Firefox 89, Safari 16.4 or later.",
      "Parley нужен браузер новее: Chrome или Edge 91, Firefox 89, Safari 16.4 или новее.",
    ]
    : [
      "Parley needs WebAssembly, which is turned off in this browser (for example by a lockdown or security mode).",
      "Parley нужен WebAssembly, а в этом браузере он выключен (например, режимом блокировки или защиты).",
    ];
  document.addEventListener("DOMContentLoaded", function () {
    var box = document.createElement("main");
    box.id = "unsupported";
    texts.forEach(function (text, i) {
      var p = document.createElement("p");
      p.lang = i === 0 ? "en" : "ru";
      p.textContent = text;
      box.appendChild(p);
    });
    document.body.appendChild(box);
  });
})();
