//! [`DeviceId`]: a device's Ed25519 public key, the one name a device has on
//! the wire, in the engine and at the relay.
//!
//! Binary encodings (postcard frames and records) carry the 32 bytes as a
//! fixed array, exactly as the bare `[u8; 32]` it replaces; human-readable
//! ones (the REST JSON bodies) carry unpadded base64url. Both are what the
//! wire held before the type existed, so neither format changed.

use core::fmt;
use core::str::FromStr;

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use crate::crypto::codec::b64url;

/// A device id (Ed25519 public key).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DeviceId([u8; 32]);

/// A string that is not the base64url of 32 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not a device id (unpadded base64url of 32 bytes)")]
pub struct BadDeviceId;

impl DeviceId {
    /// Length in bytes.
    pub const LEN: usize = 32;

    /// The id with these bytes.
    pub const fn new(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The id in `b`, `None` unless it is exactly 32 bytes.
    pub fn from_bytes(b: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(b).ok().map(Self)
    }

    /// The 32 bytes.
    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The 32 bytes, by value.
    pub const fn to_bytes(self) -> [u8; 32] {
        self.0
    }
}

impl From<[u8; 32]> for DeviceId {
    fn from(b: [u8; 32]) -> Self {
        Self(b)
    }
}

impl From<DeviceId> for [u8; 32] {
    fn from(d: DeviceId) -> Self {
        d.0
    }
}

impl AsRef<[u8]> for DeviceId {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Logs and panics show a short prefix: enough to tell devices apart.
impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = b64url::encode(&self.0);
        write!(f, "DeviceId({}…)", s.get(..8).unwrap_or(&s))
    }
}

/// Unpadded base64url, as in URLs and JSON bodies.
impl fmt::Display for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&b64url::encode(&self.0))
    }
}

impl FromStr for DeviceId {
    type Err = BadDeviceId;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        b64url::decode(s)
            .and_then(|b| Self::from_bytes(&b))
            .ok_or(BadDeviceId)
    }
}

impl Serialize for DeviceId {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        if s.is_human_readable() {
            s.collect_str(self)
        } else {
            self.0.serialize(s)
        }
    }
}

impl<'de> Deserialize<'de> for DeviceId {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        if d.is_human_readable() {
            let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
            s.parse().map_err(D::Error::custom)
        } else {
            <[u8; 32]>::deserialize(d).map(Self)
        }
    }
}

#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for DeviceId {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::schema::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .description(Some(
                "Device id: the unpadded base64url of the device's 32-byte Ed25519 public key.",
            ))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for DeviceId {}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn binary_form_is_the_bare_array() {
        let d = DeviceId::new([7; 32]);
        let bare = crate::crypto::codec::encode(1, &[7u8; 32]);
        assert_eq!(crate::crypto::codec::encode(1, &d), bare);
        assert_eq!(crate::crypto::codec::decode::<DeviceId>(1, &bare), Ok(d));
    }

    #[test]
    fn json_form_is_base64url() {
        let d = DeviceId::new([0xfb; 32]);
        let json = serde_json::to_string(&d).unwrap();
        assert_eq!(json, format!("\"{}\"", b64url::encode(&[0xfb; 32])));
        assert!(!json.contains(['+', '/', '=']));
        assert_eq!(serde_json::from_str::<DeviceId>(&json).unwrap(), d);
        assert_eq!(d.to_string().parse::<DeviceId>(), Ok(d));
    }

    #[test]
    fn wrong_lengths_and_alphabets_are_refused() {
        for s in [
            "",
            "x",
            &b64url::encode(&[1; 31]),
            &b64url::encode(&[1; 33]),
        ] {
            assert_eq!(s.parse::<DeviceId>(), Err(BadDeviceId), "{s}");
        }
        let padded = format!("{}=", b64url::encode(&[1; 32]));
        assert!(padded.parse::<DeviceId>().is_err());
        assert!(serde_json::from_str::<DeviceId>("[1,2,3]").is_err());
        assert_eq!(DeviceId::from_bytes(&[1; 31]), None);
        assert_eq!(DeviceId::from_bytes(&[1; 32]), Some(DeviceId::new([1; 32])));
    }

    #[test]
    fn debug_is_a_short_prefix() {
        let d = DeviceId::new([0; 32]);
        assert_eq!(format!("{d:?}"), "DeviceId(AAAAAAAA…)");
    }
}
