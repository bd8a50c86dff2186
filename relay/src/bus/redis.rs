//! The Redis side of the bus: one task per node publishes the hub's notes
//! and feeds the hub what other nodes published on the channels of the
//! devices connected here (one channel per device, subscribed while the
//! device has a connection on this node).
//!
//! Plain `PUBLISH`/`SUBSCRIBE`: the redis crate's async pub/sub has no
//! sharded variant outside its cluster client, and one Redis carries the
//! load of many nodes (ADR 0024). Pub/sub is at most once: a signal lost
//! while Redis is down or reconnecting is covered by the mailbox poll and by
//! the re-read every connection does once the bus is back.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures_util::StreamExt as _;
use parley_shared::protocol::ws::DeviceId;
use redis::aio::{MultiplexedConnection, PubSubSink};
use tokio::sync::mpsc;

use super::shared_limit::SharedLimits;
use super::wire::{self, channel, device_of};
use super::{Note, Remote};
use crate::config::{ConfigError, RedisUrl};
use crate::hub::Hub;

/// First pause before reconnecting; doubled per failure up to [`BACKOFF_MAX`].
const BACKOFF_MIN: Duration = Duration::from_millis(100);
const BACKOFF_MAX: Duration = Duration::from_secs(5);
/// Longest wait for Redis to accept a connection or answer a ping.
const TIMEOUT: Duration = Duration::from_secs(5);
/// A silent subscription is pinged this often, so a dead link is noticed.
const PING_EVERY: Duration = Duration::from_secs(10);
/// Most publishes sent in one pipeline.
const MAX_PIPELINE: usize = 256;

/// Why a session with Redis ended.
#[derive(Debug, thiserror::Error)]
pub enum BusError {
    /// A command or the connection failed.
    #[error("redis: {0}")]
    Redis(#[from] redis::RedisError),
    /// Redis did not answer in time.
    #[error("redis did not answer within {TIMEOUT:?}")]
    Timeout,
    /// The subscription connection closed.
    #[error("the subscription connection closed")]
    Closed,
}

/// The hub's handle, and what the task reads from it.
pub fn remote() -> (Remote, mpsc::UnboundedReceiver<Note>) {
    let (tx, rx) = mpsc::unbounded_channel();
    (Remote::Redis(tx), rx)
}

/// Starts the bus task on the current runtime. Only a malformed URL fails
/// here: an unreachable Redis is retried in the background (the node runs
/// meanwhile and delivers through the mailbox poll).
pub fn spawn(
    url: &RedisUrl,
    hub: Arc<Hub>,
    notes: mpsc::UnboundedReceiver<Note>,
    limits: Arc<SharedLimits>,
) -> Result<(), ConfigError> {
    let client = redis::Client::open(url.as_str())
        .map_err(|e| ConfigError::new("PARLEY_REDIS_URL", e.to_string()))?;
    let mut id = [0u8; 8];
    getrandom::fill(&mut id).map_err(|e| ConfigError::new("PARLEY_REDIS_URL", e.to_string()))?;
    let node = u64::from_be_bytes(id);
    actix_web::rt::spawn(run(client, hub, notes, node, limits));
    Ok(())
}

async fn run(
    client: redis::Client,
    hub: Arc<Hub>,
    mut notes: mpsc::UnboundedReceiver<Note>,
    node: u64,
    limits: Arc<SharedLimits>,
) {
    let mut backoff = BACKOFF_MIN;
    loop {
        let mut link = Link {
            hub: &hub,
            node,
            subscribed: HashSet::new(),
            limits: &limits,
        };
        let ended = link.session(&client, &mut notes, &mut backoff).await;
        limits.set(None);
        match ended {
            Ok(()) => return,
            Err(e) => {
                metrics::gauge!("parley_bus_connected").set(0.0);
                metrics::counter!("parley_bus_disconnects_total").increment(1);
                tracing::warn!(err = %e, retry_in = ?backoff, "lost Redis; delivering through the mailbox poll until it is back");
            }
        }
        // Down: what the hub hands over now cannot be sent; dropping it keeps
        // memory bounded, and the re-read on reconnect covers it.
        let pause = tokio::time::sleep(backoff);
        tokio::pin!(pause);
        loop {
            tokio::select! {
                () = &mut pause => break,
                note = notes.recv() => if note.is_none() { return },
            }
        }
        backoff = (backoff * 2).min(BACKOFF_MAX);
    }
}

/// One connected session's state.
struct Link<'a> {
    hub: &'a Hub,
    node: u64,
    subscribed: HashSet<DeviceId>,
    /// Given the publishing connection while it is up.
    limits: &'a SharedLimits,
}

async fn timed<T>(f: impl Future<Output = redis::RedisResult<T>>) -> Result<T, BusError> {
    Ok(tokio::time::timeout(TIMEOUT, f)
        .await
        .map_err(|_| BusError::Timeout)??)
}

impl Link<'_> {
    /// Runs until Redis fails (`Err`) or the hub is gone (`Ok`).
    async fn session(
        &mut self,
        client: &redis::Client,
        notes: &mut mpsc::UnboundedReceiver<Note>,
        backoff: &mut Duration,
    ) -> Result<(), BusError> {
        let (mut sink, mut stream) = timed(client.get_async_pubsub()).await?.split();
        let mut publisher = timed(client.get_multiplexed_async_connection()).await?;
        for device in self.hub.devices() {
            self.sync(&mut sink, device).await?;
        }
        *backoff = BACKOFF_MIN;
        self.limits.set(Some(publisher.clone()));
        metrics::gauge!("parley_bus_connected").set(1.0);
        tracing::info!("connected to Redis for wake-ups between relay nodes");
        // Whatever was published while this node was not listening.
        self.hub.resync_all();
        let mut ping = tokio::time::interval(PING_EVERY);
        ping.tick().await;
        loop {
            tokio::select! {
                note = notes.recv() => {
                    let Some(note) = note else { return Ok(()) };
                    self.flush(note, notes, &mut sink, &mut publisher).await?;
                }
                msg = stream.next() => {
                    let Some(msg) = msg else { return Err(BusError::Closed) };
                    self.apply(&msg);
                }
                _ = ping.tick() => {
                    // Subscribed, Redis answers an array, not "PONG": any answer will do.
                    timed(sink.ping::<redis::Value>()).await?;
                }
            }
        }
    }

    /// Sends `first` and whatever else is waiting: publishes in one
    /// pipeline, in the order the hub made them.
    async fn flush(
        &mut self,
        first: Note,
        notes: &mut mpsc::UnboundedReceiver<Note>,
        sink: &mut PubSubSink,
        publisher: &mut MultiplexedConnection,
    ) -> Result<(), BusError> {
        let mut pipe = redis::pipe();
        let mut publishes = 0usize;
        let mut touched = Vec::new();
        let mut next = Some(first);
        while let Some(note) = next {
            match note {
                Note::Publish { to, signal } => {
                    pipe.cmd("PUBLISH")
                        .arg(channel(&to))
                        .arg(wire::encode(self.node, &signal))
                        .ignore();
                    publishes += 1;
                }
                Note::Touch(device) => touched.push(device),
            }
            next = if publishes < MAX_PIPELINE {
                notes.try_recv().ok()
            } else {
                None
            };
        }
        if publishes > 0 {
            timed(pipe.query_async::<()>(publisher)).await?;
            metrics::counter!("parley_bus_published_total").increment(publishes as u64);
        }
        for device in touched {
            self.sync(sink, device).await?;
        }
        Ok(())
    }

    /// Subscribes `device`'s channel while it has a connection here, and
    /// only then. A new subscription re-reads: a wake-up published between
    /// the connection's first mailbox read and the subscription is not lost.
    async fn sync(&mut self, sink: &mut PubSubSink, device: DeviceId) -> Result<(), BusError> {
        let held = self.hub.holds(&device);
        if held && !self.subscribed.contains(&device) {
            timed(sink.subscribe(channel(&device))).await?;
            self.subscribed.insert(device);
            self.hub.resync(&device);
        } else if !held && self.subscribed.remove(&device) {
            timed(sink.unsubscribe(channel(&device))).await?;
        }
        Ok(())
    }

    /// Hands a signal from another node to the hub.
    fn apply(&self, msg: &redis::Msg) {
        let device = msg
            .get_channel::<Vec<u8>>()
            .ok()
            .and_then(|c| device_of(&c));
        let Some(device) = device else {
            return;
        };
        match wire::decode(msg.get_payload_bytes()) {
            // Its own signals this node has applied already.
            Ok((origin, _)) if origin == self.node => {}
            Ok((_, signal)) => self.hub.receive(&device, signal),
            Err(e) => tracing::debug!(err = %e, "ignored a signal from another relay version"),
        }
    }
}
