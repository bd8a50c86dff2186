//! The file worker's wasm entry point (loaded by `/parley-worker_loader.js`).
#![forbid(unsafe_code)]

fn main() {
    parley_worker::work::start();
}
