//! Versioned binary encoding for everything Parley stores or sends.
//!
//! Layout: one version byte, then the postcard encoding of the value. Decoding
//! rejects an unknown version, malformed input and trailing bytes, so each
//! value has exactly one encoding (fixed-vector tests depend on that).

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

/// Decodes bytes produced by [`encode`] with the same `version`.
pub fn decode<T: DeserializeOwned>(version: u8, bytes: &[u8]) -> Result<T, DecodeError> {
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
}

/// Unpadded base64url (RFC 4648 §5), for links and QR payloads.
pub mod b64url {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

    /// Encodes without padding.
    pub fn encode(data: &[u8]) -> String {
        let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
        for chunk in data.chunks(3) {
            let b = [
                chunk[0],
                *chunk.get(1).unwrap_or(&0),
                *chunk.get(2).unwrap_or(&0),
            ];
            let n = (u32::from(b[0]) << 16) | (u32::from(b[1]) << 8) | u32::from(b[2]);
            for i in 0..=chunk.len() {
                out.push(char::from(ALPHABET[((n >> (18 - 6 * i)) & 63) as usize]));
            }
        }
        out
    }

    /// Decodes unpadded base64url; `None` on any invalid character, length or
    /// non-canonical form (so each byte string has exactly one encoding).
    pub fn decode(s: &str) -> Option<Vec<u8>> {
        let vals: Option<Vec<u32>> = s
            .bytes()
            .map(|c| ALPHABET.iter().position(|&a| a == c).map(|p| p as u32))
            .collect();
        let vals = vals?;
        if vals.len() % 4 == 1 {
            return None;
        }
        let mut out = Vec::with_capacity(vals.len() * 3 / 4);
        for chunk in vals.chunks(4) {
            let n = chunk
                .iter()
                .enumerate()
                .fold(0u32, |acc, (i, v)| acc | (v << (18 - 6 * i)));
            let bytes = [(n >> 16) as u8, (n >> 8) as u8, n as u8];
            out.extend_from_slice(&bytes[..chunk.len() - 1]);
        }
        (encode(&out) == s).then_some(out)
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
            assert!(super::decode("Zg=").is_none());
            assert!(super::decode("Z").is_none());
            assert!(super::decode("Zh").is_none(), "non-canonical trailing bits");
        }
    }
}
