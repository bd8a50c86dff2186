//! Versioned binary encoding for everything Parley stores or sends.
//!
//! Layout: one version byte, then the postcard encoding of the value. Decoding
//! rejects an unknown version, malformed input and trailing bytes, so each
//! value has exactly one encoding (fixed-vector tests depend on that).
#![deny(clippy::indexing_slicing)]

use serde::de::DeserializeOwned;
use serde::{Deserializer, Serialize, Serializer};

/// Why bytes could not be decoded. Deliberately coarse: callers show one
/// message and never need the parser's position.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum DecodeError {
    /// Empty input.
    #[error("empty input")]
    Empty,
    /// The version byte is not one this build understands.
    #[error("unsupported encoding version {0}")]
    Version(u8),
    /// Truncated, malformed, trailing bytes, or a field of the wrong length.
    #[error("malformed encoding")]
    Malformed,
    /// A key or signature inside is invalid.
    #[error("invalid key or signature")]
    InvalidKey,
}

/// Encodes `value` behind `version`.
pub fn encode<T: Serialize>(version: u8, value: &T) -> Vec<u8> {
    // postcard into a Vec cannot fail for our types (no unsized sequences,
    // no buffer limit); an error would be a programming mistake.
    #[allow(clippy::expect_used)]
    postcard::to_extend(value, vec![version]).expect("postcard encoding of a Parley type")
}

/// Decodes bytes produced by [`encode`] with the same `version`. Input that
/// decodes but is not the value's one encoding (postcard also accepts
/// over-long varints, found by fuzzing) is refused.
pub fn decode<T: DeserializeOwned + Serialize>(
    version: u8,
    bytes: &[u8],
) -> Result<T, DecodeError> {
    let value: T = decode_frame(version, bytes)?;
    // The copy may hold secrets: sized so it never reallocates, and wiped.
    let mut buf = Vec::with_capacity(bytes.len());
    buf.push(version);
    let again = zeroize::Zeroizing::new(postcard::to_extend(&value, buf).unwrap_or_default());
    if again.as_slice() != bytes {
        return Err(DecodeError::Malformed);
    }
    Ok(value)
}

/// Decodes a transient wire frame (a WebSocket frame, never stored, hashed
/// or signed) without the one-encoding check of [`decode`], which would copy
/// every payload once more on the relay's hot path. Everything else about
/// the input is checked as in [`decode`].
pub fn decode_frame<T: DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, DecodeError> {
    let (&v, rest) = bytes.split_first().ok_or(DecodeError::Empty)?;
    if v != version {
        return Err(DecodeError::Version(v));
    }
    let (value, tail) = postcard::take_from_bytes(rest).map_err(|e| match e {
        postcard::Error::SerdeDeCustom => DecodeError::InvalidKey,
        _ => DecodeError::Malformed,
    })?;
    if !tail.is_empty() {
        return Err(DecodeError::Malformed);
    }
    Ok(value)
}

/// serde helpers for fixed-size byte arrays of any length (serde itself stops at 32).
pub mod fixed {
    use super::*;

    /// Serializes as a byte string.
    pub fn serialize<S: Serializer, const N: usize>(v: &[u8; N], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    /// Deserializes a byte string of exactly `N` bytes.
    pub fn deserialize<'de, D: Deserializer<'de>, const N: usize>(
        d: D,
    ) -> Result<[u8; N], D::Error> {
        let v = bytes::deserialize(d)?;
        <[u8; N]>::try_from(v.as_slice())
            .map_err(|_| serde::de::Error::invalid_length(v.len(), &"fixed-size bytes"))
    }
}

/// serde helpers for variable-length byte strings (compact, unlike `Vec<u8>` as a sequence).
pub mod bytes {
    use super::*;

    /// Serializes as a byte string.
    pub fn serialize<S: Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_bytes(v)
    }

    /// Deserializes a byte string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Vec<u8>;
            fn expecting(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str("bytes")
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Vec<u8>, E> {
                Ok(v.to_vec())
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Vec<u8>, E> {
                Ok(v)
            }
            fn visit_seq<A: serde::de::SeqAccess<'de>>(
                self,
                mut seq: A,
            ) -> Result<Vec<u8>, A::Error> {
                let mut out = Vec::new();
                while let Some(b) = seq.next_element::<u8>()? {
                    out.push(b);
                }
                Ok(out)
            }
        }
        d.deserialize_bytes(V)
    }
}

#[cfg(test)]
#[allow(clippy::indexing_slicing)] // in tests a panic is a failure
mod tests {
    use super::*;
    use serde::Deserialize;

    #[derive(Debug, PartialEq, Serialize, Deserialize)]
    struct T {
        a: u32,
        #[serde(with = "fixed")]
        b: [u8; 40],
        #[serde(with = "bytes")]
        c: Vec<u8>,
    }

    #[test]
    fn round_trip_and_strictness() {
        let t = T {
            a: 300,
            b: [7; 40],
            c: vec![1, 2, 3],
        };
        let enc = encode(3, &t);
        assert_eq!(enc[0], 3);
        assert_eq!(decode::<T>(3, &enc).unwrap(), t);
        assert_eq!(decode::<T>(4, &enc), Err(DecodeError::Version(3)));
        assert_eq!(decode::<T>(3, &[]), Err(DecodeError::Empty));
        let mut trailing = enc.clone();
        trailing.push(0);
        assert_eq!(decode::<T>(3, &trailing), Err(DecodeError::Malformed));
        for cut in 1..enc.len() {
            assert!(decode::<T>(3, &enc[..cut]).is_err(), "truncated at {cut}");
        }
    }

    #[test]
    fn over_long_varints_are_refused() {
        // `a: 5` as the over-long varint 0x85 0x00 decodes in postcard;
        // the same value must have one encoding only.
        let t = T {
            a: 5,
            b: [0; 40],
            c: vec![],
        };
        let enc = encode(1, &t);
        assert_eq!(enc[1], 5);
        let long = [&[1u8, 0x85, 0x00][..], &enc[2..]].concat();
        assert_eq!(decode::<T>(1, &long), Err(DecodeError::Malformed));
        assert_eq!(decode::<T>(1, &enc).unwrap(), t);
    }
}

/// Unpadded base64url (RFC 4648 §5), for links and QR payloads. On
/// `base64ct`: no table lookups indexed by the data, so encoding a secret (an
/// invite carries one) does not leak it through cache timing.
pub mod b64url {
    use base64ct::{Base64UrlUnpadded, Encoding as _};

    /// Encodes without padding.
    pub fn encode(data: &[u8]) -> String {
        Base64UrlUnpadded::encode_string(data)
    }

    /// Decodes unpadded base64url; `None` on any invalid character, padding,
    /// length or non-canonical trailing bits (so each byte string has exactly
    /// one encoding).
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        Base64UrlUnpadded::decode_vec(s).ok()
    }

    #[cfg(test)]
    mod tests {
        #[test]
        fn rfc4648_vectors_round_trip() {
            for (raw, enc) in [
                ("", ""),
                ("f", "Zg"),
                ("fo", "Zm8"),
                ("foo", "Zm9v"),
                ("foob", "Zm9vYg"),
                ("fooba", "Zm9vYmE"),
                ("foobar", "Zm9vYmFy"),
            ] {
                assert_eq!(super::encode(raw.as_bytes()), enc);
                assert_eq!(super::decode(enc).unwrap(), raw.as_bytes());
            }
            assert_eq!(super::encode(&[0xfb, 0xff]), "-_8");
            assert!(super::decode("Zg=").is_none(), "padding");
            assert!(super::decode("Zg==").is_none(), "padding");
            assert!(super::decode("Z").is_none(), "length");
            assert!(super::decode("Zh").is_none(), "non-canonical trailing bits");
            assert!(
                super::decode("Zm9").is_none(),
                "non-canonical trailing bits"
            );
            assert!(super::decode("+/8").is_none(), "standard alphabet");
            assert!(super::decode("Zm 9v").is_none(), "whitespace");
        }
    }
}
