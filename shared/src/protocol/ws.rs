//! `/api/v1/ws` binary frames: `0x01 || postcard(frame)`, one frame per
//! WebSocket binary message. The first client frame must be [`ClientFrame::Auth`]
//! (tokens never travel in the URL).
//!
//! Envelopes are opaque to the relay: `payload` is a session message sealed
//! by the sender's client. Ids are chosen by the sender (16 random bytes), so a
//! resend after a lost acknowledgement is recognised and not stored twice.

use serde::{Deserialize, Serialize};

use super::ErrorCode;
use crate::crypto::account::SignedDeviceList;
use crate::crypto::codec::{self, DecodeError, bytes};
use crate::time::UnixMs;

/// Frame encoding version.
pub const WS_VERSION: u8 = 1;
/// Largest envelope payload (a 256 KiB ratchet plaintext plus headers).
pub const MAX_PAYLOAD: usize = 272 * 1024;
/// Most devices one [`ClientFrame::SendMany`] names.
pub const MAX_RECIPIENTS: usize = 1024;
/// Upper bound of one [`Recipient`] on the wire: a 32-byte device, the
/// option tag and a varint `u64` of up to 10 bytes.
const RECIPIENT_WIRE: usize = 32 + 1 + 10;
/// Largest frame the relay reads: a full payload plus, for a `SendMany`,
/// [`MAX_RECIPIENTS`] recipients, plus headers.
pub const MAX_FRAME: usize = MAX_PAYLOAD + MAX_RECIPIENTS * RECIPIENT_WIRE + 1024;

/// Sender-chosen envelope id.
pub type EnvelopeId = [u8; 16];
pub use super::device_id::DeviceId;

/// Client → relay.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ClientFrame {
    /// First frame: authenticate with a session token.
    Auth {
        /// Bearer token from login or registration.
        token: String,
    },
    /// Send an envelope to a device.
    Send {
        /// Sender-chosen id (resend with the same id after a lost ack).
        id: EnvelopeId,
        /// Recipient device.
        to: DeviceId,
        /// Ephemeral envelopes (call signaling, typing) are forwarded to
        /// online devices only and never stored.
        ephemeral: bool,
        /// Opaque ciphertext.
        #[serde(with = "bytes")]
        payload: Vec<u8>,
        /// The counter of the recipient account's device list the sender
        /// encrypted for (`None`: it knows no account for the recipient). A
        /// stored envelope whose counter is not the relay's current one is
        /// refused with [`ServerFrame::Stale`] (ignored for ephemeral ones).
        list: Option<u64>,
    },
    /// The recipient has stored an envelope; the relay deletes it.
    Ack {
        /// Sender of the acknowledged envelope.
        from: DeviceId,
        /// Its id.
        id: EnvelopeId,
    },
    /// Presence, off until sent: `share` lets devices that watch this one see
    /// it online while this connection is open; `watch` (at most
    /// [`MAX_WATCH`]) replaces the set of devices this connection follows.
    Presence {
        /// Show this device as online to its watchers.
        share: bool,
        /// Devices to follow.
        watch: Vec<DeviceId>,
    },
    /// One durable envelope for several devices (a group room message,
    /// encrypted once): the relay stores the payload once and queues it for
    /// each recipient, all or nothing. Each recipient gets an ordinary
    /// `Deliver` and acks it as usual. Answered `Accepted` once durable,
    /// [`ServerFrame::StaleMany`], or one `Error` for the whole send.
    SendMany {
        /// Sender-chosen id, in the same dedupe space as `Send`: a resend
        /// after a lost `Accepted` is not stored twice.
        id: EnvelopeId,
        /// 1 to [`MAX_RECIPIENTS`] distinct devices, not the sender itself.
        to: Vec<Recipient>,
        /// Opaque ciphertext (at most [`MAX_PAYLOAD`]), stored once.
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
}

/// One recipient of a [`ClientFrame::SendMany`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Recipient {
    /// The device.
    pub device: DeviceId,
    /// The counter of the device's account list the sender encrypted for,
    /// as `Send.list`.
    pub list: Option<u64>,
}

/// One stale account in a [`ServerFrame::StaleMany`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StaleRecipient {
    /// One of the requested devices of that account (or the device in no
    /// account).
    pub device: DeviceId,
    /// The account's current signed list (verify it against the pinned
    /// account key); `None` when the device belongs to no account.
    pub list: Option<SignedDeviceList>,
}

/// Most devices one connection may watch.
pub const MAX_WATCH: usize = 256;

/// Relay → client.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ServerFrame {
    /// Authenticated; `queued` stored envelopes follow, oldest first per sender.
    Ready {
        /// Envelopes waiting for this device.
        queued: u32,
    },
    /// The envelope is durable (committed) or, if ephemeral, forwarded.
    Accepted {
        /// The id from the `Send`.
        id: EnvelopeId,
    },
    /// An envelope for this device.
    Deliver {
        /// Sender device.
        from: DeviceId,
        /// Sender-chosen id (dedupe key together with `from`).
        id: EnvelopeId,
        /// Relay receive time.
        sent_at: UnixMs,
        /// Whether it was ephemeral (no ack needed).
        ephemeral: bool,
        /// Opaque ciphertext.
        #[serde(with = "bytes")]
        payload: Vec<u8>,
    },
    /// A request failed; `id` names the `Send` it refers to, if any.
    Error {
        /// Machine-readable code.
        code: ErrorCode,
        /// Human-readable explanation.
        message: String,
        /// The envelope concerned.
        id: Option<EnvelopeId>,
    },
    /// A watched device went online or offline (or its state on subscribing).
    /// Offline also means "not sharing": the two are indistinguishable by design.
    Presence {
        /// The watched device.
        device: DeviceId,
        /// Connected and sharing.
        online: bool,
    },
    /// A `Send` named another device list than the recipient account's
    /// current one (or named one for a device in no account): nothing was
    /// stored. The sender checks the list, encrypts for the devices it now
    /// names and sends again (Signal's mismatched-devices rule).
    Stale {
        /// The refused envelope.
        id: EnvelopeId,
        /// The account's current signed device list (verify it against the
        /// account key pinned for the contact); `None` when the recipient
        /// device belongs to no account.
        list: Option<SignedDeviceList>,
    },
    /// A `SendMany` named, for one or more recipient accounts, another list
    /// than the current one: nothing was stored for anyone. One entry per
    /// stale account; the sender adopts the lists, encrypts for the
    /// devices they name and sends again.
    StaleMany {
        /// The refused envelope.
        id: EnvelopeId,
        /// Every stale account, by one of its requested devices.
        stale: Vec<StaleRecipient>,
    },
}

impl ClientFrame {
    /// Wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(WS_VERSION, self)
    }

    /// Parses wire bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        if b.len() > MAX_FRAME {
            return Err(DecodeError::Malformed);
        }
        codec::decode_frame(WS_VERSION, b)
    }
}

impl ServerFrame {
    /// Wire bytes.
    pub fn to_bytes(&self) -> Vec<u8> {
        codec::encode(WS_VERSION, self)
    }

    /// Parses wire bytes.
    pub fn from_bytes(b: &[u8]) -> Result<Self, DecodeError> {
        codec::decode_frame(WS_VERSION, b)
    }
}

/// WebSocket close codes the relay uses (4000–4999 are application codes).
pub mod close {
    /// The first frame was not a valid `Auth`, or the token is invalid.
    pub const UNAUTHORIZED: u16 = 4001;
    /// A frame could not be parsed.
    pub const BAD_FRAME: u16 = 4002;
    /// Too many connections for this device.
    pub const TOO_MANY_CONNECTIONS: u16 = 4003;
    /// The token that opened the connection was revoked (`DELETE
    /// /auth/session` or `DELETE /auth/sessions`): log in again to reconnect.
    pub const REVOKED: u16 = 4004;
    /// The device was erased (`DELETE /devices/me`, or replaced by a key
    /// reset): it no longer exists on the relay.
    pub const DEVICE_ERASED: u16 = 4005;
    /// The token that opened the connection expired: log in again to reconnect.
    pub const EXPIRED: u16 = 4006;
    /// Another device of the account published a device list without this
    /// one: the relay erased it. It cannot log in again.
    pub const REMOVED: u16 = 4007;

    /// Whether the token used for the connection is dead, so the client must
    /// forget it and log in before reconnecting. Not for `DEVICE_ERASED`: a
    /// key reset erases the old device after the new token is already held.
    pub fn token_is_dead(code: u16) -> bool {
        matches!(code, UNAUTHORIZED | REVOKED | EXPIRED)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frames_round_trip_and_reject_garbage() {
        let f = ClientFrame::Send {
            id: [1; 16],
            to: DeviceId::new([2; 32]),
            ephemeral: false,
            payload: vec![9; 100],
            list: None,
        };
        assert_eq!(ClientFrame::from_bytes(&f.to_bytes()).unwrap(), f);
        let s = ServerFrame::Error {
            code: ErrorCode::TooLarge,
            message: "x".into(),
            id: Some([3; 16]),
        };
        assert_eq!(ServerFrame::from_bytes(&s.to_bytes()).unwrap(), s);
        assert!(ClientFrame::from_bytes(&[1, 200, 200]).is_err());
        assert!(ClientFrame::from_bytes(&vec![1; MAX_FRAME + 1]).is_err());
    }

    #[test]
    fn fan_out_frames_round_trip_and_a_full_send_many_fits_a_frame() {
        let to: Vec<Recipient> = (0..MAX_RECIPIENTS)
            .map(|i| Recipient {
                device: DeviceId::new([u8::try_from(i % 251).unwrap(); 32]),
                list: Some(u64::MAX),
            })
            .collect();
        let f = ClientFrame::SendMany {
            id: [4; 16],
            to,
            payload: vec![7; MAX_PAYLOAD],
        };
        let wire = f.to_bytes();
        assert!(wire.len() <= MAX_FRAME, "{} > {MAX_FRAME}", wire.len());
        assert_eq!(ClientFrame::from_bytes(&wire).unwrap(), f);
        let s = ServerFrame::StaleMany {
            id: [5; 16],
            stale: vec![StaleRecipient {
                device: DeviceId::new([6; 32]),
                list: None,
            }],
        };
        assert_eq!(ServerFrame::from_bytes(&s.to_bytes()).unwrap(), s);
    }

    #[test]
    fn new_variants_keep_the_old_discriminants() {
        // Appended at the end: `Send` is still variant 1, `Stale` still 5.
        let send = ClientFrame::Send {
            id: [0; 16],
            to: DeviceId::new([0; 32]),
            ephemeral: false,
            payload: Vec::new(),
            list: None,
        };
        assert_eq!(send.to_bytes()[1], 1);
        let many = ClientFrame::SendMany {
            id: [0; 16],
            to: Vec::new(),
            payload: Vec::new(),
        };
        assert_eq!(many.to_bytes()[1], 4);
        let stale = ServerFrame::Stale {
            id: [0; 16],
            list: None,
        };
        assert_eq!(stale.to_bytes()[1], 5);
        let stale_many = ServerFrame::StaleMany {
            id: [0; 16],
            stale: Vec::new(),
        };
        assert_eq!(stale_many.to_bytes()[1], 6);
    }

    #[test]
    fn device_ids_travel_as_32_bare_bytes() {
        let f = ClientFrame::Send {
            id: [1; 16],
            to: DeviceId::new([2; 32]),
            ephemeral: false,
            payload: vec![9; 3],
            list: None,
        };
        // version, variant `Send`, id, recipient (no length prefix), flag,
        // payload, no list counter.
        let mut want = vec![WS_VERSION, 1];
        want.extend([1; 16]);
        want.extend([2; 32]);
        want.extend([0, 3, 9, 9, 9, 0]);
        assert_eq!(f.to_bytes(), want);
    }
}
