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

mod browser;
mod signals;

use super::signal::{CallId, CallKind, CallSignal, HangupReason, Quality};
use super::types::{
    CallAction, CallPhase, CallView, IceCandidate, MAX_ICE_RESTARTS, Outcome, RESTART_MS, RING_MS,
    Role, SdpKind,
};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

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
    deadline: Option<UnixMs>,
    connected_at: Option<UnixMs>,
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

    fn send(&self, now: UnixMs, kind: CallKind) -> CallAction {
        CallAction::Send {
            to: self.peer,
            signal: CallSignal {
                call_id: self.id,
                sent_at: now,
                kind,
            },
        }
    }

    fn send_candidate(&self, now: UnixMs, c: IceCandidate) -> CallAction {
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
    connected_at: Option<UnixMs>,
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
    pub fn deadline(&self) -> Option<UnixMs> {
        self.call.as_ref().and_then(|c| c.deadline)
    }

    // ---------------------------------------------------------- intents

    /// Calls `peer` with the fresh random `id`; nothing while a call runs.
    pub fn start(
        &mut self,
        now: UnixMs,
        id: CallId,
        peer: DeviceId,
        video: bool,
    ) -> Vec<CallAction> {
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
            CallAction::StartMedia { call: id, video },
            CallAction::SetDeadline { at },
        ]
    }

    /// Accepts the ringing call.
    pub fn accept(&mut self, _now: UnixMs) -> Vec<CallAction> {
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
                video: c.video,
            },
        ]
    }

    /// Declines the ringing call (hangs up any other).
    pub fn decline(&mut self, now: UnixMs) -> Vec<CallAction> {
        let reason = match self.call.as_ref().map(|c| c.phase) {
            Some(CallPhase::Incoming) => HangupReason::Declined,
            _ => HangupReason::Ended,
        };
        self.end(now, reason, None, true)
    }

    /// Hangs up, in any phase.
    pub fn hang_up(&mut self, now: UnixMs) -> Vec<CallAction> {
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

    /// The deadline passed (early or repeated calls change nothing).
    pub fn tick(&mut self, now: UnixMs) -> Vec<CallAction> {
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
    fn restart(&mut self, now: UnixMs) -> Vec<CallAction> {
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
        now: UnixMs,
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
