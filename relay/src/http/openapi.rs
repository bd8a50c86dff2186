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
use parley_shared::protocol::rendezvous::{CreateRendezvous, Rejected, Rendezvous};
use parley_shared::protocol::turn::TurnCredentials;
use parley_shared::protocol::{ApiError, CheckState, ErrorCode, Readiness, ReadinessChecks};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};

/// The document.
#[derive(OpenApi)]
#[openapi(
    info(title = "Parley relay API", description = "Opaque mailbox, prekeys and blob URLs. WebSocket frames: docs/protocol.md."),
    paths(
        super::health::healthz,
        super::health::readyz,
        super::health::metrics,
        super::auth::info,
        super::auth::turn,
        super::attachments::create,
        super::attachments::download,
        super::attachments::delete,
        super::auth::challenge,
        super::auth::register,
        super::auth::login,
        super::auth::logout,
        super::auth::logout_everywhere,
        super::auth::put_prekeys,
        super::auth::prekey_status,
        super::auth::bundle,
        super::auth::erase_me,
        super::auth::request_email_code,
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
        CreateAttachment, AttachmentUpload, AttachmentDownload, SignedUrl,
    )),
    modifiers(&BearerAuth)
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

pub(super) async fn document() -> HttpResponse {
    HttpResponse::Ok().json(ApiDoc::openapi())
}
