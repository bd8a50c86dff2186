//! The call state machine: every rule of a call between two devices, with no
//! I/O and no clock of its own (each input carries the time, Unix ms). The
//! adapter feeds it user intents, authenticated signals
//! ([`crate::engine::Effect::Call`]), browser events and fired deadlines, and
//! performs the [`CallAction`]s it returns, in order.
//!
//! Rules: an unanswered call rings [`RING_MS`] on both sides; a second call
//! while one is running is answered `Busy`; when both devices call each
//! other at once (glare) the call with the smaller id survives, so both
//! sides agree without a message; only the caller restarts ICE, at most
//! [`MAX_ICE_RESTARTS`] times in a row; remote ICE candidates wait for the
//! remote description and local ones for our description to go out; signals
//! for another call, from another device, too old, or of an ended call are
//! ignored, as are browser events of a call that is no longer current.

use std::collections::VecDeque;

use super::signal::{CallId, CallKind, CallSignal, HangupReason, Quality};
use super::types::{
    CALLEE_RECONNECT_MS, CallAction, CallPhase, CallView, ConnectionState, IceCandidate,
    MAX_HELD_CANDIDATES, MAX_ICE_RESTARTS, Outcome, RESTART_MS, RING_MS, Role, SdpKind,
};
use crate::protocol::ws::DeviceId;

/// Ended calls remembered so that their late signals stay ignored.
const RECENT: usize = 8;

/// The local description being created.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Making {
    Offer { restart: bool },
    Answer,
}

/// The running call.
#[derive(Debug)]
struct Call {
    id: CallId,
    peer: DeviceId,
    role: Role,
    video: bool,
    phase: CallPhase,
    /// The callee's offer, until it is applied.
    offer: Option<String>,
    /// Media was asked for (so it must be released at the end).
    media_requested: bool,
    /// The peer connection exists.
    media: bool,
    making: Option<Making>,
    applying: Option<SdpKind>,
    /// One of our descriptions went out: local candidates may follow it.
    described: bool,
    /// The caller's offer is out and its answer has not come.
    awaiting_answer: bool,
    /// A remote description is set: remote candidates may be added.
    have_remote: bool,
    /// Remote candidates waiting for the remote description, in order.
    inbound: Vec<IceCandidate>,
    /// Local candidates waiting for our description to go out, in order.
    outbound: Vec<IceCandidate>,
    /// ICE restarts since media last connected.
    restarts: u32,
    /// The caller's restart is under way (until connected or its deadline).
    restarting: bool,
    deadline: Option<u64>,
    connected_at: Option<u64>,
}

impl Call {
    fn new(id: CallId, peer: DeviceId, role: Role, video: bool, phase: CallPhase) -> Self {
        Self {
            id,
            peer,
            role,
            video,
            phase,
            offer: None,
            media_requested: false,
            media: false,
            making: None,
            applying: None,
            described: false,
            awaiting_answer: false,
            have_remote: false,
            inbound: Vec::new(),
            outbound: Vec::new(),
            restarts: 0,
            restarting: false,
            deadline: None,
            connected_at: None,
        }
    }

    fn send(&self, now: u64, kind: CallKind) -> CallAction {
        CallAction::Send {
            to: self.peer,
            signal: CallSignal {
                call_id: self.id,
                sent_at: now,
                kind,
            },
        }
    }

    fn send_candidate(&self, now: u64, c: IceCandidate) -> CallAction {
        self.send(
            now,
            CallKind::Candidate {
                candidate: c.candidate,
                sdp_mid: c.sdp_mid,
                sdp_mline_index: c.sdp_mline_index,
            },
        )
    }
}

/// The call that just ended, shown until dismissed.
#[derive(Debug)]
struct Last {
    id: CallId,
    peer: DeviceId,
    role: Role,
    video: bool,
    connected_at: Option<u64>,
    outcome: Outcome,
}

/// One device's calls: at most one at a time.
#[derive(Debug)]
pub struct CallMachine {
    call: Option<Call>,
    last: Option<Last>,
    recent: VecDeque<CallId>,
    quality: Quality,
}

impl Default for CallMachine {
    fn default() -> Self {
        Self::new()
    }
}

impl CallMachine {
    /// No call, normal quality.
    pub fn new() -> Self {
        Self {
            call: None,
            last: None,
            recent: VecDeque::new(),
            quality: Quality::Normal,
        }
    }

    /// What the call screen shows.
    pub fn view(&self) -> CallView {
        let quality = self.quality;
        match (&self.call, &self.last) {
            (Some(c), _) => CallView {
                phase: c.phase,
                call: Some(c.id),
                peer: Some(c.peer),
                role: Some(c.role),
                video: c.video,
                quality,
                connected_at: c.connected_at,
                outcome: None,
            },
            (None, Some(l)) => CallView {
                phase: CallPhase::Ended,
                call: Some(l.id),
                peer: Some(l.peer),
                role: Some(l.role),
                video: l.video,
                quality,
                connected_at: l.connected_at,
                outcome: Some(l.outcome.clone()),
            },
            (None, None) => CallView {
                phase: CallPhase::Idle,
                call: None,
                peer: None,
                role: None,
                video: false,
                quality,
                connected_at: None,
                outcome: None,
            },
        }
    }

    /// The running call's id.
    pub fn current(&self) -> Option<CallId> {
        self.call.as_ref().map(|c| c.id)
    }

    /// When [`Self::tick`] has something to do.
    pub fn deadline(&self) -> Option<u64> {
        self.call.as_ref().and_then(|c| c.deadline)
    }

    // ---------------------------------------------------------- intents

    /// Calls `peer` with the fresh random `id`; nothing while a call runs.
    pub fn start(&mut self, now: u64, id: CallId, peer: DeviceId, video: bool) -> Vec<CallAction> {
        if self.call.is_some() || self.recent.contains(&id) {
            return Vec::new();
        }
        let mut c = Call::new(id, peer, Role::Caller, video, CallPhase::Outgoing);
        c.media_requested = true;
        let at = now.saturating_add(RING_MS);
        c.deadline = Some(at);
        self.call = Some(c);
        self.last = None;
        vec![
            CallAction::StartMedia {
                call: id,
                peer,
                video,
            },
            CallAction::SetDeadline { at },
        ]
    }

    /// Accepts the ringing call.
    pub fn accept(&mut self, _now: u64) -> Vec<CallAction> {
        let Some(c) = self
            .call
            .as_mut()
            .filter(|c| c.phase == CallPhase::Incoming)
        else {
            return Vec::new();
        };
        c.phase = CallPhase::Connecting;
        c.deadline = None;
        c.media_requested = true;
        vec![
            CallAction::StopRinging,
            CallAction::ClearDeadline,
            CallAction::StartMedia {
                call: c.id,
                peer: c.peer,
                video: c.video,
            },
        ]
    }

    /// Declines the ringing call (hangs up any other).
    pub fn decline(&mut self, now: u64) -> Vec<CallAction> {
        let reason = match self.call.as_ref().map(|c| c.phase) {
            Some(CallPhase::Incoming) => HangupReason::Declined,
            _ => HangupReason::Ended,
        };
        self.end(now, reason, None, true)
    }

    /// Hangs up, in any phase.
    pub fn hang_up(&mut self, now: u64) -> Vec<CallAction> {
        self.end(now, HangupReason::Ended, None, true)
    }

    /// Picks a bandwidth mode (kept for later calls too).
    pub fn set_quality(&mut self, quality: Quality) -> Vec<CallAction> {
        self.quality = quality;
        match &self.call {
            Some(c) if c.media => vec![CallAction::ApplyQuality {
                call: c.id,
                quality,
            }],
            _ => Vec::new(),
        }
    }

    /// Closes the ended call's screen.
    pub fn dismiss(&mut self) {
        if self.call.is_none() {
            self.last = None;
        }
    }

    // ---------------------------------------------------------- signals

    /// A signal from device `from`, already authenticated by its session.
    pub fn signal(&mut self, now: u64, from: DeviceId, s: CallSignal) -> Vec<CallAction> {
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
        now: u64,
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

    // ---------------------------------------------------------- browser events

    fn live(&mut self, id: CallId) -> Option<&mut Call> {
        self.call.as_mut().filter(|c| c.id == id)
    }

    /// Call `id`'s microphone, camera and peer connection are ready.
    pub fn media_ready(&mut self, _now: u64, id: CallId) -> Vec<CallAction> {
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
    pub fn local_description(&mut self, now: u64, id: CallId, sdp: String) -> Vec<CallAction> {
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
    pub fn remote_applied(&mut self, _now: u64, id: CallId) -> Vec<CallAction> {
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
        now: u64,
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
        now: u64,
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
    pub fn failure(&mut self, now: u64, id: CallId, detail: String) -> Vec<CallAction> {
        if self.current() != Some(id) {
            return Vec::new();
        }
        self.end(now, HangupReason::Failed, Some(detail), true)
    }

    /// The deadline passed (early or repeated calls change nothing).
    pub fn tick(&mut self, now: u64) -> Vec<CallAction> {
        let Some(c) = self.call.as_mut() else {
            return Vec::new();
        };
        if c.deadline.is_none_or(|at| at > now) {
            return Vec::new();
        }
        c.deadline = None;
        match (c.phase, c.role) {
            (CallPhase::Outgoing | CallPhase::Incoming, _) => {
                self.end(now, HangupReason::Unanswered, None, true)
            }
            (CallPhase::Reconnecting, Role::Caller) => {
                c.restarting = false;
                self.restart(now)
            }
            (CallPhase::Reconnecting, Role::Callee) => {
                self.end(now, HangupReason::Failed, None, true)
            }
            _ => Vec::new(),
        }
    }

    // ---------------------------------------------------------- helpers

    /// The caller's ICE restart, or the end once the limit is reached.
    fn restart(&mut self, now: u64) -> Vec<CallAction> {
        let Some(c) = self.call.as_mut() else {
            return Vec::new();
        };
        if c.restarts >= MAX_ICE_RESTARTS {
            return self.end(now, HangupReason::Failed, None, true);
        }
        c.restarts += 1;
        c.restarting = true;
        c.phase = CallPhase::Reconnecting;
        let at = now.saturating_add(RESTART_MS);
        c.deadline = Some(at);
        let mut out = Vec::new();
        // An offer still being made goes out as this attempt.
        if c.making.is_none() && c.applying.is_none() {
            c.making = Some(Making::Offer { restart: true });
            out.push(CallAction::CreateOffer {
                call: c.id,
                restart: true,
            });
        }
        out.push(CallAction::SetDeadline { at });
        out
    }

    /// Ends the running call (telling the peer when `notify`).
    fn end(
        &mut self,
        now: u64,
        reason: HangupReason,
        detail: Option<String>,
        notify: bool,
    ) -> Vec<CallAction> {
        let Some(c) = self.call.take() else {
            return Vec::new();
        };
        let mut out = Vec::new();
        if notify {
            out.push(c.send(now, CallKind::Hangup { reason }));
        }
        if c.phase == CallPhase::Incoming {
            out.push(CallAction::StopRinging);
        }
        if c.media_requested {
            out.push(CallAction::StopMedia { call: c.id });
        }
        if c.deadline.is_some() {
            out.push(CallAction::ClearDeadline);
        }
        let outcome = Outcome { reason, detail };
        out.push(CallAction::Ended(outcome.clone()));
        self.remember(c.id);
        self.last = Some(Last {
            id: c.id,
            peer: c.peer,
            role: c.role,
            video: c.video,
            connected_at: c.connected_at,
            outcome,
        });
        out
    }

    fn remember(&mut self, id: CallId) {
        if self.recent.len() == RECENT {
            self.recent.pop_front();
        }
        self.recent.push_back(id);
    }
}
