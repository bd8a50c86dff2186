//! Removing location and camera metadata from images before they are
//! encrypted: EXIF (incl. GPS), XMP, IPTC and comments in JPEG; eXIf and
//! text chunks in PNG. Pixels are not re-encoded (segments and chunks are
//! dropped with `img-parts`); colour profiles stay.

use img_parts::Bytes;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;

/// The image without metadata, if `mime` is JPEG or PNG and something was
/// removed; `None` when there was nothing to remove or it is not an image
/// this knows (the file is then sent as it is).
pub fn strip(mime: &str, data: &[u8]) -> Option<Vec<u8>> {
    match mime {
        "image/jpeg" | "image/jpg" => strip_jpeg(data),
        "image/png" => strip_png(data),
        _ => None,
    }
}

fn strip_jpeg(data: &[u8]) -> Option<Vec<u8>> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(data)).ok()?;
    let before = jpeg.segments().len();
    // APP1: EXIF and XMP; APP13: IPTC/Photoshop; COM: free-text comments.
    jpeg.segments_mut()
        .retain(|s| !matches!(s.marker(), markers::APP1 | markers::APP13 | markers::COM));
    (jpeg.segments().len() != before).then(|| jpeg.encoder().bytes().to_vec())
}

fn strip_png(data: &[u8]) -> Option<Vec<u8>> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(data)).ok()?;
    let before = png.chunks().len();
    png.chunks_mut()
        .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
    (png.chunks().len() != before).then(|| png.encoder().bytes().to_vec())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A minimal JPEG: SOI, APP1 "Exif" with a GPS tag marker, COM, SOS + data, EOI.
    fn jpeg_with_exif() -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8];
        let exif = b"Exif\0\0MM\0*GPSLatitude=52.52";
        v.extend([0xFF, 0xE1]);
        v.extend(((exif.len() + 2) as u16).to_be_bytes());
        v.extend(exif);
        v.extend([0xFF, 0xFE, 0x00, 0x06]);
        v.extend(b"hey!");
        v.extend([0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0]);
        v.extend([0x12, 0x34, 0x56]);
        v.extend([0xFF, 0xD9]);
        v
    }

    #[test]
    fn jpeg_loses_exif_and_comments_keeps_scan_data() {
        let src = jpeg_with_exif();
        let out = strip("image/jpeg", &src).unwrap();
        let has = |needle: &[u8]| out.windows(needle.len()).any(|w| w == needle);
        assert!(!has(b"Exif") && !has(b"GPSLatitude") && !has(b"hey!"));
        assert!(has(&[0x12, 0x34, 0x56]), "scan data untouched");
        assert_eq!(strip("image/jpeg", &out), None, "nothing left to remove");
        assert_eq!(strip("application/pdf", &src), None);
        assert_eq!(strip("image/jpeg", b"not a jpeg"), None);
    }
}
