// Runs before the app: a browser without WebAssembly SIMD (ADR 0029) cannot
// compile Parley's modules, and would otherwise show an empty page.
(function () {
  // The smallest module that uses SIMD: () -> v128 { i8x16.popcnt(i8x16.splat(0)) }.
  var simd = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0,
    10, 10, 1, 8, 0, 65, 0, 253, 15, 253, 98, 11]);
  var wasm = typeof WebAssembly === "object";
  if (wasm && WebAssembly.validate(simd)) return;
  // No WebAssembly at all is a setting (a lockdown or hardened mode), not an old browser.
  var texts = wasm
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
