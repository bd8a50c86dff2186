//! The answers `Send` and `SendMany` share when they refuse an envelope,
//! and the envelope lifetime both store under. A transient refusal also
//! holds the sends behind it (`Order`), so a resend keeps their order.

use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{EnvelopeId, ServerFrame};

use super::{Order, error};
use crate::http::AppState;

/// Over the payload limit.
pub(super) fn too_large(id: EnvelopeId) -> ServerFrame {
    error(ErrorCode::TooLarge, "envelope too large", Some(id))
}

/// Behind an earlier refused envelope that has not come again.
pub(super) fn held(id: EnvelopeId) -> ServerFrame {
    error(
        ErrorCode::RateLimited,
        "an earlier envelope was refused; resend from it, in order",
        Some(id),
    )
}

/// Over the device's send budget; `hold`: the sends behind it wait for it.
pub(super) fn too_fast(order: &mut Order, id: EnvelopeId, hold: bool) -> ServerFrame {
    metrics::counter!("parley_rate_limited_total", "scope" => "device").increment(1);
    if hold {
        order.refuse(id);
    }
    error(
        ErrorCode::RateLimited,
        "sending too fast; resend later",
        Some(id),
    )
}

/// The database failed; the sends behind it wait for its resend.
pub(super) fn unavailable(order: &mut Order, id: EnvelopeId) -> ServerFrame {
    order.refuse(id);
    error(
        ErrorCode::Unavailable,
        "mailbox unavailable; resend later",
        Some(id),
    )
}

/// How long a stored envelope (and an ack's tombstone) is kept, in ms.
pub(super) fn envelope_ttl_ms(state: &AppState) -> i64 {
    i64::try_from(state.config.envelope_ttl.as_millis()).unwrap_or(i64::MAX)
}
