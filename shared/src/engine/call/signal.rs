//! Call signaling: offers, answers, ICE candidates and hang-ups travel
//! inside the conversation's ratchet as ephemeral envelopes, so the relay can
//! neither read nor alter them (a swapped DTLS fingerprint would fail
//! authentication) and never stores them.

use crate::time::{Millis, UnixMs};
use serde::{Deserialize, Serialize};

/// Largest SDP accepted.
pub const MAX_SDP: usize = 16 * 1024;
/// Largest ICE candidate line accepted.
pub const MAX_CANDIDATE: usize = 1024;
/// Signals older than this (sender clock, generous for skew) are ignored.
pub const MAX_SIGNAL_AGE_MS: Millis = Millis::from_millis(120_000);

/// A call id (random, chosen by the caller).
pub type CallId = [u8; 16];

/// A fresh call id. Glare is settled by comparing ids, so they must be
/// random: the caller's generator, never a fixed or fallback value.
pub fn new_call_id<R: rand_core::CryptoRng + ?Sized>(rng: &mut R) -> CallId {
    let mut id = [0u8; 16];
    rng.fill_bytes(&mut id);
    id
}

/// One signaling message of a call.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CallSignal {
    /// The call it belongs to.
    pub call_id: CallId,
    /// Sender clock.
    pub sent_at: UnixMs,
    /// What it says.
    pub kind: CallKind,
}

/// Signal kinds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallKind {
    /// Start a call, or renegotiate (`restart`: an ICE restart).
    Offer {
        /// Session description.
        sdp: String,
        /// Whether the caller asks for video.
        video: bool,
        /// An ICE restart of a running call.
        restart: bool,
    },
    /// Accept an offer.
    Answer {
        /// Session description.
        sdp: String,
    },
    /// A trickled ICE candidate.
    Candidate {
        /// `candidate:` line.
        candidate: String,
        /// Media section id.
        sdp_mid: Option<String>,
        /// Media section index.
        sdp_mline_index: Option<u16>,
    },
    /// The call ends.
    Hangup {
        /// Why.
        reason: HangupReason,
    },
}

/// Why a call ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum HangupReason {
    /// Someone hung up.
    Ended,
    /// The callee declined.
    Declined,
    /// The callee is in another call.
    Busy,
    /// Nobody answered in time.
    Unanswered,
    /// The connection could not be kept up.
    Failed,
    /// Another device of the same account answered or declined it (told
    /// only among one's own devices, see `engine::sync`).
    HandledElsewhere,
}

impl CallSignal {
    /// Size limits and freshness; a signal that fails is dropped.
    pub fn is_acceptable(&self, now: UnixMs) -> bool {
        let sized = match &self.kind {
            CallKind::Offer { sdp, .. } | CallKind::Answer { sdp } => sdp.len() <= MAX_SDP,
            CallKind::Candidate {
                candidate, sdp_mid, ..
            } => candidate.len() <= MAX_CANDIDATE && sdp_mid.as_ref().is_none_or(|m| m.len() <= 64),
            CallKind::Hangup { .. } => true,
        };
        sized && now.since(self.sent_at) <= MAX_SIGNAL_AGE_MS
    }
}

/// Bandwidth modes the user picks during a call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Quality {
    /// About 125 kbit/s in total: poor networks.
    Low,
    /// About 300 kbit/s in total.
    Normal,
    /// About 2 Mbit/s in total.
    High,
}

impl Quality {
    /// All modes, lowest first.
    pub const ALL: [Self; 3] = [Self::Low, Self::Normal, Self::High];

    /// Stable name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Low => "low",
            Self::Normal => "normal",
            Self::High => "high",
        }
    }

    /// Parses [`Self::name`].
    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|q| q.name() == s)
    }

    /// Total send budget, bit/s.
    pub fn total_bps(self) -> u32 {
        match self {
            Self::Low => 125_000,
            Self::Normal => 300_000,
            Self::High => 2_000_000,
        }
    }

    /// Audio's share (Opus is good from 24 kbit/s).
    pub fn audio_bps(self) -> u32 {
        match self {
            Self::Low => 24_000,
            Self::Normal => 32_000,
            Self::High => 64_000,
        }
    }

    /// Video's share: the rest.
    pub fn video_bps(self) -> u32 {
        self.total_bps() - self.audio_bps()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_and_budgets() {
        let s = |kind| CallSignal {
            call_id: [1; 16],
            sent_at: UnixMs::from_millis(1_000),
            kind,
        };
        let offer = s(CallKind::Offer {
            sdp: "v=0".into(),
            video: true,
            restart: false,
        });
        assert!(offer.is_acceptable(UnixMs::from_millis(1_000) + MAX_SIGNAL_AGE_MS));
        assert!(!offer.is_acceptable(UnixMs::from_millis(1_001) + MAX_SIGNAL_AGE_MS));
        assert!(
            !s(CallKind::Answer {
                sdp: "x".repeat(MAX_SDP + 1)
            })
            .is_acceptable(UnixMs::from_millis(1_000))
        );
        for q in Quality::ALL {
            assert_eq!(q.audio_bps() + q.video_bps(), q.total_bps());
            assert_eq!(Quality::parse(q.name()), Some(q));
        }
        assert_eq!(Quality::Low.total_bps(), 125_000);
    }
}
