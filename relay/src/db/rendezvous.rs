//! Pairing rendezvous slots.

use diesel::prelude::*;
use parley_shared::protocol::rendezvous::{Message, PIN_SLOTS};

use super::schema::rendezvous;
use super::{Store, StoreError, is_constraint_violation};

/// Outcome of writing a slot message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Put {
    /// Written.
    Written,
    /// No live slot with that id.
    NotFound,
    /// The caller may not write this message.
    Forbidden,
    /// The message was already written (messages are write-once).
    AlreadyWritten,
    /// Another device already claimed the slot.
    AlreadyClaimed,
}

/// Outcome of creating a slot.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Created {
    /// Created, with its PIN slot number when one was asked for.
    Slot(Option<u16>),
    /// Every PIN slot number is in use; the first one frees up at
    /// `next_free_at` (Unix ms).
    NoFreePin {
        /// When the soonest-expiring PIN slot ends, Unix ms.
        next_free_at: i64,
    },
}

/// Rounds of "pick a free number, insert" before giving up: only a
/// concurrent writer taking the picked number (PostgreSQL) costs a round.
const PIN_ROUNDS: usize = 8;

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

type Row = (
    Vec<u8>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
    Option<Vec<u8>>,
);

impl Store {
    /// Creates a slot; with `pin`, also allocates a free slot number, picked
    /// at random among the free ones (so a nearly full space still finds one).
    pub fn create_rendezvous(
        &self,
        id: &[u8],
        owner: &[u8],
        pin: bool,
        now: i64,
        expires_at: i64,
        mut pick: impl FnMut() -> u16,
    ) -> Result<Created, StoreError> {
        let (_write, mut conn) = self.writer()?;
        // Expired slots give their PIN numbers back.
        diesel::delete(rendezvous::table.filter(rendezvous::expires_at.le(now)))
            .execute(&mut conn)?;
        for _ in 0..PIN_ROUNDS {
            let slot = if pin {
                let free = Self::free_pin_slots(&mut conn)?;
                if free.is_empty() {
                    let next: Option<i64> = rendezvous::table
                        .filter(rendezvous::pin_slot.is_not_null())
                        .select(diesel::dsl::min(rendezvous::expires_at))
                        .first(&mut conn)?;
                    return Ok(Created::NoFreePin {
                        next_free_at: next.unwrap_or(now),
                    });
                }
                Some(free[usize::from(pick()) % free.len()])
            } else {
                None
            };
            let inserted = diesel::insert_into(rendezvous::table)
                .values((
                    rendezvous::id.eq(id),
                    rendezvous::owner.eq(owner),
                    rendezvous::pin_slot.eq(slot.map(i32::from)),
                    rendezvous::created_at.eq(now),
                    rendezvous::expires_at.eq(expires_at),
                ))
                .execute(&mut conn);
            match inserted {
                Ok(_) => return Ok(Created::Slot(slot)),
                Err(e) => {
                    let e = StoreError::from(e);
                    if !(pin && is_constraint_violation(&e)) {
                        return Err(e);
                    }
                }
            }
        }
        // Every round lost its number to a concurrent writer: as good as
        // full for this request; the caller may retry in a second.
        Ok(Created::NoFreePin {
            next_free_at: now + 1000,
        })
    }

    /// PIN slot numbers no live slot holds (expired ones were just deleted).
    fn free_pin_slots(c: &mut super::DbConnection) -> QueryResult<Vec<u16>> {
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

    /// The live slot with this PIN number.
    pub fn rendezvous_by_pin(
        &self,
        slot: u16,
        now: i64,
    ) -> Result<Option<(Vec<u8>, i64)>, StoreError> {
        let mut c = self.conn()?;
        Ok(rendezvous::table
            .filter(rendezvous::pin_slot.eq(i32::from(slot)))
            .filter(rendezvous::expires_at.gt(now))
            .select((rendezvous::id, rendezvous::expires_at))
            .first(&mut c)
            .optional()?)
    }

    fn live_row(c: &mut super::DbConnection, id: &[u8], now: i64) -> QueryResult<Option<Row>> {
        rendezvous::table
            .filter(rendezvous::id.eq(id))
            .filter(rendezvous::expires_at.gt(now))
            .select((
                rendezvous::owner,
                rendezvous::claimant,
                rendezvous::msg_a1,
                rendezvous::msg_a2,
                rendezvous::msg_b,
            ))
            .first(c)
            .optional()
    }

    /// Writes a message: `a1`/`a2` by the owner, `b` by the first other
    /// device, which thereby claims the slot. Write-once.
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
            let Some((owner, claimant, a1, a2, b)) = Self::live_row(c, id, now)? else {
                return Ok(Put::NotFound);
            };
            let target = rendezvous::table.filter(rendezvous::id.eq(id));
            match msg {
                Message::A1 | Message::A2 => {
                    if owner != device {
                        return Ok(Put::Forbidden);
                    }
                    let (current, n) = if msg == Message::A1 {
                        (
                            a1,
                            diesel::update(target.filter(rendezvous::msg_a1.is_null()))
                                .set(rendezvous::msg_a1.eq(bytes))
                                .execute(c)?,
                        )
                    } else {
                        (
                            a2,
                            diesel::update(target.filter(rendezvous::msg_a2.is_null()))
                                .set(rendezvous::msg_a2.eq(bytes))
                                .execute(c)?,
                        )
                    };
                    Ok(if current.is_some() || n == 0 {
                        Put::AlreadyWritten
                    } else {
                        Put::Written
                    })
                }
                Message::B => {
                    if owner == device {
                        return Ok(Put::Forbidden);
                    }
                    if claimant.as_deref().is_some_and(|c| c != device) {
                        return Ok(Put::AlreadyClaimed);
                    }
                    if b.is_some() {
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
        let Some((owner, claimant, a1, a2, b)) = Self::live_row(&mut c, id, now)? else {
            return Ok(Get::NotFound);
        };
        let (allowed, value) = match msg {
            Message::A1 => (true, a1),
            Message::A2 => (claimant.as_deref() == Some(device), a2),
            Message::B => (owner == device, b),
        };
        Ok(match (allowed, value) {
            (false, _) => Get::Forbidden,
            (true, Some(v)) => Get::Found(v),
            (true, None) => Get::Empty,
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

    /// Deletes expired slots.
    pub fn sweep_rendezvous(&self, now: i64) -> Result<usize, StoreError> {
        let (_write, mut c) = self.writer()?;
        Ok(
            diesel::delete(rendezvous::table.filter(rendezvous::expires_at.le(now)))
                .execute(&mut c)?,
        )
    }
}
