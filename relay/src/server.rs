//! Start-up (turning configuration into running dependencies, with one clear
//! error line per failure) and the HTTP server.

use std::path::Path;
use std::sync::Arc;

use std::time::Duration;

use actix_http::HttpService;
use actix_service::{IntoServiceFactory, ServiceFactoryExt, fn_service, map_config};
use actix_web::App;
use actix_web::dev::AppConfig;
use actix_web::middleware::{Compress, from_fn};

use crate::blob::{
    Blobs, LocalBlobStore, S3BlobStore, UrlSigner, local::prepare_dir, s3::S3SetupError,
};
use crate::config::{BlobBackend, Config, ConfigError};
use crate::db::Store;
use crate::http::{self, AppState, SecurityHeaders};
use crate::{sweeper, telemetry};

/// File in the data dir holding the generated URL-signing key.
const SIGNING_KEY_FILE: &str = "url-signing.key";

fn data_dir_ready(dir: &Path) -> Result<(), ConfigError> {
    prepare_dir(dir).map_err(|e| {
        ConfigError::new(
            "PARLEY_DATA_DIR",
            format!("{} is not a writable directory: {e}", dir.display()),
        )
    })
}

fn signing_key(config: &Config) -> Result<Vec<u8>, ConfigError> {
    if let Some(key) = &config.url_signing_key {
        return Ok(key.clone());
    }
    let path = config.data_dir.join(SIGNING_KEY_FILE);
    let err = |e: std::io::Error| {
        ConfigError::new(
            "PARLEY_DATA_DIR",
            format!("cannot read or create {}: {e}", path.display()),
        )
    };
    match std::fs::read(&path) {
        Ok(key) if key.len() >= 32 => Ok(key),
        Ok(_) => Err(ConfigError::new(
            "PARLEY_DATA_DIR",
            format!(
                "{} is shorter than 32 bytes; delete it to regenerate",
                path.display()
            ),
        )),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let mut key = vec![0u8; 32];
            getrandom::fill(&mut key).map_err(|e| err(std::io::Error::other(e.to_string())))?;
            write_private(&path, &key).map_err(err)?;
            Ok(key)
        }
        Err(e) => Err(err(e)),
    }
}

#[cfg(unix)]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    use std::io::Write as _;
    use std::os::unix::fs::OpenOptionsExt as _;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}

#[cfg(not(unix))]
pub(crate) fn write_private(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    std::fs::write(path, bytes)
}

/// Connects to the database (creating the SQLite file's directory) without migrating.
pub fn connect_store(config: &Config) -> Result<Store, ConfigError> {
    if let crate::config::DatabaseTarget::Sqlite(path) = &config.database
        && let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty())
    {
        std::fs::create_dir_all(parent).map_err(|e| {
            ConfigError::new(
                "DATABASE_URL",
                format!("cannot create {}: {e}", parent.display()),
            )
        })?;
    }
    Store::connect(&config.database, config.db_pool_size).map_err(|e| {
        ConfigError::new(
            "DATABASE_URL",
            format!(
                "cannot open the {} database: {e}",
                config.database.backend()
            ),
        )
    })
}

/// Applies migrations, reporting failures against `DATABASE_URL`.
pub fn migrate(store: &Store) -> Result<Vec<String>, ConfigError> {
    store
        .migrate()
        .map_err(|e| ConfigError::new("DATABASE_URL", e.to_string()))
}

/// Creates a single-use invite code valid for `ttl_hours`; only its hash is stored.
pub fn create_invite(store: &Store, ttl_hours: u32) -> Result<String, ConfigError> {
    let mut raw = [0u8; 15];
    getrandom::fill(&mut raw).map_err(|e| ConfigError::new("PARLEY_DATA_DIR", e.to_string()))?;
    // 120 bits as 24 base32 characters in groups of four: easy to read out.
    let code = crate::invite_code::format(&raw);
    let now = crate::clock::now_ms();
    let expires = now.saturating_add(i64::from(ttl_hours) * 3_600_000);
    store
        .create_invite(
            &parley_shared::crypto::primitives::sha256(&[code.as_bytes()]),
            now,
            expires,
        )
        .map_err(|e| ConfigError::new("DATABASE_URL", e.to_string()))?;
    Ok(code)
}

async fn open_blobs(config: &Config) -> Result<Blobs, ConfigError> {
    match &config.blobs {
        BlobBackend::Local { dir } => {
            prepare_dir(dir).map_err(|e| {
                ConfigError::new(
                    "PARLEY_BLOB_DIR",
                    format!("{} is not a writable directory: {e}", dir.display()),
                )
            })?;
            let signer = UrlSigner::new(signing_key(config)?);
            Ok(Blobs::Local(LocalBlobStore::new(
                dir.clone(),
                config.public_url.clone(),
                signer,
            )))
        }
        BlobBackend::S3(s3) => {
            let store =
                S3BlobStore::new(s3).map_err(|e| ConfigError::new("S3_ENDPOINT", e.to_string()))?;
            store.verify_bucket().await.map_err(|e| {
                let var = match e {
                    S3SetupError::NoSuchBucket(_) => "S3_BUCKET",
                    S3SetupError::AccessDenied(_) => "S3_ACCESS_KEY",
                    S3SetupError::Other(_) => "S3_ENDPOINT",
                };
                ConfigError::new(var, format!("{e} (endpoint {})", s3.endpoint))
            })?;
            Ok(Blobs::S3(store))
        }
    }
}

/// Everything the server needs, or the first configuration problem found.
pub async fn build_state(config: Config) -> Result<AppState, ConfigError> {
    data_dir_ready(&config.data_dir)?;
    let cfg = config.clone();
    let store = actix_web::web::block(move || -> Result<Store, ConfigError> {
        let store = connect_store(&cfg)?;
        let applied = migrate(&store)?;
        if !applied.is_empty() {
            tracing::info!(?applied, "migrations applied");
        }
        Ok(store)
    })
    .await
    .map_err(|e| ConfigError::new("DATABASE_URL", e.to_string()))??;
    // One node is its database's only writer, so it may remember device
    // memberships; several nodes read them every time (ADR 0030).
    let store = if config.scale_out.redis.is_none() {
        store.with_membership_cache()
    } else {
        store
    };
    let blobs = open_blobs(&config).await?;
    let shared_limits = Arc::new(crate::bus::shared_limit::SharedLimits::default());
    let hub = match &config.scale_out.redis {
        None => Arc::new(crate::hub::Hub::default()),
        Some(url) => {
            let (remote, notes) = crate::bus::redis::remote();
            let hub = Arc::new(crate::hub::Hub::new(remote));
            crate::bus::redis::spawn(url, hub.clone(), notes, shared_limits.clone())?;
            hub
        }
    };
    let mailbox = Arc::new(crate::mailbox::Mailbox {
        hub,
        committer: crate::mailbox::Committer::spawn(
            store.clone(),
            crate::db::QueueLimits {
                per_recipient: config.max_queue,
                per_sender: config.max_queue_per_sender,
            },
        ),
        fast: crate::fast_path::FastPath::new(config.fast_path_window),
    });
    let mailer = crate::mail::Mailer::from_config(&config)?;
    // Email addresses and codes are kept as HMACs under a key derived from the
    // relay's secret, so a database dump alone does not reveal them.
    let email_key =
        parley_shared::crypto::primitives::hmac(&signing_key(&config)?, &[b"Parley email hash v1"]);
    let push = crate::push::Pusher::start(store.clone(), &config)?;
    Ok(AppState {
        push,
        mailer,
        email_key: Arc::new(email_key),
        limits: Arc::new(http::Limits::from_config(&config)),
        shared_limits,
        ready_cache: Arc::default(),
        store,
        blobs,
        mailbox,
        metrics: telemetry::metrics_handle(),
        config: Arc::new(config),
    })
}

/// Why serving stopped.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    /// Start-up found a configuration problem.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The server failed while running.
    #[error("server error: {0}")]
    Io(#[from] std::io::Error),
}

/// Starts the relay and runs until SIGTERM/SIGINT, then drains in-flight
/// requests for up to the configured shutdown timeout.
pub async fn serve(config: Config) -> Result<(), ServeError> {
    let state = build_state(config).await?;
    let config = state.config.clone();
    let sweeper = actix_web::rt::spawn(sweeper::run(
        state.store.clone(),
        state.blobs.clone(),
        state.limits.clone(),
        config.sweep_interval,
        config.blob_url_ttl,
    ));
    let cfg = config.clone();
    // Every connection is a file descriptor; the common soft limit (1,024)
    // would stop a node long before its memory does.
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(n) => tracing::debug!(open_files = n, "open-files limit"),
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-files limit"),
    }
    let workers = config
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, std::num::NonZero::get));
    let ws_slots = http::WsSlots::new(config.max_connections);
    let builder = actix_server::Server::build();
    let shutdown = builder.graceful_shutdown_signal();
    let server = builder
        .workers(workers)
        // actix counts connections per worker, until a WebSocket upgrade
        // (those are counted by `WsSlots`).
        .max_concurrent_connections(config.max_connections.div_ceil(workers))
        .shutdown_timeout(config.shutdown_timeout.as_secs())
        .bind("parley", config.bind, move || {
            let app = App::new()
                .wrap(from_fn(telemetry::observe))
                .wrap(SecurityHeaders::middleware(&cfg))
                .wrap(Compress::default())
                .configure(http::configure(state.clone()));
            let (ws_state, ws_slots) = (Arc::new(state.clone()), ws_slots.clone());
            let shutdown = shutdown.clone();
            // What actix-web's `HttpServer` assembles, plus the upgrade
            // service that takes WebSocket handshakes (ADR 0036).
            HttpService::build()
                .client_request_timeout(Duration::from_secs(5))
                .client_disconnect_timeout(Duration::from_secs(1))
                // Small frames go out at once: with Nagle's algorithm a
                // delivery waited for the client's delayed ACK of the
                // previous one (tens of ms).
                .tcp_nodelay(true)
                .graceful_shutdown_signal(move || {
                    let shutdown = shutdown.clone();
                    async move { shutdown.notified().await }
                })
                .upgrade(fn_service(move |(req, framed)| {
                    let (state, slots) = (ws_state.clone(), ws_slots.clone());
                    async move {
                        http::ws_upgrade(state, slots, req, framed).await;
                        Ok::<_, std::convert::Infallible>(())
                    }
                }))
                .finish(map_config(
                    app.into_factory()
                        .map_err(|e: actix_web::Error| e.error_response()),
                    |()| AppConfig::default(),
                ))
                .tcp()
        })
        .map_err(|e| {
            ConfigError::new(
                "PARLEY_BIND",
                format!("cannot listen on {}: {e}", config.bind),
            )
        })?;
    let backend = match config.blobs {
        BlobBackend::Local { .. } => "local",
        BlobBackend::S3(_) => "s3",
    };
    tracing::info!(
        url = %config.public_url,
        database = config.database.backend(),
        blobs = backend,
        "Parley relay listening"
    );
    announce(&config);
    let result = server.run().await;
    sweeper.abort();
    tracing::info!("Parley relay stopped");
    Ok(result?)
}

#[allow(clippy::print_stdout)]
fn announce(config: &Config) {
    println!("Parley is running at {}", config.public_url);
}
