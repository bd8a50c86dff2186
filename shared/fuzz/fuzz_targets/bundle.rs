//! Prekey bundles and identities from untrusted bytes (they come from the relay).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::keys::{IdentityKeyPair, IdentityPublic, OneTimePreKey, PqPreKey, PreKeyBundle, SignedPreKey};

fuzz_target!(|data: &[u8]| {
    if let Ok(bundle) = PreKeyBundle::from_bytes(data) {
        // Anything that decodes re-encodes to the same bytes (one encoding per value).
        assert_eq!(bundle.to_bytes(), data);
    }
    let _ = IdentityPublic::from_bytes(data);
    let _ = IdentityKeyPair::from_bytes(data);
    let _ = SignedPreKey::from_bytes(data);
    let _ = PqPreKey::from_bytes(data);
    let _ = OneTimePreKey::from_bytes(data);
});
