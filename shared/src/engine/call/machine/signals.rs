//! Signals from the peer device: new calls (busy, glare), restart offers,
//! answers, candidates and hang-ups; stale and foreign ones are ignored.

use super::{Call, CallMachine};
use crate::engine::call::signal::{CallId, CallKind, CallSignal, HangupReason};
use crate::engine::call::types::{
    CallAction, CallPhase, IceCandidate, MAX_HELD_CANDIDATES, RING_MS, Role, SdpKind,
};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

impl CallMachine {
    /// A signal from device `from`, already authenticated by its session.
    pub fn signal(&mut self, now: UnixMs, from: DeviceId, s: CallSignal) -> Vec<CallAction> {
        if !s.is_acceptable(now) || self.recent.contains(&s.call_id) {
            return Vec::new();
        }
        let ours = self
            .call
            .as_ref()
            .is_some_and(|c| c.id == s.call_id && c.peer == from);
        match s.kind {
            CallKind::Offer {
                sdp,
                video,
                restart: false,
            } => self.offered(now, from, s.call_id, sdp, video),
            CallKind::Offer {
                sdp, restart: true, ..
            } if ours => self.restart_offered(sdp),
            CallKind::Answer { sdp } if ours => self.answered(sdp),
            CallKind::Candidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            } if ours => self.remote_candidate(IceCandidate {
                candidate,
                sdp_mid,
                sdp_mline_index,
            }),
            CallKind::Hangup { reason } if ours => self.end(now, reason, None, false),
            _ => Vec::new(),
        }
    }

    fn offered(
        &mut self,
        now: UnixMs,
        from: DeviceId,
        id: CallId,
        sdp: String,
        video: bool,
    ) -> Vec<CallAction> {
        let mut out = Vec::new();
        if let Some(c) = &self.call {
            if c.id == id {
                // A duplicate, or another device reusing the id.
                return out;
            }
            let glare = c.role == Role::Caller && c.phase == CallPhase::Outgoing && c.peer == from;
            if !glare {
                out.push(CallAction::Send {
                    to: from,
                    signal: CallSignal {
                        call_id: id,
                        sent_at: now,
                        kind: CallKind::Hangup {
                            reason: HangupReason::Busy,
                        },
                    },
                });
                return out;
            }
            // Glare: both called each other. The smaller id survives on both
            // sides; the other side reaches the same verdict from the same two ids.
            if c.id < id {
                return out;
            }
            if let Some(old) = self.call.take() {
                if old.media_requested {
                    out.push(CallAction::StopMedia { call: old.id });
                }
                self.remember(old.id);
            }
        }
        let mut c = Call::new(id, from, Role::Callee, video, CallPhase::Incoming);
        c.offer = Some(sdp);
        let at = now.saturating_add(RING_MS);
        c.deadline = Some(at);
        self.call = Some(c);
        self.last = None;
        out.push(CallAction::Ring);
        out.push(CallAction::SetDeadline { at });
        out
    }

    fn restart_offered(&mut self, sdp: String) -> Vec<CallAction> {
        let Some(c) = self.call.as_mut() else {
            return Vec::new();
        };
        let running = matches!(
            c.phase,
            CallPhase::Connecting | CallPhase::Connected | CallPhase::Reconnecting
        );
        if c.role != Role::Callee
            || !running
            || !c.media
            || c.making.is_some()
            || c.applying.is_some()
        {
            return Vec::new();
        }
        c.applying = Some(SdpKind::Offer);
        vec![CallAction::SetRemote {
            call: c.id,
            kind: SdpKind::Offer,
            sdp,
        }]
    }

    fn answered(&mut self, sdp: String) -> Vec<CallAction> {
        let Some(c) = self.call.as_mut() else {
            return Vec::new();
        };
        if c.role != Role::Caller || !c.awaiting_answer {
            return Vec::new();
        }
        c.awaiting_answer = false;
        let mut out = Vec::new();
        if c.phase == CallPhase::Outgoing {
            c.phase = CallPhase::Connecting;
            c.deadline = None;
            out.push(CallAction::ClearDeadline);
        }
        c.applying = Some(SdpKind::Answer);
        out.push(CallAction::SetRemote {
            call: c.id,
            kind: SdpKind::Answer,
            sdp,
        });
        out
    }

    fn remote_candidate(&mut self, candidate: IceCandidate) -> Vec<CallAction> {
        let Some(c) = self.call.as_mut() else {
            return Vec::new();
        };
        if c.have_remote {
            return vec![CallAction::AddCandidate {
                call: c.id,
                candidate,
            }];
        }
        if c.inbound.len() < MAX_HELD_CANDIDATES {
            c.inbound.push(candidate);
        }
        Vec::new()
    }
}
