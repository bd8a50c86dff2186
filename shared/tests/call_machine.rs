//! Call rules (`parley_shared::engine::call::CallMachine`) between devices
//! wired to each other through a small in-test router: signals go over a
//! FIFO wire, and each side has a scripted browser that performs the
//! machine's actions (media, descriptions, candidates) and reports back.
//! Time only moves when a test moves it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::VecDeque;

use parley_shared::engine::call::{
    CALLEE_RECONNECT_MS, CallAction, CallId, CallKind, CallMachine, CallPhase, CallSignal,
    ConnectionState, HangupReason, IceCandidate, MAX_ICE_RESTARTS, MAX_SIGNAL_AGE_MS, Quality,
    RESTART_MS, RING_MS, Role, SdpKind,
};
use parley_shared::protocol::ws::DeviceId;
use parley_shared::time::{Millis, UnixMs};

const T0: UnixMs = UnixMs::from_millis(1_700_000_000_000);

/// What a side's browser reports back later (its operations are async).
#[derive(Debug)]
enum Ev {
    MediaReady(CallId),
    Local(CallId, String),
    Remote(CallId),
    Gathered(CallId, String),
}

struct Side {
    dev: DeviceId,
    m: CallMachine,
    browser: VecDeque<Ev>,
    /// Every action performed, in order.
    log: Vec<CallAction>,
    media: Option<CallId>,
    stopped: Vec<CallId>,
    ringing: bool,
    deadline: Option<UnixMs>,
    descriptions: u32,
}

impl Side {
    fn new(n: u8) -> Self {
        Self {
            dev: DeviceId::new([n; 32]),
            m: CallMachine::new(),
            browser: VecDeque::new(),
            log: Vec::new(),
            media: None,
            stopped: Vec::new(),
            ringing: false,
            deadline: None,
            descriptions: 0,
        }
    }

    fn phase(&self) -> CallPhase {
        self.m.view().phase
    }

    fn call(&self) -> Option<CallId> {
        self.m.view().call
    }

    /// How the call ended: why, and a local failure's detail.
    fn ended(&self) -> (HangupReason, Option<String>) {
        let o = self.m.view().outcome.expect("ended");
        (o.reason, o.detail)
    }

    /// Remote candidates added to the connection, in order.
    fn added(&self) -> Vec<String> {
        self.log
            .iter()
            .filter_map(|a| match a {
                CallAction::AddCandidate { candidate, .. } => Some(candidate.candidate.clone()),
                _ => None,
            })
            .collect()
    }

    fn count(&self, f: impl Fn(&CallAction) -> bool) -> usize {
        self.log.iter().filter(|a| f(a)).count()
    }

    fn restart_offers(&self) -> usize {
        self.count(|a| matches!(a, CallAction::CreateOffer { restart: true, .. }))
    }
}

struct Net {
    sides: Vec<Side>,
    /// (from, to, signal) in flight.
    wire: VecDeque<(DeviceId, DeviceId, CallSignal)>,
    now: UnixMs,
    /// Signals never delivered (a device that is offline).
    dropped: Vec<DeviceId>,
}

const A: usize = 0;
const B: usize = 1;
const C: usize = 2;

impl Net {
    fn new(n: u8) -> Self {
        Self {
            sides: (1..=n).map(Side::new).collect(),
            wire: VecDeque::new(),
            now: T0,
            dropped: Vec::new(),
        }
    }

    fn dev(&self, i: usize) -> DeviceId {
        self.sides[i].dev
    }

    fn perform(&mut self, i: usize, actions: Vec<CallAction>) {
        for a in actions {
            let s = &mut self.sides[i];
            s.log.push(a.clone());
            match a {
                CallAction::Send { to, signal } => self.wire.push_back((s.dev, to, signal)),
                CallAction::StartMedia { call, .. } => s.browser.push_back(Ev::MediaReady(call)),
                CallAction::StopMedia { call } => {
                    if s.media == Some(call) {
                        s.media = None;
                    }
                    s.stopped.push(call);
                }
                CallAction::CreateOffer { call, .. } | CallAction::CreateAnswer { call } => {
                    // Like a browser: candidates may be gathered before the
                    // app hears its description is set, and after.
                    s.descriptions += 1;
                    let n = s.descriptions;
                    let tag = s.dev.as_bytes()[0];
                    for k in 0..2 {
                        s.browser
                            .push_back(Ev::Gathered(call, format!("d{tag}-{n}-c{k}")));
                    }
                    s.browser
                        .push_back(Ev::Local(call, format!("sdp{tag}-{n}")));
                    s.browser
                        .push_back(Ev::Gathered(call, format!("d{tag}-{n}-c2")));
                }
                CallAction::SetRemote { call, .. } => s.browser.push_back(Ev::Remote(call)),
                CallAction::SetDeadline { at } => s.deadline = Some(at),
                CallAction::ClearDeadline => s.deadline = None,
                CallAction::Ring => s.ringing = true,
                CallAction::StopRinging => s.ringing = false,
                CallAction::AddCandidate { .. }
                | CallAction::ApplyQuality { .. }
                | CallAction::Ended(_) => {}
            }
        }
    }

    /// Runs one side's pending browser events.
    fn browse(&mut self, i: usize) {
        while let Some(ev) = self.sides[i].browser.pop_front() {
            let now = self.now;
            let s = &mut self.sides[i];
            let out = match ev {
                Ev::MediaReady(call) => {
                    if s.m.current() == Some(call) {
                        s.media = Some(call);
                    }
                    s.m.media_ready(now, call)
                }
                Ev::Local(call, sdp) => s.m.local_description(now, call, sdp),
                Ev::Remote(call) => s.m.remote_applied(now, call),
                Ev::Gathered(call, c) => s.m.candidate_gathered(
                    now,
                    call,
                    IceCandidate {
                        candidate: c,
                        sdp_mid: Some("0".into()),
                        sdp_mline_index: Some(0),
                    },
                ),
            };
            self.perform(i, out);
        }
    }

    fn deliver_one(&mut self) -> bool {
        let Some((from, to, signal)) = self.wire.pop_front() else {
            return false;
        };
        if self.dropped.contains(&to) {
            return true;
        }
        let now = self.now;
        if let Some(i) = self.sides.iter().position(|s| s.dev == to) {
            let out = self.sides[i].m.signal(now, from, signal);
            self.perform(i, out);
        }
        true
    }

    /// Everything in flight arrives and every browser finishes.
    fn settle(&mut self) {
        loop {
            for i in 0..self.sides.len() {
                self.browse(i);
            }
            if !self.deliver_one() {
                break;
            }
        }
    }

    fn act(&mut self, i: usize, f: impl FnOnce(&mut CallMachine, UnixMs) -> Vec<CallAction>) {
        let now = self.now;
        let out = f(&mut self.sides[i].m, now);
        self.perform(i, out);
    }

    fn start(&mut self, i: usize, to: usize, id: u8, video: bool) {
        let peer = self.dev(to);
        self.act(i, |m, now| m.start(now, [id; 16], peer, video));
    }

    fn conn(&mut self, i: usize, state: ConnectionState) {
        let call = self.sides[i].call().unwrap();
        self.act(i, |m, now| m.connection_state(now, call, state));
    }

    /// Moves the clock; deadlines that passed fire.
    fn advance(&mut self, d: Millis) {
        self.now = self.now + d;
        for i in 0..self.sides.len() {
            if self.sides[i].deadline.is_some_and(|at| at <= self.now) {
                self.act(i, CallMachine::tick);
            }
        }
        self.settle();
    }

    /// A calls B, B accepts, both connect.
    fn connected(video: bool) -> Self {
        let mut n = Self::new(2);
        n.start(A, B, 7, video);
        n.settle();
        n.act(B, CallMachine::accept);
        n.settle();
        n.conn(A, ConnectionState::Connected);
        n.conn(B, ConnectionState::Connected);
        n.settle();
        assert_eq!(n.sides[A].phase(), CallPhase::Connected);
        assert_eq!(n.sides[B].phase(), CallPhase::Connected);
        n
    }

    /// Injects a signal as if `from` had sent it at `sent_at`.
    fn inject(
        &mut self,
        from: DeviceId,
        to: usize,
        call_id: CallId,
        sent_at: UnixMs,
        kind: CallKind,
    ) {
        let s = CallSignal {
            call_id,
            sent_at,
            kind,
        };
        let now = self.now;
        let out = self.sides[to].m.signal(now, from, s);
        self.perform(to, out);
    }
}

fn hangups(s: &Side) -> Vec<HangupReason> {
    s.log
        .iter()
        .filter_map(|a| match a {
            CallAction::Send {
                signal:
                    CallSignal {
                        kind: CallKind::Hangup { reason },
                        ..
                    },
                ..
            } => Some(*reason),
            _ => None,
        })
        .collect()
}

#[test]
fn a_call_connects_with_candidates_in_order_and_hang_up_ends_both() {
    let mut n = Net::new(2);
    n.start(A, B, 7, true);
    n.settle();
    assert_eq!(n.sides[A].phase(), CallPhase::Outgoing);
    assert_eq!(n.sides[B].phase(), CallPhase::Incoming);
    assert!(n.sides[B].ringing);
    let v = n.sides[B].m.view();
    assert_eq!(
        (v.video, v.peer, v.role),
        (true, Some(n.dev(A)), Some(Role::Callee))
    );

    n.act(B, CallMachine::accept);
    n.settle();
    assert!(!n.sides[B].ringing);
    assert_eq!(n.sides[A].phase(), CallPhase::Connecting);
    assert_eq!(n.sides[B].phase(), CallPhase::Connecting);
    // The caller's candidates came while B was still ringing (no remote
    // description yet): all of them, in gathering order, and only after it.
    assert_eq!(n.sides[B].added(), ["d1-1-c0", "d1-1-c1", "d1-1-c2"]);
    assert_eq!(n.sides[A].added(), ["d2-1-c0", "d2-1-c1", "d2-1-c2"]);
    for s in &n.sides {
        let remote = s
            .log
            .iter()
            .position(|a| matches!(a, CallAction::SetRemote { .. }))
            .unwrap();
        let first = s
            .log
            .iter()
            .position(|a| matches!(a, CallAction::AddCandidate { .. }))
            .unwrap();
        assert!(
            remote < first,
            "a candidate was added before the remote description"
        );
    }
    // The offer went out before any candidate of it.
    let sent: Vec<_> = n.sides[A]
        .log
        .iter()
        .filter_map(|a| match a {
            CallAction::Send { signal, .. } => Some(&signal.kind),
            _ => None,
        })
        .collect();
    assert!(matches!(
        sent[0],
        CallKind::Offer {
            restart: false,
            video: true,
            ..
        }
    ));
    assert_eq!(sent.len(), 4);

    n.conn(A, ConnectionState::Connected);
    n.conn(B, ConnectionState::Connected);
    assert_eq!(n.sides[A].m.view().connected_at, Some(T0));
    assert!(n.sides[A].log.contains(&CallAction::ApplyQuality {
        call: [7; 16],
        quality: Quality::Normal
    }));

    n.advance(Millis::from_millis(5_000));
    n.act(A, CallMachine::hang_up);
    n.settle();
    for s in &n.sides {
        assert_eq!(s.phase(), CallPhase::Ended);
        assert_eq!(s.ended(), (HangupReason::Ended, None));
        assert_eq!(s.media, None, "media released");
        assert_eq!(s.deadline, None);
    }
    assert_eq!(hangups(&n.sides[A]), [HangupReason::Ended]);
    assert!(hangups(&n.sides[B]).is_empty(), "no hang-up echoed back");
    n.sides[A].m.dismiss();
    assert_eq!(n.sides[A].phase(), CallPhase::Idle);
}

#[test]
fn an_unanswered_call_rings_for_the_ring_timeout_on_both_sides() {
    let mut n = Net::new(2);
    n.start(A, B, 7, false);
    n.settle();
    n.advance(Millis::from_millis(RING_MS.as_millis() - 1));
    assert_eq!(n.sides[A].phase(), CallPhase::Outgoing);
    assert_eq!(n.sides[B].phase(), CallPhase::Incoming);
    n.advance(Millis::from_millis(1));
    assert_eq!(n.sides[A].ended(), (HangupReason::Unanswered, None));
    assert_eq!(hangups(&n.sides[A]), [HangupReason::Unanswered]);
    assert_eq!(n.sides[A].stopped, [[7; 16]]);
    assert_eq!(n.sides[B].phase(), CallPhase::Ended);
    assert!(!n.sides[B].ringing);

    // A callee that is offline never answers: the caller still gives up.
    let mut n = Net::new(2);
    n.dropped.push(n.dev(B));
    n.start(A, B, 8, false);
    n.settle();
    n.advance(RING_MS);
    assert_eq!(n.sides[A].ended(), (HangupReason::Unanswered, None));
    assert_eq!(n.sides[B].phase(), CallPhase::Idle);
}

#[test]
fn a_second_call_while_in_a_call_is_answered_busy() {
    for ringing in [true, false] {
        let mut n = Net::new(3);
        n.start(A, B, 7, false);
        n.settle();
        if !ringing {
            n.act(B, CallMachine::accept);
            n.settle();
        }
        let before = n.sides[B].m.view();
        n.start(C, B, 9, true);
        n.settle();
        assert_eq!(n.sides[C].ended(), (HangupReason::Busy, None));
        assert_eq!(n.sides[C].media, None);
        assert_eq!(n.sides[B].m.view(), before, "the running call is untouched");
        assert_eq!(hangups(&n.sides[B]), [HangupReason::Busy]);
        // The caller of the running call cannot start a second one either.
        n.start(A, C, 10, false);
        assert_eq!(n.sides[A].call(), Some([7; 16]));
    }
}

#[test]
fn glare_leaves_exactly_one_call_that_both_sides_agree_on() {
    for (a_id, b_id) in [(3u8, 5u8), (5, 3)] {
        let mut n = Net::new(2);
        // Both call before either offer arrives.
        n.start(A, B, a_id, true);
        n.start(B, A, b_id, false);
        n.browse(A);
        n.browse(B);
        assert_eq!(
            n.wire.len(),
            8,
            "both offers and their candidates in flight"
        );
        n.settle();
        let (win, lose, id) = if a_id < b_id {
            (A, B, a_id)
        } else {
            (B, A, b_id)
        };
        assert_eq!(n.sides[win].call(), Some([id; 16]));
        assert_eq!(n.sides[lose].call(), Some([id; 16]));
        assert_eq!(n.sides[win].phase(), CallPhase::Outgoing);
        assert_eq!(n.sides[lose].phase(), CallPhase::Incoming);
        assert!(n.sides[lose].ringing);
        let lost = if a_id < b_id { b_id } else { a_id };
        assert_eq!(
            n.sides[lose].stopped,
            [[lost; 16]],
            "the losing call's media is released"
        );
        assert!(hangups(&n.sides[A]).is_empty() && hangups(&n.sides[B]).is_empty());

        n.act(lose, CallMachine::accept);
        n.settle();
        n.conn(A, ConnectionState::Connected);
        n.conn(B, ConnectionState::Connected);
        for s in &n.sides {
            assert_eq!(s.phase(), CallPhase::Connected);
            assert_eq!(s.call(), Some([id; 16]));
            assert_eq!(s.media, Some([id; 16]));
        }
    }
}

#[test]
fn only_the_caller_restarts_ice_and_only_up_to_the_limit() {
    let mut n = Net::connected(false);
    // Both see the drop; only the caller makes a restart offer, the callee answers it.
    n.conn(A, ConnectionState::Disconnected);
    n.conn(B, ConnectionState::Disconnected);
    n.settle();
    assert_eq!(n.sides[A].phase(), CallPhase::Reconnecting);
    assert_eq!(n.sides[B].phase(), CallPhase::Reconnecting);
    assert_eq!(n.sides[A].restart_offers(), 1);
    assert_eq!(
        n.sides[B].count(|a| matches!(a, CallAction::CreateOffer { .. })),
        0
    );
    assert_eq!(
        n.sides[B].count(|a| matches!(a, CallAction::CreateAnswer { .. })),
        2
    );
    assert!(n.sides[B].log.iter().any(|a| matches!(
        a,
        CallAction::SetRemote {
            kind: SdpKind::Offer,
            ..
        }
    )));
    // A second drop report during the restart does not start another.
    n.conn(A, ConnectionState::Failed);
    assert_eq!(n.sides[A].restart_offers(), 1);
    n.conn(A, ConnectionState::Connected);
    n.conn(B, ConnectionState::Connected);
    assert_eq!(n.sides[A].phase(), CallPhase::Connected);
    assert_eq!(n.sides[A].deadline, None);
    assert_eq!(
        n.sides[A].m.view().connected_at,
        Some(T0),
        "the call's duration runs on"
    );

    // The callee alone losing the connection only waits for the caller.
    n.conn(B, ConnectionState::Failed);
    n.settle();
    assert_eq!(n.sides[B].phase(), CallPhase::Reconnecting);
    assert_eq!(
        n.sides[B].count(|a| matches!(a, CallAction::CreateOffer { .. })),
        0
    );
    n.conn(B, ConnectionState::Connected);

    // Never reconnecting: one restart per period, then the call fails on both sides.
    n.conn(A, ConnectionState::Failed);
    n.settle();
    for k in 1..MAX_ICE_RESTARTS {
        n.advance(RESTART_MS);
        assert_eq!(n.sides[A].restart_offers(), 1 + 1 + k as usize);
        assert_eq!(n.sides[A].phase(), CallPhase::Reconnecting);
    }
    assert_eq!(n.sides[A].restart_offers(), 1 + MAX_ICE_RESTARTS as usize);
    n.advance(RESTART_MS);
    assert_eq!(n.sides[A].restart_offers(), 1 + MAX_ICE_RESTARTS as usize);
    for s in &n.sides {
        assert_eq!(s.ended(), (HangupReason::Failed, None));
        assert_eq!(s.media, None);
    }
    assert_eq!(hangups(&n.sides[A]), [HangupReason::Failed]);
}

#[test]
fn the_callee_gives_up_when_the_caller_never_repairs() {
    let mut n = Net::connected(true);
    n.dropped.push(n.dev(A));
    n.sides.swap(0, 1);
    // Side 0 is now B, the callee; A is gone (no restart ever comes).
    n.conn(0, ConnectionState::Disconnected);
    n.advance(Millis::from_millis(CALLEE_RECONNECT_MS.as_millis() - 1));
    assert_eq!(n.sides[0].phase(), CallPhase::Reconnecting);
    n.advance(Millis::from_millis(1));
    assert_eq!(n.sides[0].phase(), CallPhase::Ended);
    assert_eq!(hangups(&n.sides[0]), [HangupReason::Failed]);
    assert_eq!(n.sides[0].restart_offers(), 0);
}

#[test]
fn hanging_up_during_set_up_ends_both_sides_with_the_reason() {
    // The caller gives up while B rings.
    let mut n = Net::new(2);
    n.start(A, B, 7, false);
    n.settle();
    n.act(A, CallMachine::hang_up);
    n.settle();
    assert_eq!(n.sides[B].ended(), (HangupReason::Ended, None));
    assert!(!n.sides[B].ringing);
    assert_eq!(n.sides[B].deadline, None);

    // The callee declines.
    let mut n = Net::new(2);
    n.start(A, B, 7, false);
    n.settle();
    n.act(B, CallMachine::decline);
    n.settle();
    assert_eq!(n.sides[A].ended(), (HangupReason::Declined, None));
    assert_eq!(n.sides[B].ended(), (HangupReason::Declined, None));
    assert_eq!(n.sides[A].media, None);

    // The caller hangs up while the callee's media is still being set up:
    // the media that arrives late is not used.
    let mut n = Net::new(2);
    n.start(A, B, 7, false);
    n.settle();
    n.act(B, CallMachine::accept);
    n.act(A, CallMachine::hang_up);
    while n.deliver_one() {}
    assert_eq!(n.sides[B].ended(), (HangupReason::Ended, None));
    assert_eq!(n.sides[B].stopped, [[7; 16]]);
    n.settle();
    assert_eq!(n.sides[B].media, None);
    assert_eq!(
        n.sides[B].count(|a| matches!(a, CallAction::SetRemote { .. })),
        0
    );
    assert!(n.wire.is_empty(), "no answer for an ended call");

    // A local failure (camera refused) ends both, with the detail here.
    let mut n = Net::new(2);
    n.start(A, B, 7, true);
    n.act(A, |m, now| m.failure(now, [7; 16], "camera refused".into()));
    n.settle();
    assert_eq!(
        n.sides[A].ended(),
        (HangupReason::Failed, Some("camera refused".into()))
    );
    assert_eq!(
        n.sides[B].phase(),
        CallPhase::Idle,
        "the offer never went out"
    );
}

#[test]
fn stale_and_foreign_signals_are_ignored() {
    let mut n = Net::new(3);
    let (a, c) = (n.dev(A), n.dev(C));
    let offer = |sdp: &str| CallKind::Offer {
        sdp: sdp.into(),
        video: false,
        restart: false,
    };
    // Too old: no ring.
    let now = n.now;
    n.inject(
        a,
        B,
        [1; 16],
        now.saturating_sub(MAX_SIGNAL_AGE_MS)
            .saturating_sub(Millis::from_millis(1)),
        offer("old"),
    );
    assert_eq!(n.sides[B].phase(), CallPhase::Idle);
    n.inject(
        a,
        B,
        [1; 16],
        now.saturating_sub(MAX_SIGNAL_AGE_MS),
        offer("just in time"),
    );
    assert_eq!(n.sides[B].phase(), CallPhase::Incoming);
    n.act(B, CallMachine::hang_up);
    n.wire.clear();

    n.start(A, B, 7, false);
    n.settle();
    n.act(B, CallMachine::accept);
    n.settle();
    let before = n.sides[B].log.len();
    let hangup = CallKind::Hangup {
        reason: HangupReason::Ended,
    };
    let cand = CallKind::Candidate {
        candidate: "x".into(),
        sdp_mid: None,
        sdp_mline_index: None,
    };
    // Unknown call id.
    n.inject(a, B, [8; 16], now, hangup.clone());
    n.inject(a, B, [8; 16], now, cand.clone());
    n.inject(a, B, [8; 16], now, CallKind::Answer { sdp: "x".into() });
    // The right call id from another device.
    n.inject(c, B, [7; 16], now, hangup.clone());
    n.inject(c, B, [7; 16], now, cand.clone());
    // An answer to the callee, an answer the caller is not waiting for.
    n.inject(a, B, [7; 16], now, CallKind::Answer { sdp: "x".into() });
    n.inject(
        n.dev(B),
        A,
        [7; 16],
        now,
        CallKind::Answer { sdp: "x".into() },
    );
    // The same offer again.
    n.inject(a, B, [7; 16], now, offer("again"));
    assert_eq!(
        n.sides[B].log.len(),
        before,
        "{:?}",
        &n.sides[B].log[before..]
    );
    assert_eq!(n.sides[B].phase(), CallPhase::Connecting);
    assert_eq!(
        n.sides[A].count(|a| matches!(a, CallAction::SetRemote { .. })),
        1
    );

    // After the end: late signals of the call change nothing, not even
    // the offer that started it.
    n.act(A, CallMachine::hang_up);
    n.settle();
    let before = n.sides[B].log.len();
    n.inject(a, B, [7; 16], now, offer("replayed"));
    n.inject(a, B, [7; 16], now, cand);
    n.inject(a, B, [7; 16], now, hangup);
    assert_eq!(n.sides[B].log.len(), before);
    assert_eq!(n.sides[B].ended(), (HangupReason::Ended, None));

    // Browser events of the ended call, once another call runs.
    n.start(B, A, 9, false);
    let before = n.sides[B].log.len();
    n.act(B, |m, now| {
        m.connection_state(now, [7; 16], ConnectionState::Connected)
    });
    n.act(B, |m, now| {
        m.connection_state(now, [7; 16], ConnectionState::Failed)
    });
    n.act(B, |m, now| m.remote_applied(now, [7; 16]));
    n.act(B, |m, now| m.local_description(now, [7; 16], "x".into()));
    n.act(B, |m, now| m.media_ready(now, [7; 16]));
    n.act(B, |m, now| m.failure(now, [7; 16], "late".into()));
    assert_eq!(n.sides[B].log.len(), before);
    assert_eq!(n.sides[B].phase(), CallPhase::Outgoing);
}

#[test]
fn quality_applies_when_connected_and_when_changed() {
    let mut n = Net::new(2);
    n.act(A, |m, _| m.set_quality(Quality::Low));
    assert!(n.sides[A].log.is_empty(), "no call, nothing to apply");
    n.start(A, B, 7, true);
    n.settle();
    n.act(B, CallMachine::accept);
    n.settle();
    n.conn(A, ConnectionState::Connected);
    let low = CallAction::ApplyQuality {
        call: [7; 16],
        quality: Quality::Low,
    };
    assert!(n.sides[A].log.contains(&low));
    n.act(A, |m, _| m.set_quality(Quality::High));
    assert_eq!(
        n.sides[A].log.last(),
        Some(&CallAction::ApplyQuality {
            call: [7; 16],
            quality: Quality::High
        })
    );
    assert_eq!(n.sides[A].m.view().quality, Quality::High);
}

/// Call ids come from the caller's generator (glare compares them).
#[test]
fn call_ids_are_random() {
    let rng = &mut parley_shared::crypto::os_rng();
    let (a, b) = (
        parley_shared::engine::call::new_call_id(rng),
        parley_shared::engine::call::new_call_id(rng),
    );
    assert_ne!(a, b);
    assert_ne!(a, [0; 16]);
}
