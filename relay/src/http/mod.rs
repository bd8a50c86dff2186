//! HTTP surface: health, readiness, metrics, local blob URLs and the PWA.

pub mod accounts;
pub mod attachments;
pub mod auth;
mod bearer;
pub mod blobs;
mod client_ip;
pub mod erase;
mod errors;
mod fields;
pub mod gates;
mod headers;
pub mod health;
pub mod openapi;
mod order;
mod precompressed;
pub mod prekeys;
mod push;
pub mod rendezvous;
mod static_files;
mod turn;
mod ws;

use std::sync::Arc;

use actix_web::web;
use metrics_exporter_prometheus::PrometheusHandle;
use parley_shared::protocol::api::{self, Endpoint as _};
use parley_shared::protocol::rendezvous::PIN_LOOKUPS_PER_MINUTE;
use parley_shared::protocol::{API_PREFIX, DeviceId, ErrorCode};

use crate::blob::Blobs;
use crate::config::Config;
use crate::db::Store;
use crate::error::HttpError;

pub use bearer::Authed;
pub use headers::{SecurityHeaders, content_security_policy};
pub use static_files::apply_cache_control as static_cache_control;
pub(crate) use ws::upgrade::{Slots as WsSlots, serve as ws_upgrade};

/// Shared state of every worker.
#[derive(Clone)]
pub struct AppState {
    /// Relational storage.
    pub store: Store,
    /// Blob storage.
    pub blobs: Blobs,
    /// Prometheus renderer.
    pub metrics: PrometheusHandle,
    /// Configuration.
    pub config: Arc<Config>,
    /// Live connections and the durable writer.
    pub mailbox: Arc<crate::mailbox::Mailbox>,
    /// Request limits.
    pub limits: Arc<Limits>,
    /// Limits counted across relay nodes (in Redis, when configured).
    pub shared_limits: Arc<crate::bus::shared_limit::SharedLimits>,
    /// The last `/readyz` answer (probes are cached briefly).
    pub ready_cache: Arc<health::ReadyCache>,
    /// Sends registration codes.
    pub mailer: crate::mail::Mailer,
    /// Key for hashing email addresses and codes (derived from the relay secret).
    pub email_key: Arc<[u8; 32]>,
    /// Web Push wake-ups and the VAPID public key.
    pub push: Arc<crate::push::Pusher>,
}

/// One-time prekeys one device may take from one other device per hour.
pub const ONE_TIME_PER_PAIR_PER_HOUR: u32 = 3;
/// One-time prekeys one device may take from all others per hour.
pub const ONE_TIME_PER_REQUESTER_PER_HOUR: u32 = 60;

/// Registration codes one client address may have mailed per hour.
pub const EMAIL_CODES_PER_IP_PER_HOUR: u32 = 10;

/// The key every per-IP limit counts under: the client's address (behind
/// trusted proxies, the forwarded one), IPv6 by /64. Requests without a peer
/// address (none over TCP) share one key.
pub(crate) fn limit_key_of(req: &actix_web::HttpRequest, state: &AppState) -> std::net::IpAddr {
    limit_key(req.peer_addr(), req.headers(), state)
}

/// [`limit_key_of`] from a request's parts.
fn limit_key(
    peer: Option<std::net::SocketAddr>,
    headers: &actix_web::http::header::HeaderMap,
    state: &AppState,
) -> std::net::IpAddr {
    peer.map_or(
        std::net::IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        |peer| {
            let ip = client_ip::client_ip(peer.ip(), headers, &state.config.trusted_proxies);
            client_ip::limit_key(ip)
        },
    )
}

/// PIN numbers one client network may be given per hour, after a burst of
/// [`PIN_ALLOCATION_BURST`]: numbers live 10 minutes at most, so one network
/// holds at most 15 of the 10,000 at once, however many devices it registers
/// (ADR 0010).
pub const PIN_ALLOCATIONS_PER_NETWORK_PER_HOUR: u32 = 30;
/// See [`PIN_ALLOCATIONS_PER_NETWORK_PER_HOUR`].
pub const PIN_ALLOCATION_BURST: u32 = 10;

/// The relay's rate limiters.
#[derive(Debug)]
pub struct Limits {
    /// API requests per client IP.
    pub per_ip: crate::limits::RateLimiter<std::net::IpAddr>,
    /// Envelopes per device.
    pub per_device: crate::limits::RateLimiter<DeviceId>,
    /// Authenticated API requests per device.
    pub per_device_api: crate::limits::RateLimiter<DeviceId>,
    /// One-time prekeys handed out per (requester, target) device.
    pub one_time_per_pair: crate::limits::RateLimiter<(DeviceId, DeviceId)>,
    /// One-time prekeys handed out per requesting device, all targets.
    pub one_time_per_requester: crate::limits::RateLimiter<DeviceId>,
    /// Registration codes mailed per client address (IPv4, or IPv6 /64).
    pub email_codes_per_ip: crate::limits::RateLimiter<std::net::IpAddr>,
    /// Recipient entries of `SendMany` frames per device (each a queue row).
    pub recipients_per_device: crate::limits::RateLimiter<DeviceId>,
    /// `Ack` frames per device (each is a database write).
    pub acks_per_device: crate::limits::RateLimiter<DeviceId>,
    /// `Presence` frames per device (each fans out to watchers).
    pub presence_per_device: crate::limits::RateLimiter<DeviceId>,
    /// PIN lookups per client network (IPv4 address, IPv6 /64).
    pub pin_lookups_per_network: crate::limits::RateLimiter<std::net::IpAddr>,
    /// PIN lookups per device.
    pub pin_lookups_per_device: crate::limits::RateLimiter<DeviceId>,
    /// PIN numbers handed out per client network.
    pub pin_allocations_per_network: crate::limits::RateLimiter<std::net::IpAddr>,
}

impl Limits {
    /// Limits from the configuration (bursts allow a minute's worth of API
    /// calls and one second's worth of envelopes at once).
    pub fn from_config(c: &Config) -> Self {
        Self {
            per_ip: crate::limits::RateLimiter::per_minute(
                c.rate_limit_ip_per_min,
                c.rate_limit_ip_per_min,
            ),
            per_device: crate::limits::RateLimiter::per_second(
                c.rate_limit_device_per_sec,
                c.rate_limit_device_per_sec,
            ),
            per_device_api: crate::limits::RateLimiter::per_minute(
                c.rate_limit_ip_per_min,
                c.rate_limit_ip_per_min,
            ),
            // A real session start takes one bundle; a few per hour per pair
            // cover retries, and more go out without a one-time prekey (the
            // session still starts), so nobody can drain a device's supply.
            one_time_per_pair: crate::limits::RateLimiter::per_hour(
                ONE_TIME_PER_PAIR_PER_HOUR,
                ONE_TIME_PER_PAIR_PER_HOUR,
            ),
            one_time_per_requester: crate::limits::RateLimiter::per_hour(
                ONE_TIME_PER_REQUESTER_PER_HOUR,
                ONE_TIME_PER_REQUESTER_PER_HOUR,
            ),
            // One address mails a handful of codes (a family behind one
            // router), not hundreds of strangers' inboxes.
            email_codes_per_ip: crate::limits::RateLimiter::per_hour(
                EMAIL_CODES_PER_IP_PER_HOUR,
                EMAIL_CODES_PER_IP_PER_HOUR,
            ),
            // Acks follow deliveries: room for a full queue being drained.
            recipients_per_device: crate::limits::RateLimiter::per_second(
                c.rate_limit_recipients_per_sec,
                c.rate_limit_recipients_per_sec,
            ),
            acks_per_device: crate::limits::RateLimiter::per_second(
                c.rate_limit_device_per_sec.saturating_mul(5),
                c.rate_limit_device_per_sec.saturating_mul(10),
            ),
            // The app sends one on connect and on a settings or contact change.
            presence_per_device: crate::limits::RateLimiter::per_minute(30, 10),
            // Finding a live PIN slot by probing numbers is the first step of
            // every attack on PIN invites; a person types a code a few times
            // at most, so a handful per minute costs nobody anything.
            pin_lookups_per_network: crate::limits::RateLimiter::per_minute(
                PIN_LOOKUPS_PER_MINUTE,
                PIN_LOOKUPS_PER_MINUTE,
            ),
            pin_lookups_per_device: crate::limits::RateLimiter::per_minute(
                PIN_LOOKUPS_PER_MINUTE,
                PIN_LOOKUPS_PER_MINUTE,
            ),
            pin_allocations_per_network: crate::limits::RateLimiter::per_hour(
                PIN_ALLOCATIONS_PER_NETWORK_PER_HOUR,
                PIN_ALLOCATION_BURST,
            ),
        }
    }
}

impl Limits {
    /// Forgets every key whose bucket is full again (see
    /// [`crate::limits::RateLimiter::forget_idle`]); the sweeper calls it,
    /// so memory stays bounded by recent callers.
    pub fn forget_idle(&self) {
        self.per_ip.forget_idle();
        self.per_device.forget_idle();
        self.per_device_api.forget_idle();
        self.one_time_per_pair.forget_idle();
        self.one_time_per_requester.forget_idle();
        self.email_codes_per_ip.forget_idle();
        self.recipients_per_device.forget_idle();
        self.acks_per_device.forget_idle();
        self.presence_per_device.forget_idle();
        self.pin_lookups_per_network.forget_idle();
        self.pin_lookups_per_device.forget_idle();
        self.pin_allocations_per_network.forget_idle();
    }
}

/// Refuses API requests over the per-IP limit with `rate_limited`.
async fn limit_ip(
    req: actix_web::dev::ServiceRequest,
    next: actix_web::middleware::Next<impl actix_web::body::MessageBody + 'static>,
) -> Result<actix_web::dev::ServiceResponse<actix_web::body::BoxBody>, actix_web::Error> {
    let refused = req
        .app_data::<web::Data<AppState>>()
        .and_then(|state| over_ip_limit(req.peer_addr(), req.headers(), state));
    if let Some(refusal) = refused {
        let resp = actix_web::ResponseError::error_response(&refusal);
        return Ok(req.into_response(resp));
    }
    next.call(req)
        .await
        .map(actix_web::dev::ServiceResponse::map_into_boxed_body)
}

/// Counts one API request (or WebSocket handshake) against its address's
/// limit; the refusal when the address is over it.
pub(crate) fn over_ip_limit(
    peer: Option<std::net::SocketAddr>,
    headers: &actix_web::http::header::HeaderMap,
    state: &AppState,
) -> Option<HttpError> {
    let wait = state
        .limits
        .per_ip
        .take(&limit_key(peer, headers, state))
        .err()?;
    metrics::counter!("parley_rate_limited_total", "scope" => "ip").increment(1);
    Some(HttpError::retry_after(
        ErrorCode::RateLimited,
        "too many requests from this address; slow down",
        wait,
    ))
}

/// Registers every route. Order matters: API and operational routes first,
/// the PWA (with its SPA fallback) last. Each API path is one resource, so a
/// wrong method gets 405 with `Allow` instead of falling through to 404; the
/// `json_errors` middleware (registered last, so outermost) turns whatever
/// error actix answers under `/api/v1` and `/blobs` into the JSON format.
pub fn configure(state: AppState) -> impl FnOnce(&mut web::ServiceConfig) {
    move |cfg: &mut web::ServiceConfig| {
        let static_dir = state.config.static_dir.clone();
        let max_blob = state.config.max_blob_bytes;
        cfg.app_data(web::Data::new(state))
            .route("/healthz", web::get().to(health::healthz))
            .route("/readyz", web::get().to(health::readyz))
            .route("/metrics", web::get().to(health::metrics))
            .service(
                web::scope("/blobs")
                    .wrap(actix_web::middleware::from_fn(errors::json_errors))
                    .app_data(errors::path_config())
                    .app_data(errors::query_config())
                    .service(
                        web::resource("/{key}")
                            .app_data(web::PayloadConfig::new(
                                usize::try_from(max_blob).unwrap_or(usize::MAX),
                            ))
                            .route(web::put().to(blobs::put))
                            .route(web::get().to(blobs::get))
                            .route(web::head().to(blobs::get)),
                    )
                    .default_service(web::to(errors::not_found)),
            )
            .service(
                web::scope(API_PREFIX)
                    .wrap(actix_web::middleware::from_fn(limit_ip))
                    .wrap(actix_web::middleware::from_fn(errors::json_errors))
                    .app_data(errors::json_config())
                    .app_data(errors::path_config())
                    .app_data(errors::query_config())
                    .service(web::resource("/openapi.json").route(web::get().to(openapi::document)))
                    .service(web::resource(api::WebSocket::ROUTE).route(web::get().to(ws::connect)))
                    .service(web::resource(api::GetInfo::ROUTE).route(web::get().to(gates::info)))
                    .service(web::resource(api::GetTurn::ROUTE).route(web::get().to(turn::turn)))
                    .service(web::resource(api::GetPushKey::ROUTE).route(web::get().to(push::key)))
                    .service(
                        web::resource(api::PutPushSubscription::ROUTE)
                            .route(web::put().to(push::put))
                            .route(web::delete().to(push::delete)),
                    )
                    .service(
                        web::resource(api::CreateUpload::ROUTE)
                            .route(web::post().to(attachments::create)),
                    )
                    .service(
                        web::resource(api::DeleteUpload::ROUTE)
                            .route(web::delete().to(attachments::delete)),
                    )
                    .service(
                        web::resource(api::StartDownload::ROUTE)
                            .route(web::post().to(attachments::download)),
                    )
                    .service(
                        web::resource(api::GetChallenge::ROUTE)
                            .route(web::post().to(auth::challenge)),
                    )
                    .service(web::resource(api::Login::ROUTE).route(web::post().to(auth::login)))
                    .service(
                        web::resource(api::Logout::ROUTE).route(web::delete().to(auth::logout)),
                    )
                    .service(
                        web::resource(api::LogoutEverywhere::ROUTE)
                            .route(web::delete().to(auth::logout_everywhere)),
                    )
                    .service(
                        web::resource(api::Register::ROUTE).route(web::post().to(auth::register)),
                    )
                    .service(
                        web::resource(api::RequestEmailCode::ROUTE)
                            .route(web::post().to(gates::request_email_code)),
                    )
                    .service(
                        web::resource(api::EraseDevice::ROUTE)
                            .route(web::delete().to(erase::erase_me)),
                    )
                    .service(
                        web::resource(api::GetBundle::ROUTE).route(web::get().to(prekeys::bundle)),
                    )
                    .service(
                        web::resource(api::PutDeviceList::ROUTE)
                            .app_data(web::PayloadConfig::new(
                                parley_shared::crypto::account::MAX_SIGNED_LIST,
                            ))
                            .route(web::put().to(accounts::put))
                            .route(web::get().to(accounts::get)),
                    )
                    .service(
                        web::resource(api::PutPreKeys::ROUTE)
                            .route(web::put().to(prekeys::put_prekeys)),
                    )
                    .service(
                        web::resource(api::GetPreKeyStatus::ROUTE)
                            .route(web::get().to(prekeys::prekey_status)),
                    )
                    .service(
                        web::resource(api::OpenSlot::ROUTE)
                            .route(web::post().to(rendezvous::create))
                            .route(web::delete().to(rendezvous::delete_all)),
                    )
                    .service(
                        web::resource(api::FindPinSlot::ROUTE)
                            .route(web::get().to(rendezvous::by_pin)),
                    )
                    .service(
                        web::resource(api::CloseSlot::ROUTE)
                            .route(web::delete().to(rendezvous::delete)),
                    )
                    .service(
                        web::resource(api::AddPin::ROUTE)
                            .route(web::post().to(rendezvous::add_pin)),
                    )
                    // Before `{id}/{msg}`, which would otherwise take the path.
                    .service(
                        web::resource(api::RejectReply::ROUTE)
                            .app_data(web::PayloadConfig::new(
                                parley_shared::protocol::rendezvous::MAX_MESSAGE,
                            ))
                            .route(web::post().to(rendezvous::reject)),
                    )
                    .service(
                        web::resource(api::PutMessage::ROUTE)
                            .app_data(web::PayloadConfig::new(
                                parley_shared::protocol::rendezvous::MAX_MESSAGE,
                            ))
                            .route(web::put().to(rendezvous::put))
                            .route(web::get().to(rendezvous::get)),
                    )
                    .default_service(web::to(errors::not_found)),
            );
        static_files::configure(cfg, &static_dir);
    }
}
