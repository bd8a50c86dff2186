//! Signals between relay nodes (ADR 0024).
//!
//! One relay process needs none: its hub sees every connection. Several
//! nodes on one database tell each other, per device, what a node holding
//! that device's connections must act on. Nothing here is needed for
//! durability: an envelope is in the database before any signal about it is
//! sent, and a connection that missed one finds the envelope on its next
//! mailbox poll or reconnect.

use actix_web::web::Bytes;
use parley_shared::protocol::ws::DeviceId;
use tokio::sync::mpsc;

use crate::mailbox::Ended;

pub mod redis;
pub mod shared_limit;
pub mod wire;

/// What one node tells the nodes holding a device's connections. The device
/// is the channel the signal is published on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Signal {
    /// A durable envelope for the device was committed: re-read its mailbox.
    /// The payload stays in the database.
    Wake,
    /// An ephemeral frame (a call signal, typing) for the device, as
    /// encoded for the client; it is never stored, so it travels whole.
    Frame(Bytes),
    /// `device` became visible (or invisible) to the channel's device.
    Presence {
        /// The device whose presence changed.
        device: DeviceId,
        /// Whether the channel's device may now see it online.
        online: bool,
    },
    /// `watcher` started watching the channel's device: a node where that
    /// device is visible to it answers with a `Presence`.
    Query {
        /// The device that asks.
        watcher: DeviceId,
    },
    /// End the device's connections (those of one token, or all).
    End {
        /// Why, which picks the close code.
        why: Ended,
        /// The revoked token's hash; `None`: every connection of the device.
        token: Option<[u8; 32]>,
    },
}

/// What the hub hands the bus.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Note {
    /// Publish `signal` on `to`'s channel.
    Publish {
        /// The channel's device.
        to: DeviceId,
        /// What to publish.
        signal: Signal,
    },
    /// The device's first connection on this node opened, or its last one
    /// closed: (un)subscribe its channel to match.
    Touch(DeviceId),
}

/// Where the hub's signals for other nodes go.
#[derive(Debug, Default, Clone)]
pub enum Remote {
    /// One relay process: there are no other nodes.
    #[default]
    Local,
    /// The Redis task ([`redis::spawn`]), which publishes in order.
    Redis(mpsc::UnboundedSender<Note>),
}

impl Remote {
    /// Hands `note` to the bus (nothing for a single node). Never blocks: a
    /// bus that is down drops what it cannot send (the mailbox poll covers it).
    pub fn send(&self, note: Note) {
        if let Self::Redis(tx) = self {
            let _ = tx.send(note);
        }
    }

    /// Publishes `signal` on `to`'s channel.
    pub fn publish(&self, to: DeviceId, signal: Signal) {
        self.send(Note::Publish { to, signal });
    }

    /// Whether other nodes may exist (presence queries are worth sending).
    pub fn is_shared(&self) -> bool {
        matches!(self, Self::Redis(_))
    }
}
