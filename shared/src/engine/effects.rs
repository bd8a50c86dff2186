//! What the engine asks its adapter to do, in order, and the storage
//! operations inside those requests.

use std::collections::BTreeMap;

use zeroize::Zeroizing;

use super::http::RequestId;
use super::model::RECORD_VERSION;
use crate::crypto::codec;
use crate::protocol::api;
use crate::protocol::ws::{ClientFrame, DeviceId};

/// A storage operation (values are secret: the adapter encrypts them at rest).
#[derive(Debug)]
pub enum StoreOp {
    /// Insert or replace.
    Put(String, Zeroizing<Vec<u8>>),
    /// Delete.
    Delete(String),
}

/// Records held in memory: the storage of native adapters (tests, bots).
#[derive(Debug, Clone, Default)]
pub struct MemoryStore(pub BTreeMap<String, Vec<u8>>);

impl MemoryStore {
    /// Applies one [`Effect::Store`] batch.
    pub fn apply(&mut self, ops: Vec<StoreOp>) {
        for op in ops {
            match op {
                StoreOp::Put(k, v) => {
                    self.0.insert(k, v.to_vec());
                }
                StoreOp::Delete(k) => {
                    self.0.remove(&k);
                }
            }
        }
    }
}

/// What the adapter must do, in order.
#[derive(Debug)]
pub enum Effect {
    /// Store these records atomically, and only then go on.
    Store(Vec<StoreOp>),
    /// Send a frame if connected (the engine resends what matters on `Ready`).
    Send(ClientFrame),
    /// Perform this REST request (with the token from [`Engine::token`]
    /// when `request.auth` is set) and pass the reply to
    /// [`Engine::http_reply`] with `id`. Requests may run concurrently.
    Http {
        /// Names the request in [`Engine::http_reply`].
        id: RequestId,
        /// What to send.
        request: api::Request,
    },
    /// Something the UI shows changed.
    Changed,
    /// A call signal from a contact (authenticated by its session).
    Call(DeviceId, super::call::CallSignal),
}

pub(crate) fn put<T: serde::Serialize>(k: String, v: &T) -> StoreOp {
    StoreOp::Put(k, Zeroizing::new(codec::encode(RECORD_VERSION, v)))
}
