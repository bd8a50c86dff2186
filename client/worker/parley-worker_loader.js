// Loads the file worker's wasm (client/worker). A load or start failure is
// rethrown as an uncaught error so the page's Worker gets an `error` event
// at once, instead of a rejected promise nobody outside the worker sees.
importScripts("./parley-worker.js");
wasm_bindgen("./parley-worker_bg.wasm").catch((e) => {
  setTimeout(() => {
    throw e;
  });
});
