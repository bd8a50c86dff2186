//! The engine's REST calls, in the style of matrix-sdk-crypto's outgoing
//! requests: the engine emits [`Effect::Http`] with a [`RequestId`], the
//! adapter performs the [`api::Request`] and hands the [`Reply`] back to
//! [`Engine::http_reply`], which decodes it with the route's
//! [`Endpoint::decode`] and goes on with whatever asked for it.

use rand_core::CryptoRng;

use super::account::AuthStep;
use super::core::Engine;
use super::effects::Effect;
use super::error::EngineError;
use super::model::{Body, Notice};
use crate::map::Map;
use crate::protocol::api::{
    self, Endpoint, GetBundle, GetPreKeyStatus, Json, PutPreKeys, decode_answer,
};
use crate::protocol::auth::{KeyUpload, decode_b64};
use crate::protocol::ws::DeviceId;
use crate::time::UnixMs;

/// Names one request the engine emitted, so its reply finds its way back.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct RequestId(pub u64);

/// What came back for a request: its status and body, or a transport
/// failure ([`api::Failure::Unreachable`]).
pub type Reply = Result<(u16, Vec<u8>), api::Failure>;

/// Decodes a reply as `E`'s answer.
pub fn decode<E: Endpoint>(reply: &Reply) -> Result<E::Answer, api::Failure> {
    match reply {
        Ok((status, body)) => decode_answer(*status, body),
        Err(f) => Err(f.clone()),
    }
}

/// Why the engine asked.
#[derive(Debug)]
pub(super) enum Purpose {
    /// A contact's bundle, to start a session.
    Bundle(DeviceId),
    /// A prekey status check or upload (both answer with the status).
    PreKeys,
    /// A step of registration, login or key reset.
    Auth(AuthStep),
    /// Publishing our account's device list.
    PublishList,
    /// A contact's device list (by conversation), for an unknown sender.
    List(DeviceId),
    /// Our own account's list, for an unknown sender.
    OwnList,
    /// A room member's list (`parked`: for an unknown sender).
    MemberList {
        /// The member's account.
        account: crate::crypto::account::AccountId,
        /// Counted in the lists fetched for parked envelopes.
        parked: bool,
    },
    /// Our own account's list, to apply our changes on after a conflict.
    OwnRebase,
    /// A step of restoring a backup.
    Restore(super::restore::RestoreStep),
}

/// Requests in flight (the adapter may answer them in any order).
#[derive(Debug, Default)]
pub(super) struct Requests {
    next: u64,
    open: Map<u64, Purpose>,
}

impl Engine {
    /// Queues `request` for the adapter.
    pub(super) fn http(&mut self, purpose: Purpose, request: api::Request) {
        let id = self.requests.next;
        self.requests.next = id.wrapping_add(1);
        self.requests.open.insert(id, purpose);
        self.effects.push_back(Effect::Http {
            id: RequestId(id),
            request,
        });
    }

    pub(super) fn fetch_bundle(&mut self, device: DeviceId) {
        self.http(Purpose::Bundle(device), GetBundle { device }.request(&()));
    }

    pub(super) fn upload_prekeys(&mut self, upload: KeyUpload) {
        self.http(Purpose::PreKeys, PutPreKeys.request(&Json(upload)));
    }

    pub(super) fn request_prekey_status(&mut self) {
        self.http(Purpose::PreKeys, GetPreKeyStatus.request(&()));
    }

    /// The adapter's reply to [`Effect::Http`]. A failed bundle fetch or
    /// prekey call is retried by the engine later (next `Ready`, next
    /// check); account flows report through [`Engine::account_result`].
    pub fn http_reply<R: CryptoRng + ?Sized>(
        &mut self,
        rng: &mut R,
        id: RequestId,
        reply: Reply,
        now: UnixMs,
    ) -> Result<(), EngineError> {
        let Some(purpose) = self.requests.open.remove(&id.0) else {
            return Ok(());
        };
        match purpose {
            Purpose::Bundle(device) => {
                if let Ok(Json(b)) = decode::<GetBundle>(&reply) {
                    let fetched = decode_b64(&b.bundle)
                        .ok_or(EngineError::BadBundle)
                        .and_then(|raw| self.bundle_fetched(rng, &device, &raw));
                    if let Err(EngineError::BadBundle) = fetched {
                        self.forged_keys(&device, now);
                    }
                    fetched?;
                }
            }
            Purpose::PreKeys => {
                if let Ok(Json(status)) = decode::<GetPreKeyStatus>(&reply) {
                    self.prekey_status(rng, &status, now);
                }
            }
            Purpose::Auth(step) => self.auth_reply(step, &reply),
            Purpose::PublishList => self.own_list_answered(&reply),
            Purpose::OwnRebase => self.own_rebase(&reply),
            Purpose::List(conv) => self.list_fetched(rng, &conv, &reply, now),
            Purpose::OwnList => self.own_list_fetched(rng, &reply, now),
            Purpose::MemberList { account, parked } => {
                self.member_list_fetched(rng, &account, parked, &reply, now);
            }
            Purpose::Restore(step) => self.restore_reply(step, &reply, now),
        }
        Ok(())
    }

    /// Tells the user, once per streak, that the relay served keys the
    /// contact did not sign (their messages keep waiting for real ones).
    fn forged_keys(&mut self, peer: &DeviceId, now: UnixMs) {
        let last_notice = self
            .messages(peer)
            .iter()
            .rev()
            .find_map(|m| match &m.body {
                Body::Notice(n) => Some(n),
                _ => None,
            });
        if last_notice != Some(&Notice::ForgedKeys) {
            self.push_notice(peer, Notice::ForgedKeys, now);
        }
    }

    /// Requests emitted and not answered yet.
    pub fn requests_in_flight(&self) -> usize {
        self.requests.open.len()
    }
}
