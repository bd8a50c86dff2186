//! Prekeys: a device's uploads and status, and the bundles others fetch to
//! start a session with it (one-time prekeys rationed per requester).

use actix_web::{HttpResponse, web};
use parley_shared::crypto::codec;
use parley_shared::crypto::keys::{
    IdentityPublic, OneTimePreKeyPublic, PqPreKeyPublic, PreKeyBundle, SignedPreKeyPublic,
};
use parley_shared::protocol::auth::{
    BundleResponse, KeyUpload, LOW_PREKEY_THRESHOLD, MAX_ONE_TIME_PREKEYS_PER_DEVICE, PreKeyStatus,
    encode_b64,
};
use parley_shared::protocol::{ApiError, DeviceId, ErrorCode};

use super::AppState;
use super::bearer::Authed;
use super::fields::{bad, corrupt, device_id};
use crate::clock::now_ms;
use crate::error::HttpError;

/// Version byte of stored key encodings.
pub(super) const KEY_ENCODING: u8 = 1;

/// `(id, public key)` rows for the database.
pub(super) fn one_time_rows(keys: &[OneTimePreKeyPublic]) -> Vec<(i64, Vec<u8>)> {
    keys.iter()
        .map(|k| (i64::from(k.id), k.public.to_vec()))
        .collect()
}

/// The signed and ML-KEM prekeys the relay hands out for a device.
fn served(keys: &crate::db::DeviceKeys) -> Result<(SignedPreKeyPublic, PqPreKeyPublic), HttpError> {
    let spk = codec::decode(KEY_ENCODING, &keys.signed_prekey).map_err(|_| corrupt())?;
    let pq = codec::decode(KEY_ENCODING, &keys.pq_prekey).map_err(|_| corrupt())?;
    Ok((spk, pq))
}

async fn status(state: &AppState, device: DeviceId) -> Result<PreKeyStatus, HttpError> {
    let store = state.store.clone();
    let (n, keys) = web::block(move || -> Result<_, crate::db::StoreError> {
        Ok((
            store.one_time_prekey_count(device.as_bytes())?,
            store.device_keys(device.as_bytes())?,
        ))
    })
    .await??;
    let keys = keys.ok_or_else(|| HttpError::new(ErrorCode::NotFound, "device has no keys"))?;
    let (spk, pq) = served(&keys)?;
    Ok(PreKeyStatus {
        one_time_prekeys: n,
        refill: n < LOW_PREKEY_THRESHOLD,
        signed_prekey_id: spk.id,
        pq_prekey_id: pq.id,
    })
}

/// `PUT /api/v1/prekeys`: new signed/ML-KEM prekeys and more one-time prekeys.
#[utoipa::path(put, path = "/api/v1/prekeys", tag = "prekeys", security(("bearer" = [])), request_body = KeyUpload,
    responses((status = 200, body = PreKeyStatus), (status = 400, body = ApiError), (status = 401, body = ApiError),
        (status = 413, description = "The device would hold more one-time prekeys than the relay keeps", body = ApiError)))]
pub async fn put_prekeys(
    state: web::Data<AppState>,
    who: Authed,
    body: web::Json<KeyUpload>,
) -> Result<HttpResponse, HttpError> {
    let keys = body.into_inner();
    let store = state.store.clone();
    let d = who.device;
    let stored = web::block(move || store.device_keys(d.as_bytes()))
        .await??
        .ok_or_else(|| HttpError::new(ErrorCode::NotFound, "device has no keys"))?;
    let identity = IdentityPublic::from_bytes(&stored.identity).map_err(|_| corrupt())?;
    keys.verify(&identity)
        .map_err(|_| bad("prekey signatures do not verify against the identity"))?;
    let spk = codec::encode(KEY_ENCODING, &keys.signed_prekey);
    let pq = codec::encode(KEY_ENCODING, &keys.pq_prekey);
    let otks = one_time_rows(&keys.one_time_prekeys);
    let store = state.store.clone();
    let d = who.device;
    let max = i64::from(MAX_ONE_TIME_PREKEYS_PER_DEVICE);
    if !web::block(move || store.put_prekeys(d.as_bytes(), &spk, &pq, &otks, now_ms(), max))
        .await??
    {
        return Err(HttpError::new(
            ErrorCode::TooLarge,
            "too many one-time prekeys held for this device; upload fewer",
        ));
    }
    Ok(HttpResponse::Ok().json(status(&state, who.device).await?))
}

/// `GET /api/v1/prekeys/status`.
#[utoipa::path(get, path = "/api/v1/prekeys/status", tag = "prekeys", security(("bearer" = [])),
    responses((status = 200, body = PreKeyStatus), (status = 401, body = ApiError)))]
pub async fn prekey_status(
    state: web::Data<AppState>,
    who: Authed,
) -> Result<HttpResponse, HttpError> {
    Ok(HttpResponse::Ok().json(status(&state, who.device).await?))
}

/// `GET /api/v1/devices/{id}/bundle`: the device's keys plus one one-time
/// prekey, which is never handed out again.
#[utoipa::path(get, path = "/api/v1/devices/{id}/bundle", tag = "prekeys", security(("bearer" = [])),
    params(("id" = String, Path, description = "Device id (base64url Ed25519 key)")),
    responses((status = 200, description = "Bundle with at most one one-time prekey, never handed out again", body = BundleResponse),
        (status = 401, body = ApiError), (status = 404, body = ApiError)))]
pub async fn bundle(
    state: web::Data<AppState>,
    who: Authed,
    path: web::Path<String>,
) -> Result<HttpResponse, HttpError> {
    let device = device_id(&path)?;
    // Over either budget the bundle comes without a one-time prekey: the
    // session still starts, and a stranger fetching in a loop cannot leave
    // the target without one-time prekeys.
    let pair = (who.device, device);
    let may_claim = state.limits.one_time_per_pair.check(&pair)
        && state.limits.one_time_per_requester.check(&who.device);
    let store = state.store.clone();
    let (keys, one_time) = web::block(move || -> Result<_, crate::db::StoreError> {
        let keys = store.device_keys(device.as_bytes())?;
        let one_time = match keys {
            Some(_) if may_claim => store.claim_one_time_prekey(device.as_bytes())?,
            _ => None,
        };
        Ok((keys, one_time))
    })
    .await??;
    let keys = keys.ok_or_else(|| HttpError::new(ErrorCode::NotFound, "no such device"))?;
    let identity = IdentityPublic::from_bytes(&keys.identity).map_err(|_| corrupt())?;
    let (spk, pq) = served(&keys)?;
    let opk = match one_time {
        Some((id, public)) => Some(OneTimePreKeyPublic {
            id: u32::try_from(id).map_err(|_| corrupt())?,
            public: public.try_into().map_err(|_| corrupt())?,
        }),
        None => None,
    };
    let bundle = PreKeyBundle::new(identity, spk, pq, opk).map_err(|_| corrupt())?;
    Ok(HttpResponse::Ok().json(BundleResponse {
        bundle: encode_b64(&bundle.to_bytes()),
    }))
}
