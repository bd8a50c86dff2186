//! Every route of the relay's API, one type each. Path parameters are fields;
//! the relay registers [`Endpoint::ROUTE`], clients request [`Endpoint::path`].

use super::{Bytes, Endpoint, Json, MaybeBytes, Method, NoContent};
use crate::crypto::account::AccountId;
use crate::protocol::API_PREFIX;
use crate::protocol::attachments::{AttachmentDownload, AttachmentUpload, CreateAttachment};
use crate::protocol::auth::{
    BundleResponse, Challenge, EmailCodeRequest, EmailCodeSent, KeyUpload, LoginRequest,
    PreKeyStatus, RegisterRequest, RelayInfo, Session,
};
use crate::protocol::push::{PushKey, PushSubscription};
use crate::protocol::rendezvous::{self, CreateRendezvous, Rejected, Rendezvous};
use crate::protocol::turn::TurnCredentials;
use crate::protocol::ws::DeviceId;

/// Declares a route without path parameters.
macro_rules! fixed {
    ($(#[$doc:meta])* $name:ident, $method:ident, $route:literal, auth = $auth:literal,
     $body:ty => $answer:ty) => {
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl Endpoint for $name {
            const METHOD: Method = Method::$method;
            const ROUTE: &'static str = $route;
            const AUTH: bool = $auth;
            type Body = $body;
            type Answer = $answer;
        }
    };
}

fixed!(
    /// `GET /info`: the relay's name and registration mode.
    GetInfo, Get, "/info", auth = false, () => Json<RelayInfo>
);
fixed!(
    /// `GET /turn`: short-lived TURN credentials (no URLs when none is configured).
    GetTurn, Get, "/turn", auth = true, () => Json<TurnCredentials>
);
fixed!(
    /// `GET /ws`: the device's WebSocket (upgraded; not called through [`Endpoint::request`]).
    WebSocket, Get, "/ws", auth = false, () => NoContent
);
fixed!(
    /// `POST /attachments`: reserve an upload.
    CreateUpload, Post, "/attachments", auth = true, Json<CreateAttachment> => Json<AttachmentUpload>
);
fixed!(
    /// `POST /auth/challenge`: a fresh challenge to sign.
    GetChallenge, Post, "/auth/challenge", auth = false, () => Json<Challenge>
);
fixed!(
    /// `POST /auth/login`: a signed challenge for a token.
    Login, Post, "/auth/login", auth = false, Json<LoginRequest> => Json<Session>
);
fixed!(
    /// `DELETE /auth/session`: ends this token.
    Logout, Delete, "/auth/session", auth = true, () => NoContent
);
fixed!(
    /// `DELETE /auth/sessions`: ends every token of this device.
    LogoutEverywhere, Delete, "/auth/sessions", auth = true, () => NoContent
);
fixed!(
    /// `POST /devices`: registers a device (with the old device's token, a
    /// successor replacing it).
    Register, Post, "/devices", auth = false, Json<RegisterRequest> => Json<Session>
);
fixed!(
    /// `POST /registration/email`: mails a registration code.
    RequestEmailCode, Post, "/registration/email", auth = false,
    Json<EmailCodeRequest> => Json<EmailCodeSent>
);
fixed!(
    /// `DELETE /devices/me`: erases this device and everything it holds.
    EraseDevice, Delete, "/devices/me", auth = true, () => NoContent
);
fixed!(
    /// `PUT /prekeys`: publishes keys.
    PutPreKeys, Put, "/prekeys", auth = true, Json<KeyUpload> => Json<PreKeyStatus>
);
fixed!(
    /// `GET /prekeys/status`: what the relay holds for this device.
    GetPreKeyStatus, Get, "/prekeys/status", auth = true, () => Json<PreKeyStatus>
);
fixed!(
    /// `GET /push/key`: the relay's VAPID public key (ADR 0023).
    GetPushKey, Get, "/push/key", auth = false, () => Json<PushKey>
);
fixed!(
    /// `PUT /push/subscriptions`: registers this browser's Web Push
    /// subscription under the device token (the same endpoint again
    /// replaces it).
    PutPushSubscription, Put, "/push/subscriptions", auth = true,
    Json<PushSubscription> => NoContent
);
fixed!(
    /// `DELETE /push/subscriptions`: removes every push subscription of this device.
    DeletePushSubscriptions, Delete, "/push/subscriptions", auth = true, () => NoContent
);
fixed!(
    /// `POST /rendezvous`: opens a pairing slot.
    OpenSlot, Post, "/rendezvous", auth = true, Json<CreateRendezvous> => Json<Rendezvous>
);
fixed!(
    /// `DELETE /rendezvous`: closes every slot this device opened.
    CloseAllSlots, Delete, "/rendezvous", auth = true, () => NoContent
);

/// Declares a route whose path carries parameters.
macro_rules! param {
    ($(#[$doc:meta])* $name:ident { $($field:ident : $ty:ty),+ }, $method:ident, $route:literal,
     $body:ty => $answer:ty, |$s:ident| $path:expr) => {
        $(#[$doc])*
        #[derive(Debug, Clone, PartialEq, Eq)]
        pub struct $name {
            $(
                #[allow(missing_docs)]
                pub $field: $ty,
            )+
        }

        impl Endpoint for $name {
            const METHOD: Method = Method::$method;
            const ROUTE: &'static str = $route;
            type Body = $body;
            type Answer = $answer;

            fn path(&self) -> String {
                let $s = self;
                format!("{API_PREFIX}{}", $path)
            }
        }
    };
}

param!(
    /// `DELETE /attachments/{id}`: the uploader deletes its object.
    DeleteUpload { id: String }, Delete, "/attachments/{id}", () => NoContent,
    |s| format!("/attachments/{}", s.id)
);
param!(
    /// `POST /attachments/{id}/download`: the recipient's signed download URL.
    StartDownload { id: String }, Post, "/attachments/{id}/download",
    () => Json<AttachmentDownload>,
    |s| format!("/attachments/{}/download", s.id)
);
param!(
    /// `GET /devices/{id}/bundle`: a contact's prekey bundle.
    GetBundle { device: DeviceId }, Get, "/devices/{id}/bundle", () => Json<BundleResponse>,
    |s| format!("/devices/{}/bundle", s.device)
);
param!(
    /// `GET /rendezvous/pin/{slot}`: the slot behind a PIN's slot number.
    FindPinSlot { slot: u16 }, Get, "/rendezvous/pin/{slot}", () => Json<Rendezvous>,
    |s| format!("/rendezvous/pin/{}", s.slot)
);
param!(
    /// `DELETE /rendezvous/{id}`: the owner closes a slot.
    CloseSlot { id: String }, Delete, "/rendezvous/{id}", () => NoContent,
    |s| format!("/rendezvous/{}", s.id)
);
param!(
    /// `POST /rendezvous/{id}/pin`: adds a PIN slot number to an open slot.
    AddPin { id: String }, Post, "/rendezvous/{id}/pin", () => Json<Rendezvous>,
    |s| format!("/rendezvous/{}/pin", s.id)
);
param!(
    /// `POST /rendezvous/{id}/reject`: drops the waiting reply (the body, if
    /// not empty, replaces `a1`).
    RejectReply { id: String }, Post, "/rendezvous/{id}/reject", Bytes => Json<Rejected>,
    |s| format!("/rendezvous/{}/reject", s.id)
);
param!(
    /// `PUT /rendezvous/{id}/{msg}`: writes a pairing message (write-once).
    PutMessage { id: String, msg: rendezvous::Message }, Put, "/rendezvous/{id}/{msg}",
    Bytes => NoContent,
    |s| format!("/rendezvous/{}/{}", s.id, s.msg.as_str())
);
param!(
    /// `GET /rendezvous/{id}/{msg}`: reads a pairing message (204: not yet).
    GetMessage { id: String, msg: rendezvous::Message }, Get, "/rendezvous/{id}/{msg}",
    () => MaybeBytes,
    |s| format!("/rendezvous/{}/{}", s.id, s.msg.as_str())
);
param!(
    /// `PUT /accounts/{id}/devices`: publishes the account's newer signed
    /// device list (octet-stream `SignedDeviceList` bytes); devices it drops
    /// are erased.
    PutDeviceList { account: AccountId }, Put, "/accounts/{id}/devices", Bytes => NoContent,
    |s| format!("/accounts/{}/devices", s.account)
);
param!(
    /// `GET /accounts/{id}/devices`: the account's current signed device list.
    GetDeviceList { account: AccountId }, Get, "/accounts/{id}/devices", () => Bytes,
    |s| format!("/accounts/{}/devices", s.account)
);
