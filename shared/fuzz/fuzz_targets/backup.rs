//! Backup files and recovery keys typed by people.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::backup::{self, RecoveryKey};
use parley_shared::engine::backup::BackupContents;

fuzz_target!(|data: &[u8]| {
    let key = RecoveryKey::parse("0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0000-0");
    if let Ok(key) = key {
        let _ = backup::open_with_recovery_key(data, &key);
    }
    // The password path runs Argon2id; keep the fuzzer's inputs cheap.
    let cheap = data.len() > 21 && u32::from_be_bytes([data[9], data[10], data[11], data[12]]) <= 64
        && u32::from_be_bytes([data[13], data[14], data[15], data[16]]) <= 2;
    if cheap {
        let _ = backup::open_with_password(data, "password");
    }
    let _ = BackupContents::from_bytes(data);
    if let Ok(s) = std::str::from_utf8(data) {
        let _ = RecoveryKey::parse(s);
    }
});
