//! Group rooms (issue 15, ADR 0025): signed membership changes applied in
//! one order by every member, and Megolm sender keys (vodozemac) shared over
//! the pairwise sessions. Pure logic, no I/O: the engine stores, sends and
//! feeds back.

pub mod change;
mod error;
pub mod log;
pub mod message;
pub mod room;
pub mod sender_key;

pub use self::change::{ChangeHash, Invitee, Lifetime, Op, RoomId, SignedChange};
pub use self::error::GroupError;
pub use self::log::{Applied, Member, Outcome, Refusal, RoomLog, RoomState};
pub use self::message::GroupMessage;
pub use self::room::{Prepared, Room};
pub use self::sender_key::{InboundKey, OutboundKey, SenderKeyShare, SessionId};
