//! Pairing rendezvous slots (ADR 0010): at most a few open slots per owner,
//! PIN numbers only for slots that show a PIN, and failed claims rejected by
//! the owner without closing the slot, up to a limit.

use diesel::prelude::*;
use parley_shared::protocol::rendezvous::{Message, PIN_SLOTS};

use super::schema::rendezvous;
use super::{DbConnection, Store, StoreError, is_constraint_violation, lock_device};

/// Tries (each among the numbers free at that moment) before giving up: only
/// concurrent writers taking the chosen number make a try fail.
const PIN_TRIES: usize = 8;

/// Outcome of creating a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Created, with its PIN number when one was asked for.
    Slot(Option<u16>),
    /// The owner already has its maximum of open slots.
    TooMany,
    /// No free PIN number (nothing was created).
    NoFreePin,
}

/// Outcome of giving a slot a PIN number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinAssigned {
    /// The slot's number (the one it had, if it had one) and its expiry (Unix ms).
    Number(u16, i64),
    /// No open slot with that id owned by the caller.
    NotFound,
    /// No free PIN number.
    NoFree,
}

/// Outcome of writing a slot message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written.
    Written,
    /// No live slot with that id (or it completed with another device).
    NotFound,
    /// The caller may not write this message.
    Forbidden,
    /// The message was already written (messages are write-once).
    AlreadyWritten,
    /// Another device's reply is being checked.
    AlreadyClaimed,
}

/// Outcome of reading a slot message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Get {
    /// The message.
    Found(Vec<u8>),
    /// Not written yet.
    Empty,
    /// No live slot with that id.
    NotFound,
    /// The caller may not read this message.
    Forbidden,
}

/// Outcome of the owner rejecting the current claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rejection {
    /// The claim is gone; the slot takes this many more replies.
    Open(u8),
    /// That was the last allowed failure: the slot is deleted.
    Closed,
    /// No live slot with that id owned by the caller.
    NotFound,
    /// Nothing to reject: no reply waiting, or the pairing completed.
    NoClaim,
}

/// A slot to create.
#[derive(Debug, Clone, Copy)]
pub struct NewSlot<'a> {
    /// 16 random bytes.
    pub id: &'a [u8],
    /// The inviting device.
    pub owner: &'a [u8],
    /// Give it a PIN number at once.
    pub pin: bool,
    /// Unix ms.
    pub now: i64,
    /// Unix ms.
    pub expires_at: i64,
}

#[derive(Queryable)]
struct Row {
    owner: Vec<u8>,
    claimant: Option<Vec<u8>>,
    a1: Option<Vec<u8>>,
    a2: Option<Vec<u8>>,
    b: Option<Vec<u8>>,
    pin_slot: Option<i32>,
    failed_claims: i32,
    expires_at: i64,
}

fn live_row(c: &mut DbConnection, id: &[u8], now: i64) -> QueryResult<Option<Row>> {
    rendezvous::table
        .filter(rendezvous::id.eq(id))
        .filter(rendezvous::expires_at.gt(now))
        .select((
            rendezvous::owner,
            rendezvous::claimant,
            rendezvous::msg_a1,
            rendezvous::msg_a2,
            rendezvous::msg_b,
            rendezvous::pin_slot,
            rendezvous::failed_claims,
            rendezvous::expires_at,
        ))
        .first(c)
        .optional()
}

/// Runs `attempt(c, n)` with a PIN number picked at random among the free
/// ones (so a nearly full space still finds one) until one sticks. Each try
/// runs in a savepoint, so a number a concurrent writer took meanwhile
/// (unique violation) does not abort the caller's transaction on PostgreSQL.
fn with_free_pin(
    c: &mut DbConnection,
    pick: &mut impl FnMut() -> u16,
    mut attempt: impl FnMut(&mut DbConnection, i32) -> QueryResult<usize>,
) -> Result<Option<u16>, StoreError> {
    for _ in 0..PIN_TRIES {
        let free = free_pin_numbers(c)?;
        if free.is_empty() {
            return Ok(None);
        }
        let n = free[usize::from(pick()) % free.len()];
        match c.transaction(|c| attempt(c, i32::from(n))) {
            Ok(_) => return Ok(Some(n)),
            Err(e) => {
                let e = StoreError::from(e);
                if !is_constraint_violation(&e) {
                    return Err(e);
                }
            }
        }
    }
    Ok(None)
}

/// PIN numbers no live slot holds (expired slots were just deleted).
fn free_pin_numbers(c: &mut DbConnection) -> QueryResult<Vec<u16>> {
    let taken: Vec<Option<i32>> = rendezvous::table
        .filter(rendezvous::pin_slot.is_not_null())
        .select(rendezvous::pin_slot)
        .load(c)?;
    let mut used = vec![false; usize::from(PIN_SLOTS)];
    for n in taken.into_iter().flatten() {
        if let Some(u) = usize::try_from(n).ok().and_then(|n| used.get_mut(n)) {
            *u = true;
        }
    }
    Ok((0..PIN_SLOTS).filter(|&n| !used[usize::from(n)]).collect())
}

impl Store {
    /// Creates a slot unless its owner already has `max_open` open
    /// (unexpired, not completed) ones; with `pin`, also gives it a free PIN
    /// number.
    pub fn create_rendezvous(
        &self,
        slot: &NewSlot<'_>,
        max_open: u32,
        mut pick: impl FnMut() -> u16,
    ) -> Result<Created, StoreError> {
        let NewSlot {
            id,
            owner,
            pin,
            now,
            expires_at,
        } = *slot;
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            lock_device(c, owner)?;
            // Expired slots give their PIN numbers back.
            diesel::delete(rendezvous::table.filter(rendezvous::expires_at.le(now))).execute(c)?;
            let open: i64 = rendezvous::table
                .filter(rendezvous::owner.eq(owner))
                .filter(rendezvous::msg_a2.is_null())
                .count()
                .get_result(c)?;
            if open >= i64::from(max_open) {
                return Ok(Created::TooMany);
            }
            let insert = |c: &mut DbConnection, pin_slot: Option<i32>| {
                diesel::insert_into(rendezvous::table)
                    .values((
                        rendezvous::id.eq(id),
                        rendezvous::owner.eq(owner),
                        rendezvous::pin_slot.eq(pin_slot),
                        rendezvous::created_at.eq(now),
                        rendezvous::expires_at.eq(expires_at),
                    ))
                    .execute(c)
            };
            if !pin {
                insert(c, None)?;
                return Ok(Created::Slot(None));
            }
            Ok(with_free_pin(c, &mut pick, |c, n| insert(c, Some(n)))?
                .map_or(Created::NoFreePin, |n| Created::Slot(Some(n))))
        })
    }

    /// Gives the owner's open slot `id` a PIN number (the one it has, if any).
    pub fn assign_pin(
        &self,
        id: &[u8],
        owner: &[u8],
        now: i64,
        mut pick: impl FnMut() -> u16,
    ) -> Result<PinAssigned, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let row = match live_row(c, id, now)? {
                Some(r) if r.owner == owner && r.a2.is_none() => r,
                _ => return Ok(PinAssigned::NotFound),
            };
            if let Some(n) = row.pin_slot.and_then(|n| u16::try_from(n).ok()) {
                return Ok(PinAssigned::Number(n, row.expires_at));
            }
            diesel::delete(rendezvous::table.filter(rendezvous::expires_at.le(now))).execute(c)?;
            let set = |c: &mut DbConnection, n: i32| {
                diesel::update(rendezvous::table.filter(rendezvous::id.eq(id)))
                    .set(rendezvous::pin_slot.eq(n))
                    .execute(c)
            };
            Ok(
                with_free_pin(c, &mut pick, set)?.map_or(PinAssigned::NoFree, |n| {
                    PinAssigned::Number(n, row.expires_at)
                }),
            )
        })
    }

    /// The open slot with this PIN number.
    pub fn rendezvous_by_pin(
        &self,
        slot: u16,
        now: i64,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let mut c = self.conn()?;
        Ok(rendezvous::table
            .filter(rendezvous::pin_slot.eq(i32::from(slot)))
            .filter(rendezvous::expires_at.gt(now))
            .filter(rendezvous::msg_a2.is_null())
            .select((rendezvous::id, rendezvous::expires_at))
            .first(&mut c)
            .optional()?)
    }

    /// Writes a message: `a1`/`a2` by the owner, `b` by another device, which
    /// thereby claims the slot until the owner answers or rejects it.
    /// Write-once; writing `a2` completes the pairing and frees the PIN number.
    pub fn rendezvous_put(
        &self,
        id: &[u8],
        device: &[u8],
        msg: Message,
        bytes: &[u8],
        now: i64,
    ) -> Result<Put, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let Some(row) = live_row(c, id, now)? else {
                return Ok(Put::NotFound);
            };
            let target = rendezvous::table.filter(rendezvous::id.eq(id));
            match msg {
                Message::A1 | Message::A2 => {
                    if row.owner != device {
                        return Ok(Put::Forbidden);
                    }
                    let n = if msg == Message::A1 {
                        if row.a1.is_some() {
                            return Ok(Put::AlreadyWritten);
                        }
                        diesel::update(target.filter(rendezvous::msg_a1.is_null()))
                            .set(rendezvous::msg_a1.eq(bytes))
                            .execute(c)?
                    } else {
                        if row.a2.is_some() {
                            return Ok(Put::AlreadyWritten);
                        }
                        diesel::update(target.filter(rendezvous::msg_a2.is_null()))
                            .set((
                                rendezvous::msg_a2.eq(bytes),
                                rendezvous::pin_slot.eq(None::<i32>),
                            ))
                            .execute(c)?
                    };
                    Ok(if n == 0 {
                        Put::AlreadyWritten
                    } else {
                        Put::Written
                    })
                }
                Message::B => {
                    if row.owner == device {
                        return Ok(Put::Forbidden);
                    }
                    let mine = row.claimant.as_deref() == Some(device);
                    if row.a2.is_some() && !mine {
                        // Used: to anyone else it is gone, as after expiry.
                        return Ok(Put::NotFound);
                    }
                    if row.claimant.is_some() && !mine {
                        return Ok(Put::AlreadyClaimed);
                    }
                    if row.b.is_some() {
                        return Ok(Put::AlreadyWritten);
                    }
                    // The claim and the write are one conditional update.
                    let n = diesel::update(
                        target
                            .filter(rendezvous::claimant.is_null())
                            .filter(rendezvous::msg_b.is_null()),
                    )
                    .set((rendezvous::claimant.eq(device), rendezvous::msg_b.eq(bytes)))
                    .execute(c)?;
                    Ok(if n == 1 {
                        Put::Written
                    } else {
                        Put::AlreadyClaimed
                    })
                }
            }
        })
    }

    /// Reads a message: `a1` by any device, `a2` by the claimant, `b` by the owner.
    pub fn rendezvous_get(
        &self,
        id: &[u8],
        device: &[u8],
        msg: Message,
        now: i64,
    ) -> Result<Get, StoreError> {
        let mut c = self.conn()?;
        let Some(row) = live_row(&mut c, id, now)? else {
            return Ok(Get::NotFound);
        };
        let (allowed, value) = match msg {
            Message::A1 => (true, row.a1),
            Message::A2 => (row.claimant.as_deref() == Some(device), row.a2),
            Message::B => (row.owner == device, row.b),
        };
        Ok(match (allowed, value) {
            (false, _) => Get::Forbidden,
            (true, Some(v)) => Get::Found(v),
            (true, None) => Get::Empty,
        })
    }

    /// The owner rejects the reply waiting in the slot: the claimant and `b`
    /// are cleared, `a1` is replaced by `next_a1` when given (the PIN's fresh
    /// SPAKE2 message), and the failure is counted; the `max_attempts`-th
    /// failure deletes the slot.
    pub fn reject_claim(
        &self,
        id: &[u8],
        owner: &[u8],
        next_a1: Option<&[u8]>,
        now: i64,
        max_attempts: u8,
    ) -> Result<Rejection, StoreError> {
        let (_write, mut conn) = self.writer()?;
        conn.transaction(|c| {
            let row = match live_row(c, id, now)? {
                Some(r) if r.owner == owner => r,
                _ => return Ok(Rejection::NotFound),
            };
            let Some(claimant) = row.claimant.filter(|_| row.b.is_some() && row.a2.is_none())
            else {
                return Ok(Rejection::NoClaim);
            };
            let failed = row.failed_claims.saturating_add(1);
            // Only the claim that was read is rejected (a concurrent reject
            // of the same claim changes nothing): both statements are
            // conditional on the claimant and the count.
            let this_claim = rendezvous::table
                .filter(rendezvous::id.eq(id))
                .filter(rendezvous::claimant.eq(claimant))
                .filter(rendezvous::failed_claims.eq(row.failed_claims));
            if failed >= i32::from(max_attempts) {
                let n = diesel::delete(this_claim).execute(c)?;
                return Ok(if n == 1 {
                    Rejection::Closed
                } else {
                    Rejection::NoClaim
                });
            }
            let n = match next_a1 {
                Some(a1) => diesel::update(this_claim)
                    .set((
                        rendezvous::claimant.eq(None::<Vec<u8>>),
                        rendezvous::msg_b.eq(None::<Vec<u8>>),
                        rendezvous::failed_claims.eq(failed),
                        rendezvous::msg_a1.eq(a1),
                    ))
                    .execute(c)?,
                None => diesel::update(this_claim)
                    .set((
                        rendezvous::claimant.eq(None::<Vec<u8>>),
                        rendezvous::msg_b.eq(None::<Vec<u8>>),
                        rendezvous::failed_claims.eq(failed),
                    ))
                    .execute(c)?,
            };
            if n == 0 {
                return Ok(Rejection::NoClaim);
            }
            let left = i32::from(max_attempts) - failed;
            Ok(Rejection::Open(u8::try_from(left).unwrap_or(0)))
        })
    }

    /// Deletes a slot (owner only); true when it existed.
    pub fn delete_rendezvous(&self, id: &[u8], owner: &[u8]) -> Result<bool, StoreError> {
        let (_write, mut c) = self.writer()?;
        Ok(diesel::delete(
            rendezvous::table
                .filter(rendezvous::id.eq(id))
                .filter(rendezvous::owner.eq(owner)),
        )
        .execute(&mut c)?
            == 1)
    }

    /// Deletes every slot of `owner` (its invites in other tabs, or left
    /// behind by a closed page); returns how many there were.
    pub fn delete_owner_rendezvous(&self, owner: &[u8]) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        Ok(
            diesel::delete(rendezvous::table.filter(rendezvous::owner.eq(owner)))
                .execute(&mut c)?,
        )
    }

    /// Deletes expired slots.
    pub fn sweep_rendezvous(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        Ok(
            diesel::delete(rendezvous::table.filter(rendezvous::expires_at.le(now)))
                .execute(&mut c)?,
        )
    }
}
