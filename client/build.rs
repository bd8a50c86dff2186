//! The app's wasm keeps the linker's relocations: `wasm-split-cli` needs them
//! to cut it into lazily loaded modules (ADR 0031, client/pwa/build_app.py).
//! Set here rather than in RUSTFLAGS so that only this link changes and the
//! dependencies' build cache stays shared with the file worker.

fn main() {
    // Only this file decides the output: without this line cargo reruns the
    // script, and relinks the app, whenever any file of the package changes
    // (client/pwa's build scripts included).
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bins=--emit-relocs");
    }
}
