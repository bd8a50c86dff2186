//! Attachment ciphertext from storage: arbitrary bytes, split arbitrarily.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::crypto::stream::{Decryptor, FileKey};

fuzz_target!(|input: (u16, u32, &[u8])| {
    let (split, len, data) = input;
    let key = FileKey::from_bytes([7; 32]);
    let mut dec = Decryptor::new(&key, u64::from(len % (1 << 20)), [0; 32]);
    let cut = usize::from(split).min(data.len());
    if dec.update(&data[..cut]).is_ok() && dec.update(&data[cut..]).is_ok() {
        let _ = dec.finish();
    }
});
