//! Account keys and signed device lists from untrusted bytes (the relay serves them).
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::account::{AccountKeyPair, AccountPublic, SignedDeviceList};

fuzz_target!(|data: &[u8]| {
    if let Ok(list) = SignedDeviceList::from_bytes(data) {
        // One encoding per value.
        assert_eq!(list.to_bytes(), data);
        // A fixed account: the signature check must refuse, never panic.
        if let Ok(account) = AccountKeyPair::from_bytes(&[[1u8, 32].as_slice(), &[7; 32]].concat()) {
            assert!(list.verify(&account.public()).is_err());
        }
    }
    if let Ok(public) = AccountPublic::from_bytes(data) {
        assert_eq!(public.to_bytes(), data);
    }
    let _ = AccountKeyPair::from_bytes(data);
});
