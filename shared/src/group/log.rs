//! A room's membership log: every verified change, and the room state every
//! member derives from it the same way (ADR 0025).
//!
//! The state is a function of the *set* of changes, not of their arrival
//! order: changes are sorted by (Lamport number, hash) — a linear extension
//! of the parent graph — and folded from the `Create`, each checked against
//! the state before it (is the author an admin, a member?). A change whose
//! parents are missing waits; a change that is not allowed at its place is
//! kept (later changes may name it) but changes nothing, and is reported
//! once so the app can say it was ignored.
#![deny(clippy::indexing_slicing)]

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::GroupError;
use super::change::{
    ChangeBody, ChangeHash, Invitee, Lifetime, MAX_MEMBERS, MAX_PARENTS, Op, RoomId, SignedChange,
};
use crate::crypto::account::{AccountId, AccountKeyPair, AccountPublic};
use crate::map::Map;
use crate::time::UnixMs;

/// Most changes one room's log holds.
pub const MAX_CHANGES: usize = 10_000;
/// Most changes held while their parents are missing.
pub const MAX_WAITING: usize = 512;

/// One member as the log says.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Member {
    /// Account key.
    pub account: AccountPublic,
    /// Display name given when added.
    pub name: String,
    /// May change the room.
    pub admin: bool,
    /// Lamport number of the change that added them (0: at creation).
    pub since: u64,
}

/// What every member derives from the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoomState {
    /// The room.
    pub id: RoomId,
    /// Its name.
    pub name: String,
    /// Its members, by account.
    pub members: BTreeMap<AccountId, Member>,
    /// When it ends by itself.
    pub lifetime: Lifetime,
    /// Disappearing-message timer (seconds).
    pub timer: Option<u32>,
    /// When it was created (creator's clock).
    pub created_at: UnixMs,
    /// The last change applied (the state's version).
    pub version: ChangeHash,
}

impl RoomState {
    /// Whether `account` is a member.
    pub fn is_member(&self, account: &AccountId) -> bool {
        self.members.contains_key(account)
    }

    /// Whether `account` is an admin.
    pub fn is_admin(&self, account: &AccountId) -> bool {
        self.members.get(account).is_some_and(|m| m.admin)
    }
}

/// Why a verified change changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, thiserror::Error)]
pub enum Refusal {
    /// Only admins may do this.
    #[error("only an admin may change the room")]
    NotAdmin,
    /// The author is not (or no longer) a member.
    #[error("the author is not a member")]
    NotMember,
    /// Added twice, or removing / promoting someone who is not a member.
    #[error("the change does not fit the member list")]
    Mismatch,
    /// The room is full.
    #[error("the room is full")]
    Full,
    /// A second `Create`.
    #[error("the room already exists")]
    SecondCreate,
}

/// A change applied or ignored, in log order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Applied {
    /// The change.
    pub hash: ChangeHash,
    /// Its author.
    pub author: AccountId,
    /// What it did.
    pub op: Op,
    /// `Some` when it changed nothing, and why.
    pub refused: Option<Refusal>,
}

/// What inserting changes did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Outcome {
    /// Changes that entered the log (now or released from waiting), in log
    /// order.
    pub new: Vec<Applied>,
    /// Members before and not after (their sender keys must go).
    pub gone: Vec<AccountId>,
    /// Members after and not before.
    pub joined: Vec<AccountId>,
    /// Changes waiting for parents.
    pub waiting: usize,
}

/// The log of one room.
#[derive(Debug, Clone)]
pub struct RoomLog {
    genesis: ChangeHash,
    changes: Map<ChangeHash, (SignedChange, ChangeBody)>,
    waiting: Map<ChangeHash, (SignedChange, ChangeBody)>,
    state: RoomState,
    refused: Map<ChangeHash, Refusal>,
}

/// The stored form: the signed changes (verified again on load).
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct StoredLog {
    changes: Vec<SignedChange>,
    waiting: Vec<SignedChange>,
}

impl RoomLog {
    /// A log from the room's `Create` change.
    pub fn new(create: &SignedChange) -> Result<Self, GroupError> {
        let body = create.verify()?;
        let state = genesis_state(&body, create.hash()).ok_or(GroupError::Malformed)?;
        let mut changes = Map::new();
        changes.insert(create.hash(), (create.clone(), body));
        Ok(Self {
            genesis: create.hash(),
            changes,
            waiting: Map::new(),
            state,
            refused: Map::new(),
        })
    }

    /// Creates a room: its id, the signed `Create` and the log.
    pub fn create(
        key: &AccountKeyPair,
        id: RoomId,
        name: String,
        creator_name: String,
        members: Vec<Invitee>,
        lifetime: Lifetime,
        now: UnixMs,
    ) -> Result<(Self, SignedChange), GroupError> {
        let body = ChangeBody {
            room: id,
            seq: 0,
            parents: Vec::new(),
            author: key.public(),
            at: now,
            op: Op::Create {
                name,
                creator_name,
                members,
                lifetime,
            },
        };
        let signed = body.sign(key)?;
        Ok((Self::new(&signed)?, signed))
    }

    /// The room's current state.
    pub fn state(&self) -> &RoomState {
        &self.state
    }

    /// The room's `Create`.
    pub fn genesis(&self) -> Option<&SignedChange> {
        self.changes.get(&self.genesis).map(|(s, _)| s)
    }

    /// Every change in log order (to bring a new member up to date).
    pub fn changes(&self) -> Vec<SignedChange> {
        self.ordered()
            .into_iter()
            .map(|(_, s, _)| s.clone())
            .collect()
    }

    /// Whether the log holds this change (applied, refused or waiting).
    pub fn knows(&self, hash: &ChangeHash) -> bool {
        self.changes.contains_key(hash) || self.waiting.contains_key(hash)
    }

    /// Signs a change on top of this log's heads. The caller inserts it
    /// (and sends it); nothing here checks it is allowed: the fold does.
    pub fn propose(
        &self,
        key: &AccountKeyPair,
        op: Op,
        now: UnixMs,
    ) -> Result<SignedChange, GroupError> {
        let mut heads: Vec<(u64, ChangeHash)> = self.heads();
        crate::sort::sort_by(&mut heads, |a, b| b.cmp(a));
        heads.truncate(MAX_PARENTS);
        let seq = heads.iter().map(|(s, _)| s + 1).max().unwrap_or(1);
        ChangeBody {
            room: self.state.id,
            seq,
            parents: heads.into_iter().map(|(_, h)| h).collect(),
            author: key.public(),
            at: now,
            op,
        }
        .sign(key)
    }

    /// Inserts changes (any order). Invalid signatures, other rooms and
    /// malformed changes are refused with an error and change nothing; the
    /// others enter the log, or wait for their parents.
    pub fn insert(&mut self, signed: &[SignedChange]) -> Result<Outcome, GroupError> {
        let mut verified = Vec::with_capacity(signed.len());
        for s in signed {
            let body = s.verify()?;
            if body.room != self.state.id {
                return Err(GroupError::WrongRoom);
            }
            if matches!(body.op, Op::Create { .. }) && s.hash() != self.genesis {
                return Err(GroupError::SecondCreate);
            }
            verified.push((s.clone(), body));
        }
        if self.changes.len() + self.waiting.len() + verified.len() > MAX_CHANGES + MAX_WAITING {
            return Err(GroupError::TooLarge);
        }
        let before = self.state.clone();
        let mut entered = BTreeSet::new();
        for (s, body) in verified {
            let h = s.hash();
            if !self.knows(&h) {
                self.waiting.insert(h, (s, body));
            }
        }
        // Release waiting changes whose parents are all in the log; a
        // change's seq must be exactly one above its highest parent.
        loop {
            let ready: Vec<ChangeHash> = self
                .waiting
                .iter()
                .filter(|(_, (_, b))| b.parents.iter().all(|p| self.changes.contains_key(p)))
                .map(|(h, _)| *h)
                .collect();
            if ready.is_empty() {
                break;
            }
            for h in ready {
                let Some((s, b)) = self.waiting.remove(&h) else {
                    continue;
                };
                let top = b
                    .parents
                    .iter()
                    .filter_map(|p| self.changes.get(p).map(|(_, pb)| pb.seq))
                    .max();
                if top.map(|t| t + 1) != Some(b.seq) {
                    return Err(GroupError::Malformed);
                }
                self.changes.insert(h, (s, b));
                entered.insert(h);
            }
        }
        if self.waiting.len() > MAX_WAITING {
            return Err(GroupError::TooLarge);
        }
        self.refold();
        let new = self
            .ordered()
            .into_iter()
            .filter(|(h, _, _)| entered.contains(h))
            .map(|(h, _, b)| Applied {
                hash: h,
                author: b.author.id(),
                op: b.op.clone(),
                refused: self.refused.get(&h).copied(),
            })
            .collect();
        let gone = before
            .members
            .keys()
            .filter(|a| !self.state.is_member(a))
            .copied()
            .collect();
        let joined = self
            .state
            .members
            .keys()
            .filter(|a| !before.is_member(a))
            .copied()
            .collect();
        Ok(Outcome {
            new,
            gone,
            joined,
            waiting: self.waiting.len(),
        })
    }

    /// The stored form.
    pub fn to_stored(&self) -> StoredLog {
        StoredLog {
            changes: self.changes(),
            waiting: self.waiting.values().map(|(s, _)| s.clone()).collect(),
        }
    }

    /// Rebuilds a log from [`Self::to_stored`] (verifying every signature again).
    pub fn from_stored(stored: &StoredLog) -> Result<Self, GroupError> {
        let create = stored.changes.first().ok_or(GroupError::Malformed)?;
        let mut log = Self::new(create)?;
        let rest: Vec<SignedChange> = stored
            .changes
            .iter()
            .skip(1)
            .chain(stored.waiting.iter())
            .cloned()
            .collect();
        log.insert(&rest)?;
        Ok(log)
    }

    fn heads(&self) -> Vec<(u64, ChangeHash)> {
        let named: BTreeSet<&ChangeHash> = self
            .changes
            .values()
            .flat_map(|(_, b)| b.parents.iter())
            .collect();
        self.changes
            .iter()
            .filter(|(h, _)| !named.contains(h))
            .map(|(h, (_, b))| (b.seq, *h))
            .collect()
    }

    fn ordered(&self) -> Vec<(ChangeHash, &SignedChange, &ChangeBody)> {
        let mut v: Vec<_> = self.changes.iter().map(|(h, (s, b))| (*h, s, b)).collect();
        // The standard sort here: this runs for every change a room applies.
        v.sort_by_key(|(h, _, b)| (b.seq, *h));
        v
    }

    /// Folds the whole log again from the `Create`.
    fn refold(&mut self) {
        let mut refused = Map::new();
        let mut state: Option<RoomState> = None;
        for (h, _, b) in self.ordered() {
            match state.as_mut() {
                None => state = genesis_state(b, h),
                Some(st) => match apply(st, b) {
                    Ok(()) => st.version = h,
                    Err(r) => {
                        refused.insert(h, r);
                    }
                },
            }
        }
        if let Some(st) = state {
            self.state = st;
        }
        self.refused = refused;
    }
}

fn genesis_state(b: &ChangeBody, hash: ChangeHash) -> Option<RoomState> {
    let Op::Create {
        name,
        creator_name,
        members,
        lifetime,
    } = &b.op
    else {
        return None;
    };
    let mut m = BTreeMap::new();
    m.insert(
        b.author.id(),
        Member {
            account: b.author,
            name: creator_name.clone(),
            admin: true,
            since: 0,
        },
    );
    for i in members {
        m.entry(i.account.id()).or_insert(Member {
            account: i.account,
            name: i.name.clone(),
            admin: false,
            since: 0,
        });
    }
    Some(RoomState {
        id: b.room,
        name: name.clone(),
        members: m,
        lifetime: *lifetime,
        timer: None,
        created_at: b.at,
        version: hash,
    })
}

/// One change against the state before it.
fn apply(st: &mut RoomState, b: &ChangeBody) -> Result<(), Refusal> {
    let author = b.author.id();
    if !st.is_member(&author) {
        return Err(Refusal::NotMember);
    }
    let admin = st.is_admin(&author);
    let need_admin = || {
        if admin {
            Ok(())
        } else {
            Err(Refusal::NotAdmin)
        }
    };
    match &b.op {
        Op::Create { .. } => return Err(Refusal::SecondCreate),
        Op::Add(i) => {
            need_admin()?;
            if st.is_member(&i.account.id()) {
                return Err(Refusal::Mismatch);
            }
            if st.members.len() >= MAX_MEMBERS {
                return Err(Refusal::Full);
            }
            st.members.insert(
                i.account.id(),
                Member {
                    account: i.account,
                    name: i.name.clone(),
                    admin: false,
                    since: b.seq,
                },
            );
        }
        Op::Remove(a) => {
            need_admin()?;
            if st.members.remove(a).is_none() {
                return Err(Refusal::Mismatch);
            }
        }
        Op::Leave => {
            st.members.remove(&author);
        }
        Op::Promote(a) => {
            need_admin()?;
            match st.members.get_mut(a) {
                Some(m) if !m.admin => m.admin = true,
                _ => return Err(Refusal::Mismatch),
            }
        }
        Op::Rename(n) => {
            need_admin()?;
            st.name = n.clone();
        }
        Op::SetLifetime(l) => {
            need_admin()?;
            st.lifetime = *l;
        }
        Op::SetTimer(t) => {
            need_admin()?;
            st.timer = *t;
        }
    }
    // A room never lacks an admin while it has members: the longest-standing
    // member (then the smallest account id) takes over, the same everywhere.
    if !st.members.values().any(|m| m.admin)
        && let Some(m) = st
            .members
            .values_mut()
            .min_by_key(|m| (m.since, m.account.id()))
    {
        m.admin = true;
    }
    Ok(())
}
