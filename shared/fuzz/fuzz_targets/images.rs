//! Image metadata stripping runs on any file a user picks (and in the file
//! worker, where a panic loses the transfer): nothing may panic, and what it
//! returns must be clean, so stripping it again finds nothing to remove.
//! Raw inputs exercise the container parsers; the same bytes wrapped as the
//! EXIF block of a JPEG and of a WebP reach the orientation reader at once.
#![no_main]

use libfuzzer_sys::fuzz_target;
use parley_shared::media::metadata::strip;

fn check(mime: &str, data: &[u8]) {
    if let Some(clean) = strip(mime, data) {
        assert_eq!(strip(mime, &clean), None, "{mime}: stripping is not idempotent");
    }
}

fn jpeg_around(exif: &[u8]) -> Vec<u8> {
    let mut v = vec![0xFF, 0xD8, 0xFF, 0xE1];
    v.extend(((exif.len() + 8) as u16).to_be_bytes());
    v.extend(b"Exif\0\0");
    v.extend(exif);
    v.extend([0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0, 0x12, 0xFF, 0xD9]);
    v
}

fn webp_around(exif: &[u8]) -> Vec<u8> {
    let mut body = b"VP8X\x0a\0\0\0\x08\0\0\0\0\0\0\0\0\0EXIF".to_vec();
    body.extend((exif.len() as u32).to_le_bytes());
    body.extend(exif);
    if exif.len() % 2 == 1 {
        body.push(0);
    }
    let mut v = b"RIFF".to_vec();
    v.extend(((body.len() + 4) as u32).to_le_bytes());
    v.extend(b"WEBP");
    v.extend(body);
    v
}

fuzz_target!(|data: &[u8]| {
    for mime in ["image/jpeg", "image/png", "image/webp"] {
        check(mime, data);
    }
    if data.len() <= 60_000 {
        check("image/jpeg", &jpeg_around(data));
    }
    check("image/webp", &webp_around(data));
});
