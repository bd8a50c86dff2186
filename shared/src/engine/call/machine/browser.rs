//! Browser events: media ready, descriptions set, candidates gathered,
//! connection state; those of a call that is no longer current are ignored.

use super::{Call, CallMachine, Making};
use crate::engine::call::signal::{CallId, CallKind, HangupReason};
use crate::engine::call::types::{
    CALLEE_RECONNECT_MS, CallAction, CallPhase, ConnectionState, IceCandidate, MAX_HELD_CANDIDATES,
    Role, SdpKind,
};
use crate::time::UnixMs;

impl CallMachine {
    fn live(&mut self, id: CallId) -> Option<&mut Call> {
        self.call.as_mut().filter(|c| c.id == id)
    }

    /// Call `id`'s microphone, camera and peer connection are ready.
    pub fn media_ready(&mut self, _now: UnixMs, id: CallId) -> Vec<CallAction> {
        let Some(c) = self.live(id) else {
            return Vec::new();
        };
        if !c.media_requested || c.media {
            return Vec::new();
        }
        c.media = true;
        match c.role {
            Role::Caller => {
                c.making = Some(Making::Offer { restart: false });
                vec![CallAction::CreateOffer {
                    call: id,
                    restart: false,
                }]
            }
            Role::Callee => {
                let Some(sdp) = c.offer.take() else {
                    return Vec::new();
                };
                c.applying = Some(SdpKind::Offer);
                vec![CallAction::SetRemote {
                    call: id,
                    kind: SdpKind::Offer,
                    sdp,
                }]
            }
        }
    }

    /// Call `id`'s local description (asked for by `CreateOffer` or
    /// `CreateAnswer`) is set: it goes out, then the candidates held for it.
    pub fn local_description(&mut self, now: UnixMs, id: CallId, sdp: String) -> Vec<CallAction> {
        let Some(c) = self.live(id) else {
            return Vec::new();
        };
        let Some(making) = c.making.take() else {
            return Vec::new();
        };
        let kind = match making {
            Making::Offer { restart } => {
                c.awaiting_answer = true;
                CallKind::Offer {
                    sdp,
                    video: c.video,
                    restart,
                }
            }
            Making::Answer => CallKind::Answer { sdp },
        };
        c.described = true;
        let mut out = vec![c.send(now, kind)];
        for cand in std::mem::take(&mut c.outbound) {
            out.push(c.send_candidate(now, cand));
        }
        out
    }

    /// Call `id`'s remote description is set: held candidates follow, in
    /// the order they came; an offer is answered.
    pub fn remote_applied(&mut self, _now: UnixMs, id: CallId) -> Vec<CallAction> {
        let Some(c) = self.live(id) else {
            return Vec::new();
        };
        let Some(kind) = c.applying.take() else {
            return Vec::new();
        };
        c.have_remote = true;
        let mut out: Vec<_> = std::mem::take(&mut c.inbound)
            .into_iter()
            .map(|candidate| CallAction::AddCandidate {
                call: id,
                candidate,
            })
            .collect();
        if kind == SdpKind::Offer && c.making.is_none() {
            c.making = Some(Making::Answer);
            out.push(CallAction::CreateAnswer { call: id });
        }
        out
    }

    /// Call `id`'s connection gathered a local ICE candidate.
    pub fn candidate_gathered(
        &mut self,
        now: UnixMs,
        id: CallId,
        candidate: IceCandidate,
    ) -> Vec<CallAction> {
        let Some(c) = self.live(id) else {
            return Vec::new();
        };
        if c.making.is_some() || !c.described {
            if c.outbound.len() < MAX_HELD_CANDIDATES {
                c.outbound.push(candidate);
            }
            return Vec::new();
        }
        vec![c.send_candidate(now, candidate)]
    }

    /// Call `id`'s connection changed state.
    pub fn connection_state(
        &mut self,
        now: UnixMs,
        id: CallId,
        state: ConnectionState,
    ) -> Vec<CallAction> {
        let quality = self.quality;
        let Some(c) = self.live(id) else {
            return Vec::new();
        };
        if !matches!(
            c.phase,
            CallPhase::Connecting | CallPhase::Connected | CallPhase::Reconnecting
        ) {
            return Vec::new();
        }
        match (state, c.role) {
            (ConnectionState::Connected, _) => {
                c.phase = CallPhase::Connected;
                c.connected_at.get_or_insert(now);
                c.restarts = 0;
                c.restarting = false;
                let mut out = Vec::new();
                if c.deadline.take().is_some() {
                    out.push(CallAction::ClearDeadline);
                }
                out.push(CallAction::ApplyQuality { call: id, quality });
                out
            }
            // Only the caller repairs, so both sides never restart at once.
            (_, Role::Caller) if c.restarting => Vec::new(),
            (_, Role::Caller) => self.restart(now),
            (_, Role::Callee) if c.phase == CallPhase::Reconnecting => Vec::new(),
            (_, Role::Callee) => {
                c.phase = CallPhase::Reconnecting;
                let at = now.saturating_add(CALLEE_RECONNECT_MS);
                c.deadline = Some(at);
                vec![CallAction::SetDeadline { at }]
            }
        }
    }

    /// Something local failed for call `id` (media refused, a WebRTC call
    /// threw, the signal could not be sent): the call ends for both sides.
    pub fn failure(&mut self, now: UnixMs, id: CallId, detail: String) -> Vec<CallAction> {
        if self.current() != Some(id) {
            return Vec::new();
        }
        self.end(now, HangupReason::Failed, Some(detail), true)
    }
}
