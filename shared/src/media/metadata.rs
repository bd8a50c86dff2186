//! Removing location and camera metadata from images before they are
//! encrypted: EXIF (incl. GPS), XMP, IPTC and comments in JPEG, and anything
//! appended after its primary image; eXIf and text chunks in PNG; EXIF and
//! XMP in WebP. Pixels are not re-encoded
//! (segments and chunks are dropped with `img-parts`); colour profiles stay.
//! The EXIF orientation is the one tag kept (in a minimal EXIF block of its
//! own): without it a portrait photo would arrive lying on its side.
#![deny(clippy::indexing_slicing)]

use img_parts::Bytes;
use img_parts::jpeg::{Jpeg, markers};
use img_parts::png::Png;
use img_parts::riff::{RiffChunk, RiffContent};
use img_parts::webp::{CHUNK_EXIF, CHUNK_VP8X, CHUNK_XMP, WebP};

/// The image without metadata, if `mime` is JPEG, PNG or WebP and something
/// was removed; `None` when there was nothing to remove or it is not an
/// image this knows (the file is then sent as it is).
pub fn strip(mime: &str, data: &[u8]) -> Option<Vec<u8>> {
    match mime {
        "image/jpeg" | "image/jpg" => strip_jpeg(data),
        "image/png" => strip_png(data),
        "image/webp" => strip_webp(data),
        _ => None,
    }
}

/// What JPEG APP1 EXIF contents start with.
const EXIF_PREFIX: &[u8] = b"Exif\0\0";
/// TIFF tag of the orientation.
const ORIENTATION: u16 = 0x0112;

/// The orientation (1–8) in a TIFF-structured EXIF block, if it has one.
/// `tiff` is untrusted: every read is bounds-checked.
fn orientation(tiff: &[u8]) -> Option<u16> {
    let be = match tiff.get(..2)? {
        b"MM" => true,
        b"II" => false,
        _ => return None,
    };
    // Integers in the block's byte order, bounds-checked.
    let uint = |i: usize, n: usize| -> Option<u32> {
        let b = tiff.get(i..)?.get(..n)?;
        Some(b.iter().enumerate().fold(0u32, |v, (k, &x)| {
            let shift = 8 * if be { n - 1 - k } else { k };
            v | u32::from(x) << shift
        }))
    };
    let u16_at = |i: usize| uint(i, 2).and_then(|v| u16::try_from(v).ok());
    let u32_at = |i: usize| uint(i, 4);
    if u16_at(2)? != 42 {
        return None;
    }
    let ifd = usize::try_from(u32_at(4)?).ok()?;
    for k in 0..usize::from(u16_at(ifd)?) {
        let entry = ifd.checked_add(2)?.checked_add(k.checked_mul(12)?)?;
        // SHORT, one value, stored in the first two bytes of the value field.
        if u16_at(entry)? == ORIENTATION && u16_at(entry + 2)? == 3 && u32_at(entry + 4)? == 1 {
            return u16_at(entry + 8).filter(|v| (1..=8).contains(v));
        }
    }
    None
}

/// A TIFF block with the orientation as its only tag (big-endian).
fn orientation_only(v: u16) -> Vec<u8> {
    let mut t = b"MM\0\x2a\0\0\0\x08\0\x01".to_vec();
    t.extend(ORIENTATION.to_be_bytes());
    t.extend(3u16.to_be_bytes());
    t.extend(1u32.to_be_bytes());
    t.extend(v.to_be_bytes());
    t.extend([0, 0, 0, 0, 0, 0]);
    t
}

/// The orientation worth keeping (not the default, 1).
fn kept_orientation(tiff: Option<&[u8]>) -> Option<u16> {
    tiff.and_then(orientation).filter(|&v| v != 1)
}

/// Where the primary image of a JPEG ends (just past its EOI marker), by
/// walking its segments and scans. Phones append more after it: multi-picture
/// gain maps, depth maps and previews with EXIF of their own, or vendor
/// trailers. `None` if the structure is not understood.
fn primary_end(data: &[u8]) -> Option<usize> {
    if data.get(..2)? != [0xFF, 0xD8] {
        return None;
    }
    let mut pos = 2usize;
    loop {
        if *data.get(pos)? != 0xFF {
            return None;
        }
        while *data.get(pos)? == 0xFF {
            pos += 1;
        }
        let marker = *data.get(pos)?;
        pos += 1;
        match marker {
            0xD9 => return Some(pos),
            0xD0..=0xD7 | 0x01 => continue,
            0x00 => return None,
            _ => {}
        }
        let len = usize::from(u16::from_be_bytes(
            data.get(pos..)?.get(..2)?.try_into().ok()?,
        ));
        if len < 2 {
            return None;
        }
        pos = pos.checked_add(len)?;
        if marker == 0xDA {
            // Entropy-coded data: up to the next marker that is neither a
            // stuffed 0xFF00 nor a restart marker.
            loop {
                let ff = pos + data.get(pos..)?.iter().position(|&b| b == 0xFF)?;
                match *data.get(ff + 1)? {
                    0x00 | 0xD0..=0xD7 => pos = ff + 2,
                    0xFF => pos = ff + 1,
                    _ => {
                        pos = ff;
                        break;
                    }
                }
            }
        }
    }
}

fn strip_jpeg(data: &[u8]) -> Option<Vec<u8>> {
    let mut jpeg = Jpeg::from_bytes(Bytes::copy_from_slice(data)).ok()?;
    let exif = jpeg.segments().iter().find_map(|s| {
        (s.marker() == markers::APP1)
            .then(|| s.contents().strip_prefix(EXIF_PREFIX))
            .flatten()
    });
    let keep = kept_orientation(exif).map(|v| [EXIF_PREFIX, &orientation_only(v)].concat());
    let before = jpeg.segments().len();
    // APP1: EXIF and XMP; APP13: IPTC/Photoshop; COM: free-text comments.
    // An APP1 that already is the minimal orientation block stays.
    jpeg.segments_mut().retain(|s| match s.marker() {
        markers::APP1 => keep.as_deref() == Some(&s.contents()[..]),
        // The multi-picture index points at the images cut off above.
        markers::APP2 => !s.contents().starts_with(b"MPF\0"),
        markers::APP13 | markers::COM => false,
        _ => true,
    });
    let changed = jpeg.segments().len() != before;
    if let Some(exif) = keep {
        let segments = jpeg.segments_mut();
        if !segments.iter().any(|s| s.marker() == markers::APP1) {
            // EXIF goes first, after a JFIF APP0 if there is one.
            let at = segments
                .iter()
                .take_while(|s| s.marker() == markers::APP0)
                .count();
            let seg = img_parts::jpeg::JpegSegment::new_with_contents(markers::APP1, exif.into());
            segments.insert(at, seg);
        }
    }
    let mut out = jpeg.encoder().bytes().to_vec();
    // Everything after the primary image goes: secondary images carry their
    // own metadata, which segment-level stripping does not see (`img-parts`
    // keeps all that follows the first scan as it is). Measured on the
    // re-encoded bytes so a second pass agrees.
    let end = primary_end(&out).unwrap_or(out.len());
    let cut = end < out.len();
    out.truncate(end);
    (changed || cut).then_some(out)
}

fn strip_png(data: &[u8]) -> Option<Vec<u8>> {
    let mut png = Png::from_bytes(Bytes::copy_from_slice(data)).ok()?;
    let before = png.chunks().len();
    png.chunks_mut()
        .retain(|c| !matches!(&c.kind(), b"eXIf" | b"tEXt" | b"zTXt" | b"iTXt" | b"tIME"));
    (png.chunks().len() != before).then(|| png.encoder().bytes().to_vec())
}

/// VP8X flag bits for EXIF and XMP (WebP container spec).
const VP8X_EXIF: u8 = 0x08;
const VP8X_XMP: u8 = 0x04;

fn strip_webp(data: &[u8]) -> Option<Vec<u8>> {
    let mut webp = WebP::from_bytes(Bytes::copy_from_slice(data)).ok()?;
    let exif = webp
        .chunk_by_id(CHUNK_EXIF)
        .and_then(|c| c.content().data())
        .map(|d| {
            // Writers disagree on whether the chunk repeats JPEG's prefix.
            d.strip_prefix(EXIF_PREFIX).unwrap_or(d).to_vec()
        });
    let keep = kept_orientation(exif.as_deref()).map(orientation_only);
    let before = webp.chunks().len();
    webp.chunks_mut().retain(|c| match c.id() {
        CHUNK_EXIF => keep.as_deref() == c.content().data().map(|d| &d[..]),
        CHUNK_XMP => false,
        _ => true,
    });
    if webp.chunks().len() == before {
        return None;
    }
    if let Some(tiff) = keep
        && !webp.has_chunk(CHUNK_EXIF)
    {
        let chunk = RiffChunk::new(CHUNK_EXIF, RiffContent::Data(tiff.into()));
        webp.chunks_mut().push(chunk);
    }
    // Metadata chunks only exist in the extended format, so VP8X is there;
    // its flags must match the chunks that remain.
    let has_exif = webp.has_chunk(CHUNK_EXIF);
    for c in webp
        .chunks_mut()
        .iter_mut()
        .filter(|c| c.id() == CHUNK_VP8X)
    {
        if let RiffContent::Data(d) = c.content_mut() {
            let mut flags = d.to_vec();
            if let Some(f) = flags.first_mut() {
                *f &= !(VP8X_XMP | VP8X_EXIF);
                if has_exif {
                    *f |= VP8X_EXIF;
                }
            }
            *d = flags.into();
        }
    }
    Some(webp.encoder().bytes().to_vec())
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // in tests a panic is a failure
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

    /// Little-endian EXIF with an IFD0 of [Make, Orientation = `v`] and a GPS note.
    fn exif_le(v: u16) -> Vec<u8> {
        let mut t = b"II\x2a\0\x08\0\0\0\x02\0".to_vec();
        t.extend([0x0f, 0x01, 2, 0, 4, 0, 0, 0, b'C', b'a', b'm', 0]);
        t.extend([0x12, 0x01, 3, 0, 1, 0, 0, 0]);
        t.extend(v.to_le_bytes());
        t.extend([0, 0, 0, 0, 0, 0]);
        t.extend(b"GPSLatitude=52.52");
        t
    }

    fn jpeg_with(app1: &[u8]) -> Vec<u8> {
        let mut v = vec![0xFF, 0xD8, 0xFF, 0xE0, 0x00, 0x07];
        v.extend(b"JFIF\0");
        v.extend([0xFF, 0xE1]);
        v.extend(((app1.len() + 2) as u16).to_be_bytes());
        v.extend(app1);
        v.extend([0xFF, 0xDA, 0x00, 0x08, 1, 1, 0, 0, 0x3F, 0]);
        v.extend([0x12, 0x34, 0x56]);
        v.extend([0xFF, 0xD9]);
        v
    }

    fn has(hay: &[u8], needle: &[u8]) -> bool {
        hay.windows(needle.len()).any(|w| w == needle)
    }

    #[test]
    fn jpeg_keeps_only_the_orientation() {
        let src = jpeg_with(&[EXIF_PREFIX, &exif_le(6)].concat());
        let out = strip("image/jpeg", &src).unwrap();
        assert!(!has(&out, b"GPSLatitude") && !has(&out, b"Cam"));
        let jpeg = Jpeg::from_bytes(out.clone().into()).unwrap();
        let app1: Vec<_> = jpeg
            .segments()
            .iter()
            .filter(|s| s.marker() == markers::APP1)
            .collect();
        assert_eq!(app1.len(), 1);
        assert_eq!(
            jpeg.segments()[0].marker(),
            markers::APP0,
            "JFIF stays first"
        );
        let tiff = app1[0].contents().strip_prefix(EXIF_PREFIX).unwrap();
        assert_eq!(
            orientation(tiff),
            Some(6),
            "rotation survives, now big-endian"
        );
        assert_eq!(tiff.len(), 26, "and nothing else");
        assert_eq!(strip("image/jpeg", &out), None, "nothing left to remove");
        // The default orientation needs no EXIF at all.
        let plain = strip(
            "image/jpeg",
            &jpeg_with(&[EXIF_PREFIX, &exif_le(1)].concat()),
        )
        .unwrap();
        assert!(!has(&plain, b"Exif"));
    }

    #[test]
    fn orientation_reader_refuses_nonsense() {
        assert_eq!(orientation(&exif_le(3)), Some(3));
        assert_eq!(orientation(&exif_le(9)), None, "out of range");
        assert_eq!(orientation(&orientation_only(8)), Some(8));
        let mut far = exif_le(3);
        far[4..8].copy_from_slice(&u32::MAX.to_le_bytes());
        assert_eq!(orientation(&far), None, "IFD offset past the end");
        let mut many = exif_le(3);
        many[8..10].copy_from_slice(&u16::MAX.to_le_bytes());
        assert_eq!(orientation(&many[..20]), None, "entry count past the end");
        assert_eq!(orientation(b"MM"), None);
        assert_eq!(orientation(b""), None);
    }

    fn chunk(id: &[u8; 4], data: &[u8]) -> Vec<u8> {
        let mut v = id.to_vec();
        v.extend((data.len() as u32).to_le_bytes());
        v.extend(data);
        if data.len() % 2 == 1 {
            v.push(0);
        }
        v
    }

    /// Extended WebP: VP8X with the EXIF and XMP flags, a VP8L image, EXIF, XMP.
    fn webp_with(exif: &[u8]) -> Vec<u8> {
        let body = [
            chunk(b"VP8X", &[VP8X_EXIF | VP8X_XMP, 0, 0, 0, 0, 0, 0, 0, 0, 0]),
            chunk(
                b"VP8L",
                &[
                    0x2f, 0, 0, 0, 0x10, 0x07, 0x10, 0x11, 0x11, 0x88, 0x88, 0xfe, 0x07, 0,
                ],
            ),
            chunk(b"EXIF", exif),
            chunk(b"XMP ", b"<x:xmpmeta>GPSLongitude=13.4</x:xmpmeta>"),
        ]
        .concat();
        let mut v = b"RIFF".to_vec();
        v.extend(((body.len() + 4) as u32).to_le_bytes());
        v.extend(b"WEBP");
        v.extend(body);
        v
    }

    #[test]
    fn webp_loses_exif_and_xmp_and_its_flags_follow() {
        let out = strip("image/webp", &webp_with(&exif_le(1))).unwrap();
        assert!(!has(&out, b"GPSLatitude") && !has(&out, b"GPSLongitude") && !has(&out, b"XMP "));
        let webp = WebP::from_bytes(out.clone().into()).unwrap();
        let flags = webp
            .chunk_by_id(CHUNK_VP8X)
            .unwrap()
            .content()
            .data()
            .unwrap()[0];
        assert_eq!(flags & (VP8X_EXIF | VP8X_XMP), 0, "flags cleared");
        assert!(webp.has_chunk(*b"VP8L"), "image data untouched");
        assert_eq!(strip("image/webp", &out), None);

        // A rotated one keeps a minimal EXIF chunk, and the flag for it.
        let src = webp_with(&[EXIF_PREFIX, &exif_le(8)].concat());
        let out = strip("image/webp", &src).unwrap();
        let webp = WebP::from_bytes(out.clone().into()).unwrap();
        let exif = webp
            .chunk_by_id(CHUNK_EXIF)
            .unwrap()
            .content()
            .data()
            .unwrap();
        assert_eq!((orientation(exif), exif.len()), (Some(8), 26));
        let flags = webp
            .chunk_by_id(CHUNK_VP8X)
            .unwrap()
            .content()
            .data()
            .unwrap()[0];
        assert_eq!(flags & (VP8X_EXIF | VP8X_XMP), VP8X_EXIF);
        assert_eq!(strip("image/webp", &out), None);
        assert_eq!(strip("image/webp", b"RIFF\0\0\0\0WEBP"), None);
    }

    /// A progressive-style JPEG (two scans with a DHT between, stuffed bytes,
    /// a restart marker, a DHT payload holding FF D9) followed by a second
    /// picture with its own GPS EXIF, indexed by an MPF segment.
    fn multi_picture_jpeg() -> Vec<u8> {
        let seg = |m: u8, body: &[u8]| {
            let mut v = vec![0xFF, m];
            v.extend(((body.len() + 2) as u16).to_be_bytes());
            v.extend(body);
            v
        };
        let mut v = vec![0xFF, 0xD8];
        v.extend(seg(0xE1, &[EXIF_PREFIX, &exif_le(6)].concat()));
        v.extend(seg(0xE2, b"MPF\0MM\0*offsets"));
        v.extend(seg(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        v.extend([0x11, 0xFF, 0x00, 0x22, 0xFF, 0xD0, 0x33]);
        v.extend(seg(0xC4, &[0x10, 0xFF, 0xD9]));
        v.extend(seg(0xDA, &[1, 1, 0, 0, 0x3F, 0]));
        v.extend(b"second-scan");
        v.extend([0xFF, 0xD9]);
        v.extend([0xFF, 0xD8]);
        v.extend(seg(0xE1, b"Exif\0\0GPSLatitude=48.85 gain-map"));
        v.extend([0xFF, 0xD9]);
        v
    }

    #[test]
    fn jpeg_loses_appended_pictures_and_their_index() {
        let src = multi_picture_jpeg();
        let out = strip("image/jpeg", &src).unwrap();
        assert!(
            !has(&out, b"GPSLatitude") && !has(&out, b"gain-map"),
            "second picture gone"
        );
        assert!(!has(&out, b"MPF\0"), "multi-picture index gone");
        assert!(has(&out, b"second-scan"), "the primary image is whole");
        assert!(out.ends_with(&[0xFF, 0xD9]));
        assert_eq!(primary_end(&out), Some(out.len()));
        let jpeg = Jpeg::from_bytes(out.clone().into()).unwrap();
        let exif = jpeg
            .segments()
            .iter()
            .find(|s| s.marker() == markers::APP1)
            .unwrap();
        assert_eq!(
            orientation(exif.contents().strip_prefix(EXIF_PREFIX).unwrap()),
            Some(6)
        );
        assert_eq!(strip("image/jpeg", &out), None, "nothing left to remove");
        let scan = src.windows(11).position(|w| w == b"second-scan").unwrap();
        assert_eq!(
            primary_end(&src[..scan + 5]),
            None,
            "cut mid-scan: not understood"
        );
        assert_eq!(primary_end(b"\xFF\xD8\xFF\x00"), None);
    }
}
