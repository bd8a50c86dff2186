//! What a peer's decrypted envelope may contain (engine content, call
//! signals, pairing profiles) and stored engine records, from untrusted
//! bytes: nothing may panic, and whatever decodes must re-encode to itself.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::engine::Engine;
use parley_shared::engine::content::{Content, Profile};

fuzz_target!(|data: &[u8]| {
    if let Ok(c) = Content::from_padded(data) {
        assert_eq!(Content::from_padded(&c.to_padded()).ok(), Some(c.clone()));
        if let Content::Call(s) = &c {
            let _ = s.is_acceptable(parley_shared::time::UnixMs::from_millis(u64::MAX));
        }
    }
    let _ = Profile::from_bytes(data);
    // A damaged record must be an error, never a panic.
    let _ = Engine::load([("account".to_owned(), data.to_vec())]);
    let _ = Engine::load([
        ("contact/00".to_owned(), data.to_vec()),
        (format!("msg/{}/0000000000000001", "00".repeat(32)), data.to_vec()),
        ("out/0000000000000001".to_owned(), data.to_vec()),
    ]);
});
