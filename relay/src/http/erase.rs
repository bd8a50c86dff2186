//! Erasing a device: everything the relay holds for it, on request
//! (`DELETE /api/v1/devices/me`) or once a successor replaced it.

use actix_web::{HttpResponse, web};
use parley_shared::protocol::ApiError;
use parley_shared::protocol::ws::DeviceId;

use super::AppState;
use super::bearer::Authed;
use crate::blob::{BlobKey, BlobStore as _};
use crate::error::HttpError;
use crate::mailbox::Ended;

/// Erases a device: rows first (tokens included), then its WebSockets, then
/// its blob objects.
async fn erase_device(state: &AppState, device: DeviceId) -> Result<(), HttpError> {
    let store = state.store.clone();
    let blob_keys = web::block(move || store.delete_device(device.as_bytes())).await??;
    forget_device(state, device, blob_keys, Ended::Erased).await;
    Ok(())
}

/// After a device's rows are gone: closes its sockets (saying `why`) and
/// deletes its objects.
pub(super) async fn forget_device(
    state: &AppState,
    device: DeviceId,
    blob_keys: Vec<String>,
    why: Ended,
) {
    state.mailbox.hub.end_device(&device, why);
    for key in blob_keys {
        if let Ok(k) = BlobKey::parse(&key) {
            // The rows are gone; an object left behind is unreachable, and
            // the sweeper's orphan pass removes it, so failures are only logged.
            if let Err(e) = state.blobs.delete(&k).await {
                tracing::warn!(err = %e, "erase: blob delete failed");
            }
        }
    }
}

/// `DELETE /api/v1/devices/me`: erases everything the relay holds for the
/// device and closes its WebSockets.
#[utoipa::path(delete, path = "/api/v1/devices/me", tag = "auth", security(("bearer" = [])),
    responses((status = 204, description = "Everything the relay held for the device is erased, its WebSockets closed"), (status = 401, body = ApiError)))]
pub async fn erase_me(state: web::Data<AppState>, who: Authed) -> Result<HttpResponse, HttpError> {
    erase_device(&state, who.device).await?;
    Ok(HttpResponse::NoContent().finish())
}
