//! Text built from typed values: lengths of time and the engine's
//! conversation notices.

use parley_shared::engine::model::{ListProblem, Notice};

use crate::tr;

/// The grammatical case of a length of time: Russian writes the label
/// `1 неделя` but `через 1 неделю` ("after 1 week").
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Case {
    /// On its own (a menu entry).
    Nominative,
    /// After "after" / "через".
    Accusative,
}

impl Case {
    fn name(self) -> &'static str {
        match self {
            Self::Nominative => "nominative",
            Self::Accusative => "accusative",
        }
    }
}

/// A setting's length of time in its largest whole unit: `30 seconds`,
/// `5 minutes`, `1 week`.
pub(crate) fn period(secs: u32, case: Case) -> String {
    let c = case.name();
    match secs {
        s if s != 0 && s % 604_800 == 0 => tr!("period-weeks", n = s / 604_800, case = c),
        s if s != 0 && s % 86_400 == 0 => tr!("period-days", n = s / 86_400, case = c),
        s if s != 0 && s % 3_600 == 0 => tr!("period-hours", n = s / 3_600, case = c),
        s if s != 0 && s % 60 == 0 => tr!("period-minutes", n = s / 60, case = c),
        s => tr!("period-seconds", n = s, case = c),
    }
}

/// Time left, in its two largest units: `23 h 59 min`, `6 d 23 h`, `45 s`.
pub(crate) fn duration(secs: u64) -> String {
    let parts = [
        (secs / 86_400, 0),
        (secs % 86_400 / 3_600, 1),
        (secs % 3_600 / 60, 2),
        (secs % 60, 3),
    ];
    let Some(first) = parts.iter().position(|(n, _)| *n > 0) else {
        return unit(0, 3);
    };
    parts[first..]
        .iter()
        .take(2)
        .filter(|(n, _)| *n > 0)
        .map(|&(n, u)| unit(n, u))
        .collect::<Vec<_>>()
        .join(" ")
}

fn unit(n: u64, which: u8) -> String {
    match which {
        0 => tr!("duration-days", n = n),
        1 => tr!("duration-hours", n = n),
        2 => tr!("duration-minutes", n = n),
        _ => tr!("duration-seconds", n = n),
    }
}

/// A conversation event, as the conversation shows it. The reasons inside
/// `Undecryptable` and `SendFailed` were stored as text by the engine and
/// are shown as they are.
pub(crate) fn notice(n: &Notice, peer: &str) -> String {
    let peer = peer.to_owned();
    match n {
        Notice::Paired => tr!("notice-paired", peer = peer),
        Notice::Timer { secs: None, by_me } => {
            if *by_me {
                tr!("notice-timer-off-me")
            } else {
                tr!("notice-timer-off-peer", peer = peer)
            }
        }
        Notice::Timer {
            secs: Some(s),
            by_me,
        } => {
            let period = period(*s, Case::Accusative);
            if *by_me {
                tr!("notice-timer-me", period = period)
            } else {
                tr!("notice-timer-peer", peer = peer, period = period)
            }
        }
        Notice::Undecryptable(why) => tr!("notice-undecryptable", peer = peer, why = why.clone()),
        Notice::SendFailed(why) => tr!("notice-send-failed", why = why.clone()),
        Notice::ForgedKeys => tr!("notice-forged-keys", peer = peer),
        Notice::IdentityChanged => tr!("notice-identity-changed", peer = peer),
        Notice::DevicesChanged { added, removed } => match (*added, *removed) {
            (0, r) => tr!("notice-devices-removed", peer = peer, count = r),
            (a, 0) => tr!("notice-devices-added", peer = peer, count = a),
            (a, r) => tr!(
                "notice-devices-changed",
                peer = peer,
                added = a,
                removed = r
            ),
        },
        Notice::DeviceListRefused(p) => match p {
            ListProblem::Forged => tr!("notice-device-list-forged", peer = peer),
            ListProblem::Rollback => tr!("notice-device-list-rollback", peer = peer),
            ListProblem::Equivocation => tr!("notice-device-list-equivocation", peer = peer),
        },
    }
}
