//! Two build settings of the app.
//!
//! The app's wasm keeps the linker's relocations: `wasm-split-cli` needs them
//! to cut it into lazily loaded modules (ADR 0031, client/pwa/build_app.py).
//! Set here rather than in RUSTFLAGS so that only this link changes and the
//! dependencies' build cache stays shared with the file worker.
//!
//! Each translation ships as its own file named by its content (ADR 0033):
//! `en-<first 16 hex digits of its SHA-256>.ftl`, the name build_app.py gives
//! it. The app learns the names here, as `PARLEY_FTL_EN`, `PARLEY_FTL_RU`.

use std::fmt::Write as _;

use sha2::{Digest, Sha256};

fn main() -> std::io::Result<()> {
    println!("cargo:rerun-if-changed=build.rs");
    if std::env::var("CARGO_CFG_TARGET_ARCH").as_deref() == Ok("wasm32") {
        println!("cargo:rustc-link-arg-bins=--emit-relocs");
        println!("cargo:rustc-link-arg-bins=--no-merge-data-segments");
    }
    for tag in ["en", "ru"] {
        let path = format!("locales/{tag}.ftl");
        println!("cargo:rerun-if-changed={path}");
        let text = std::fs::read(&path)?;
        let mut hash = String::new();
        for b in &Sha256::digest(&text)[..8] {
            let _ = write!(hash, "{b:02x}");
        }
        println!(
            "cargo:rustc-env=PARLEY_FTL_{}={tag}-{hash}.ftl",
            tag.to_ascii_uppercase()
        );
    }
    Ok(())
}
