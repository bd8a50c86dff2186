//! `GET /api/v1/openapi.json`: the REST API, generated from the handlers'
//! annotations and the shared wire types.

use actix_web::HttpResponse;
use parley_shared::crypto::keys::{OneTimePreKeyPublic, PqPreKeyPublic, SignedPreKeyPublic};
use parley_shared::protocol::attachments::{
    AttachmentDownload, AttachmentUpload, CreateAttachment, SignedUrl,
};
use parley_shared::protocol::auth::{
    BundleResponse, Challenge, EmailCodeRequest, EmailCodeSent, GateProof, KeyUpload, LoginRequest,
    PreKeyStatus, RegisterRequest, RegistrationMode, RelayInfo, Session,
};
use parley_shared::protocol::push::{PushKey, PushSubscription};
use parley_shared::protocol::rendezvous::{CreateRendezvous, Rejected, Rendezvous};
use parley_shared::protocol::turn::TurnCredentials;
use parley_shared::protocol::{ApiError, CheckState, ErrorCode, Readiness, ReadinessChecks};
use utoipa::openapi::header::{Header, HeaderBuilder};
use utoipa::openapi::path::Operation;
use utoipa::openapi::response::{Response, ResponseBuilder};
use utoipa::openapi::schema::{ObjectBuilder, Type};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{Content, Ref, RefOr};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley relay API", description = "Opaque mailbox, prekeys and blob URLs. WebSocket frames: docs/protocol.md."),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::gates::info,
        super::turn::turn,
        super::push::key,
        super::push::put,
        super::push::delete,
        super::attachments::create,
        super::attachments::download,
        super::attachments::delete,
        super::auth::challenge,
        super::auth::register,
        super::auth::login,
        super::auth::logout,
        super::auth::logout_everywhere,
        super::prekeys::put_prekeys,
        super::prekeys::prekey_status,
        super::prekeys::bundle,
        super::erase::erase_me,
        super::accounts::put,
        super::accounts::get,
        super::gates::request_email_code,
        super::rendezvous::create,
        super::rendezvous::delete_all,
        super::rendezvous::add_pin,
        super::rendezvous::by_pin,
        super::rendezvous::reject,
        super::rendezvous::put,
        super::rendezvous::get,
        super::rendezvous::delete,
        super::blobs::put,
        super::blobs::get,
    ),
    components(schemas(
        ApiError, ErrorCode, Readiness, ReadinessChecks, CheckState, Challenge, GateProof, KeyUpload,
        RegisterRequest, LoginRequest, Session, EmailCodeRequest, EmailCodeSent, BundleResponse, PreKeyStatus, SignedPreKeyPublic,
        PqPreKeyPublic, OneTimePreKeyPublic, CreateRendezvous, Rendezvous, Rejected, RelayInfo, RegistrationMode, TurnCredentials,
        CreateAttachment, AttachmentUpload, AttachmentDownload, SignedUrl, PushKey, PushSubscription,
    )),
    modifiers(&BearerAuth, &ErrorResponses)
)]
pub struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        let components = api.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// Adds the error answers that come from shared machinery rather than from
/// one handler, so no operation can forget them (handlers list only their
/// own, specific errors):
/// - 401 on every operation with bearer security (the token extractor);
/// - 400 where a path, query or body is parsed, 413 where a body is read;
/// - 429 with `Retry-After` on every `/api/v1` operation (per-IP limit);
/// - 500 and 503 on every operation that touches storage.
struct ErrorResponses;

/// API operations that touch neither the database nor the blob store.
const STORAGE_FREE: &[&str] = &["/api/v1/info", "/api/v1/push/key"];

impl Modify for ErrorResponses {
    fn modify(&self, api: &mut utoipa::openapi::OpenApi) {
        for (path, item) in &mut api.paths.paths {
            let api_path = path.starts_with(parley_shared::protocol::API_PREFIX);
            let errors_json = api_path || path.starts_with("/blobs/");
            let storage = !STORAGE_FREE.contains(&path.as_str());
            for op in [
                &mut item.get,
                &mut item.put,
                &mut item.post,
                &mut item.delete,
                &mut item.head,
                &mut item.patch,
            ]
            .into_iter()
            .flatten()
            {
                if errors_json {
                    add_error_responses(op, api_path, storage);
                }
                describe_responses(op);
            }
        }
    }
}

fn add_error_responses(op: &mut Operation, rate_limited: bool, storage: bool) {
    let bearer = op
        .security
        .iter()
        .flatten()
        .any(|req| serde_json::to_value(req).is_ok_and(|v| v.get("bearer").is_some()));
    let parses = op.parameters.as_ref().is_some_and(|p| !p.is_empty()) || op.request_body.is_some();
    for (status, description, applies) in [
        ("400", "Malformed path parameter, query or body", parses),
        (
            "401",
            "Missing, unknown, expired or revoked bearer token",
            bearer,
        ),
        (
            "413",
            "Body larger than this operation accepts",
            op.request_body.is_some(),
        ),
        (
            "429",
            "Rate limited; `Retry-After` says when to come back",
            rate_limited,
        ),
        (
            "500",
            "Relay fault (details only in the relay's log)",
            storage,
        ),
        ("503", "Database or blob store unavailable", storage),
    ] {
        if applies {
            op.responses
                .responses
                .entry(status.to_owned())
                .or_insert_with(|| RefOr::T(error_response(description)));
        }
    }
    for status in ["429", "503"] {
        if let Some(RefOr::T(resp)) = op.responses.responses.get_mut(status) {
            resp.headers
                .entry("Retry-After".to_owned())
                .or_insert_with(retry_after_header);
        }
    }
}

fn retry_after_header() -> RefOr<Header> {
    let seconds = ObjectBuilder::new()
        .schema_type(Type::Integer)
        .minimum(Some(1));
    RefOr::T(
        HeaderBuilder::new()
            .schema(Some(seconds))
            .description(Some(
                "Seconds to wait before retrying (always on 429; on 503 when known)",
            ))
            .build(),
    )
}

/// OpenAPI requires a description on every response; annotations that give
/// none get the status's reason phrase.
fn describe_responses(op: &mut Operation) {
    for (status, resp) in &mut op.responses.responses {
        if let RefOr::T(resp) = resp
            && resp.description.is_empty()
        {
            resp.description = status
                .parse::<u16>()
                .ok()
                .and_then(|s| actix_web::http::StatusCode::from_u16(s).ok())
                .and_then(|s| s.canonical_reason())
                .unwrap_or("Response")
                .to_owned();
        }
    }
}

/// A response whose body is the JSON `ApiError`.
fn error_response(description: &str) -> Response {
    ResponseBuilder::new()
        .description(description)
        .content(
            "application/json",
            Content::new(Some(Ref::from_schema_name("ApiError"))),
        )
        .build()
}

pub(super) async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
