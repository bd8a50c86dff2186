//! Every error under `/api/v1` and `/blobs` is the JSON [`ApiError`] with a
//! stable code, including the ones actix produces itself: malformed path
//! parameters, queries and JSON bodies (their extractor configs below), and,
//! through [`json_errors`], oversized payloads, wrong methods and anything
//! else that would otherwise leave as an empty or plain-text body.

use actix_web::body::{BoxBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::{StatusCode, header};
use actix_web::middleware::Next;
use actix_web::{HttpRequest, HttpResponse, web};
use parley_shared::protocol::{ApiError, ErrorCode};

use crate::error::HttpError;

/// Largest JSON body the API accepts (a registration with 200 one-time prekeys is ~20 KiB).
const API_JSON_LIMIT: usize = 64 * 1024;

/// Path parameters that do not parse (`/rendezvous/pin/65536`): 400 `bad_request`.
pub(super) fn path_config() -> web::PathConfig {
    web::PathConfig::default().error_handler(|err, _: &HttpRequest| {
        HttpError::new(
            ErrorCode::BadRequest,
            format!("invalid path parameter: {err}"),
        )
        .into()
    })
}

/// Query strings that do not parse: 400 `bad_request`.
pub(super) fn query_config() -> web::QueryConfig {
    web::QueryConfig::default().error_handler(|err, _: &HttpRequest| {
        HttpError::new(ErrorCode::BadRequest, format!("invalid query: {err}")).into()
    })
}

/// JSON bodies: too large is 413 `too_large`, anything else 400 `bad_request`.
pub(super) fn json_config() -> web::JsonConfig {
    web::JsonConfig::default()
        .limit(API_JSON_LIMIT)
        .error_handler(|err, _: &HttpRequest| {
            use actix_web::error::JsonPayloadError as E;
            let code = match err {
                E::Overflow { .. } | E::OverflowKnownLength { .. } => ErrorCode::TooLarge,
                _ => ErrorCode::BadRequest,
            };
            HttpError::new(code, format!("invalid JSON body: {err}")).into()
        })
}

/// The code for an error status actix chose (payload limits, methods, ...).
fn code_for(status: StatusCode) -> ErrorCode {
    match status.as_u16() {
        401 => ErrorCode::Unauthorized,
        403 => ErrorCode::Forbidden,
        404 => ErrorCode::NotFound,
        405 => ErrorCode::MethodNotAllowed,
        409 => ErrorCode::Conflict,
        413 => ErrorCode::TooLarge,
        429 => ErrorCode::RateLimited,
        502..=504 => ErrorCode::Unavailable,
        500..=599 => ErrorCode::Internal,
        _ => ErrorCode::BadRequest,
    }
}

/// What to tell the client about an error that is not already an `ApiError`.
fn message_for(status: StatusCode, err: Option<&actix_web::Error>) -> String {
    match (status.as_u16(), err) {
        (404, _) => "no such API endpoint".to_owned(),
        (405, _) => "method not allowed here (see the Allow header)".to_owned(),
        (413, _) => "request body is larger than this endpoint accepts".to_owned(),
        // Server faults keep their detail in the log only.
        (500..=599, e) => {
            tracing::error!(err = ?e.map(ToString::to_string), %status, "unhandled error");
            "relay error".to_owned()
        }
        (_, Some(e)) => e.to_string(),
        (_, None) => status
            .canonical_reason()
            .unwrap_or("request refused")
            .to_owned(),
    }
}

fn is_json(headers: &header::HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
}

/// Rewrites any error response that is not JSON into `{code, message}` with
/// the same status, keeping headers such as `Allow` and `Retry-After`.
pub(super) async fn json_errors(
    req: ServiceRequest,
    next: Next<impl MessageBody + 'static>,
) -> Result<ServiceResponse<BoxBody>, actix_web::Error> {
    let res = match next.call(req).await {
        Ok(res) => res.map_into_boxed_body(),
        // Handlers and extractors answer with a response; only a middleware
        // fails like this, and the request is gone with it: hand the app an
        // `HttpError`, which it renders as JSON.
        Err(err) => {
            let status = err.as_response_error().status_code();
            return Err(HttpError::new(code_for(status), message_for(status, Some(&err))).into());
        }
    };
    let status = res.status();
    if !(status.is_client_error() || status.is_server_error()) || is_json(res.headers()) {
        return Ok(res);
    }
    let body = ApiError::new(
        code_for(status),
        message_for(status, res.response().error()),
    );
    let mut json = HttpResponse::build(status).json(body);
    for (name, value) in res.headers() {
        if name != header::CONTENT_TYPE && name != header::CONTENT_LENGTH {
            json.headers_mut().append(name.clone(), value.clone());
        }
    }
    Ok(res.into_response(json))
}

/// Unknown routes under `/api/v1` and `/blobs`.
pub(super) async fn not_found() -> Result<HttpResponse, HttpError> {
    Err(HttpError::new(ErrorCode::NotFound, "no such API endpoint"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_error_status_gets_a_code_with_that_status() {
        for status in [400, 401, 403, 404, 405, 409, 413, 429, 500, 503] {
            let s = StatusCode::from_u16(status).unwrap_or(StatusCode::IM_A_TEAPOT);
            assert_eq!(code_for(s).http_status(), status, "{status}");
        }
        assert_eq!(
            code_for(StatusCode::UNSUPPORTED_MEDIA_TYPE),
            ErrorCode::BadRequest
        );
    }
}
