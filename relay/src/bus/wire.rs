//! The bytes of a signal between relay nodes, and the channel it goes on.
//!
//! Binary and versioned: an ephemeral frame is carried as the very bytes a
//! client receives, with no re-encoding. Only relay nodes of one deployment
//! read these, so an unknown version or kind is dropped, not answered.

use parley_shared::protocol::ws::DeviceId;

use super::Signal;
use crate::mailbox::Ended;

/// Format version, first byte of every message.
const VERSION: u8 = 1;
/// Channel names: this prefix, then the device id's 32 raw bytes.
const CHANNEL_PREFIX: &[u8] = b"parley:dev:";

const WAKE: u8 = 1;
const FRAME: u8 = 2;
const PRESENCE: u8 = 3;
const QUERY: u8 = 4;
const END: u8 = 5;

/// A message that is not a signal of this version.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum WireError {
    /// Shorter than its kind needs, or longer where no tail is allowed.
    #[error("truncated or oversized signal")]
    Length,
    /// Another format version (a node of another release).
    #[error("unknown signal version {0}")]
    Version(u8),
    /// A kind this node does not know.
    #[error("unknown signal kind {0}")]
    Kind(u8),
}

/// The channel of `device`.
pub fn channel(device: &DeviceId) -> Vec<u8> {
    let mut c = Vec::with_capacity(CHANNEL_PREFIX.len() + 32);
    c.extend_from_slice(CHANNEL_PREFIX);
    c.extend_from_slice(device.as_bytes());
    c
}

/// The device a channel belongs to.
pub fn device_of(channel: &[u8]) -> Option<DeviceId> {
    DeviceId::from_bytes(channel.strip_prefix(CHANNEL_PREFIX)?)
}

/// `signal` as sent by node `origin`.
pub fn encode(origin: u64, signal: &Signal) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    out.push(VERSION);
    out.extend_from_slice(&origin.to_be_bytes());
    match signal {
        Signal::Wake => out.push(WAKE),
        Signal::Frame(bytes) => {
            out.push(FRAME);
            out.extend_from_slice(bytes);
        }
        Signal::Presence { device, online } => {
            out.push(PRESENCE);
            out.extend_from_slice(device.as_bytes());
            out.push(u8::from(*online));
        }
        Signal::Query { watcher } => {
            out.push(QUERY);
            out.extend_from_slice(watcher.as_bytes());
        }
        Signal::End { why, token } => {
            out.push(END);
            out.push(*why as u8);
            if let Some(t) = token {
                out.extend_from_slice(t);
            }
        }
    }
    out
}

/// The origin node and the signal in `bytes`.
pub fn decode(bytes: &[u8]) -> Result<(u64, Signal), WireError> {
    let (&version, rest) = bytes.split_first().ok_or(WireError::Length)?;
    if version != VERSION {
        return Err(WireError::Version(version));
    }
    let (origin, rest) = rest.split_first_chunk::<8>().ok_or(WireError::Length)?;
    let (&kind, body) = rest.split_first().ok_or(WireError::Length)?;
    let device = |b: &[u8]| DeviceId::from_bytes(b).ok_or(WireError::Length);
    let signal = match kind {
        WAKE if body.is_empty() => Signal::Wake,
        FRAME => Signal::Frame(body.to_vec().into()),
        PRESENCE => {
            let (online, id) = body.split_last().ok_or(WireError::Length)?;
            Signal::Presence {
                device: device(id)?,
                online: *online != 0,
            }
        }
        QUERY => Signal::Query {
            watcher: device(body)?,
        },
        END => {
            let (&why, token) = body.split_first().ok_or(WireError::Length)?;
            let why = match why {
                1 => Ended::Revoked,
                2 => Ended::Erased,
                3 => Ended::Removed,
                _ => return Err(WireError::Length),
            };
            let token = match token.len() {
                0 => None,
                _ => Some(<[u8; 32]>::try_from(token).map_err(|_| WireError::Length)?),
            };
            Signal::End { why, token }
        }
        WAKE => return Err(WireError::Length),
        other => return Err(WireError::Kind(other)),
    };
    Ok((u64::from_be_bytes(*origin), signal))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_signal_round_trips_with_its_origin() {
        let d = DeviceId::new([7; 32]);
        let signals = [
            Signal::Wake,
            Signal::Frame(vec![1, 2, 3].into()),
            Signal::Presence {
                device: d,
                online: true,
            },
            Signal::Presence {
                device: d,
                online: false,
            },
            Signal::Query { watcher: d },
            Signal::End {
                why: Ended::Removed,
                token: None,
            },
            Signal::End {
                why: Ended::Revoked,
                token: Some([9; 32]),
            },
        ];
        for s in signals {
            let bytes = encode(0xdead_beef, &s);
            assert_eq!(decode(&bytes), Ok((0xdead_beef, s)));
        }
        assert_eq!(device_of(&channel(&d)), Some(d));
    }

    #[test]
    fn foreign_or_cut_messages_are_refused() {
        let good = encode(
            1,
            &Signal::Query {
                watcher: DeviceId::new([1; 32]),
            },
        );
        assert_eq!(decode(&good[..good.len() - 1]), Err(WireError::Length));
        let mut other = good.clone();
        other[0] = 2;
        assert_eq!(decode(&other), Err(WireError::Version(2)));
        let mut kind = good;
        kind[9] = 99;
        assert_eq!(decode(&kind), Err(WireError::Kind(99)));
        assert_eq!(decode(&[]), Err(WireError::Length));
        assert_eq!(device_of(b"other:channel"), None);
    }
}
