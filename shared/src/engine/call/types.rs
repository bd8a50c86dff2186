//! What goes in and out of the [`super::CallMachine`]: its limits, the
//! actions the adapter performs, the browser events it reports back, and
//! the view the call screen renders.

use super::signal::{CallId, CallSignal, HangupReason, Quality};
use crate::protocol::ws::DeviceId;
use crate::time::{Millis, UnixMs};

/// How long an unanswered call rings, on both sides, ms.
pub const RING_MS: Millis = Millis::from_millis(45_000);
/// How long the caller gives one ICE restart to reconnect before the next, ms.
pub const RESTART_MS: Millis = Millis::from_millis(15_000);
/// ICE restarts in a row (without reconnecting in between) before the call
/// is given up as failed.
pub const MAX_ICE_RESTARTS: u32 = 3;
/// How long the callee waits for the caller to repair a dropped connection
/// before giving up: all the caller's attempts plus one period of slack, ms.
pub const CALLEE_RECONNECT_MS: Millis =
    Millis::from_millis(RESTART_MS.as_millis() * (MAX_ICE_RESTARTS as u64 + 1));
/// ICE candidates held per direction while a description is missing; more
/// are dropped (a real session gathers a few dozen at most).
pub const MAX_HELD_CANDIDATES: usize = 64;

/// Which side of the call this device is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// It sent the offer; it alone restarts ICE.
    Caller,
    /// It received the offer.
    Callee,
}

/// Where a call is, as the call screen shows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CallPhase {
    /// No call.
    Idle,
    /// Calling the peer; their device rings.
    Outgoing,
    /// The peer is calling us.
    Incoming,
    /// Accepted; media is being connected.
    Connecting,
    /// Media flows.
    Connected,
    /// The connection dropped; it is being repaired.
    Reconnecting,
    /// Over (see [`CallView::outcome`]).
    Ended,
}

impl CallPhase {
    /// Stable name (the call screen's `data-state`).
    pub fn name(self) -> &'static str {
        match self {
            Self::Idle => "idle",
            Self::Outgoing => "outgoing",
            Self::Incoming => "incoming",
            Self::Connecting => "connecting",
            Self::Connected => "connected",
            Self::Reconnecting => "reconnecting",
            Self::Ended => "ended",
        }
    }
}

/// How a call ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Why.
    pub reason: HangupReason,
    /// A local failure's message (camera refused, WebRTC error, offline),
    /// as the adapter that saw it worded it for people.
    pub detail: Option<String>,
}

/// An ICE candidate, as gathered or received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IceCandidate {
    /// `candidate:` line.
    pub candidate: String,
    /// Media section id.
    pub sdp_mid: Option<String>,
    /// Media section index.
    pub sdp_mline_index: Option<u16>,
}

/// Which session description.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SdpKind {
    /// An offer.
    Offer,
    /// An answer.
    Answer,
}

/// The peer connection's states the machine reacts to
/// (`RTCPeerConnection.connectionState`; the others change nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConnectionState {
    /// Media flows.
    Connected,
    /// Connectivity was lost, maybe for a moment.
    Disconnected,
    /// ICE gave up.
    Failed,
}

impl ConnectionState {
    /// Parses the browser's name; `None` for states that change nothing.
    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "connected" => Some(Self::Connected),
            "disconnected" => Some(Self::Disconnected),
            "failed" => Some(Self::Failed),
            _ => None,
        }
    }
}

/// What the adapter does, in order. Those naming a call concern only that
/// call: results for it are reported back with its id, and the machine
/// ignores them once another call (or none) is current.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallAction {
    /// Send this signal to the device (through the engine's ephemeral send).
    Send {
        /// Recipient.
        to: DeviceId,
        /// Signal.
        signal: CallSignal,
    },
    /// Get TURN credentials, the microphone (and camera) and a peer
    /// connection carrying them; report [`CallMachine::media_ready`] or
    /// [`CallMachine::failure`].
    ///
    /// [`CallMachine::media_ready`]: super::CallMachine::media_ready
    /// [`CallMachine::failure`]: super::CallMachine::failure
    StartMedia {
        /// Call.
        call: CallId,
        /// With the camera.
        video: bool,
    },
    /// Close the call's peer connection and stop its tracks (also the ones
    /// still being set up).
    StopMedia {
        /// Call.
        call: CallId,
    },
    /// Create an offer and set it as local description (`restart`: with
    /// fresh TURN credentials and new ICE credentials); report
    /// [`super::CallMachine::local_description`].
    CreateOffer {
        /// Call.
        call: CallId,
        /// An ICE restart.
        restart: bool,
    },
    /// Create an answer and set it as local description; report
    /// [`super::CallMachine::local_description`].
    CreateAnswer {
        /// Call.
        call: CallId,
    },
    /// Set the remote description; report
    /// [`super::CallMachine::remote_applied`].
    SetRemote {
        /// Call.
        call: CallId,
        /// Offer or answer.
        kind: SdpKind,
        /// Session description.
        sdp: String,
    },
    /// Add a remote ICE candidate.
    AddCandidate {
        /// Call.
        call: CallId,
        /// Candidate.
        candidate: IceCandidate,
    },
    /// Cap the senders' bitrates.
    ApplyQuality {
        /// Call.
        call: CallId,
        /// Mode.
        quality: Quality,
    },
    /// Call [`super::CallMachine::tick`] at this Unix ms (replaces any earlier deadline).
    SetDeadline {
        /// When.
        at: UnixMs,
    },
    /// No deadline is pending any more.
    ClearDeadline,
    /// Start ringing.
    Ring,
    /// Stop ringing.
    StopRinging,
    /// The call is over; show why.
    Ended(Outcome),
}

/// What the call screen shows.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CallView {
    /// Phase.
    pub phase: CallPhase,
    /// The call (also the ended one while its outcome shows).
    pub call: Option<CallId>,
    /// The other side.
    pub peer: Option<DeviceId>,
    /// This side's role.
    pub role: Option<Role>,
    /// A video call.
    pub video: bool,
    /// Bandwidth mode (kept from call to call).
    pub quality: Quality,
    /// Unix ms when media first connected.
    pub connected_at: Option<UnixMs>,
    /// How it ended, in phase [`CallPhase::Ended`].
    pub outcome: Option<Outcome>,
}
