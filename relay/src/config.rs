//! Relay configuration, read once from the environment.
//!
//! Every variable is documented in `.env.example` with its default. A bad value
//! is reported as one line naming the variable (see [`ConfigError`]).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use url::Url;

use parse::{bounded, parse_num, required};

pub use blobs::{BlobBackend, S3Config};
pub use push::PushConfig;
pub use scale_out::{RedisUrl, ScaleOut};

/// [`parley_shared::protocol::ws::MAX_RECIPIENTS`] as a rate (it is 1,024).
const MAX_RECIPIENTS_U32: u32 = parley_shared::protocol::ws::MAX_RECIPIENTS as u32;

/// A configuration problem, always tied to the variable that caused it.
#[derive(Debug, thiserror::Error)]
#[error("{var}: {message}")]
pub struct ConfigError {
    /// The environment variable at fault.
    pub var: &'static str,
    /// What is wrong with it, for the operator.
    pub message: String,
}

impl ConfigError {
    pub(crate) fn new(var: &'static str, message: impl Into<String>) -> Self {
        Self {
            var,
            message: message.into(),
        }
    }
}

/// Where relational data lives.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum DatabaseTarget {
    /// `postgres://…` or `postgresql://…`, passed to libpq as is.
    Postgres(String),
    /// A SQLite file path (from `sqlite://PATH` or `sqlite:PATH`).
    Sqlite(PathBuf),
}

impl DatabaseTarget {
    /// Parses `DATABASE_URL`. The scheme alone picks the backend, so a typo is
    /// reported as such instead of as a connection failure.
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let url = url.trim();
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Url::parse(url).map_err(|e| {
                ConfigError::new("DATABASE_URL", format!("not a valid PostgreSQL URL: {e}"))
            })?;
            return Ok(Self::Postgres(url.to_owned()));
        }
        if let Some(rest) = url
            .strip_prefix("sqlite://")
            .or_else(|| url.strip_prefix("sqlite:"))
        {
            if rest.is_empty() {
                return Err(ConfigError::new(
                    "DATABASE_URL",
                    "sqlite URL has no file path",
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(rest)));
        }
        let scheme = url.split_once(':').map(|(s, _)| s).unwrap_or(url);
        Err(ConfigError::new(
            "DATABASE_URL",
            format!("unsupported or missing scheme {scheme:?}: use postgres://… or sqlite://PATH"),
        ))
    }

    /// Backend name for logs and metrics.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Postgres(_) => "postgres",
            Self::Sqlite(_) => "sqlite",
        }
    }
}

/// Who may register a device.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RegistrationGate {
    /// Anyone.
    Open,
    /// Holders of a code from `parley-relay invite create`.
    Invite,
    /// Holders of a 6-digit code mailed to an address.
    EmailOtp,
}

/// How registration codes are mailed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mailer {
    /// Development: the code is written to the relay's log.
    Log,
    /// An SMTP server URL (`smtp://`, `smtps://`), as lettre reads it.
    Smtp(String),
}

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, for log shippers.
    Json,
}

/// The TURN server handed to clients (coturn's REST-API mode).
#[derive(Clone)]
pub struct TurnConfig {
    /// `turn:`/`turns:`/`stun:` URLs (`PARLEY_TURN_URLS`, comma-separated).
    pub urls: Vec<String>,
    /// coturn's `--static-auth-secret` (`PARLEY_TURN_SECRET`).
    pub secret: String,
    /// Credential lifetime (`PARLEY_TURN_TTL_SECS`).
    pub ttl: Duration,
    /// Tell clients to use relayed candidates only, hiding their IP addresses
    /// from each other (`PARLEY_TURN_RELAY_ONLY`).
    pub relay_only: bool,
}

impl std::fmt::Debug for TurnConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TurnConfig")
            .field("urls", &self.urls)
            .field("secret", &"<redacted>")
            .field("ttl", &self.ttl)
            .field("relay_only", &self.relay_only)
            .finish()
    }
}

/// `PARLEY_TRUSTED_PROXIES`: addresses or networks, comma- or space-separated
/// (`127.0.0.1, 10.0.0.0/8, ::1`).
fn trusted_proxies(env: &dyn Env) -> Result<Vec<ipnet::IpNet>, ConfigError> {
    const VAR: &str = "PARLEY_TRUSTED_PROXIES";
    let raw = env.get(VAR).unwrap_or_default();
    raw.split([',', ' '])
        .filter(|p| !p.is_empty())
        .map(|p| {
            p.parse::<ipnet::IpNet>()
                .or_else(|_| p.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    ConfigError::new(VAR, format!("{p:?} is not an IP address or network"))
                })
        })
        .collect()
}

fn turn_from_env(env: &dyn Env) -> Result<Option<TurnConfig>, ConfigError> {
    let Some(raw) = env.get("PARLEY_TURN_URLS") else {
        return Ok(None);
    };
    let urls: Vec<String> = raw
        .split(',')
        .map(|u| u.trim().to_owned())
        .filter(|u| !u.is_empty())
        .collect();
    if urls.is_empty()
        || urls
            .iter()
            .any(|u| !(u.starts_with("turn:") || u.starts_with("turns:") || u.starts_with("stun:")))
    {
        return Err(ConfigError::new(
            "PARLEY_TURN_URLS",
            "must be turn:HOST:PORT, turns:… or stun:… URLs, comma-separated",
        ));
    }
    let secret = required(env, "PARLEY_TURN_SECRET", "when PARLEY_TURN_URLS is set")?;
    if secret.len() < 16 {
        return Err(ConfigError::new(
            "PARLEY_TURN_SECRET",
            "must be at least 16 characters (coturn's static-auth-secret)",
        ));
    }
    let relay_only = match env.get("PARLEY_TURN_RELAY_ONLY").as_deref().map(str::trim) {
        None | Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "PARLEY_TURN_RELAY_ONLY",
                format!("{other:?} is not true or false"),
            ));
        }
    };
    Ok(Some(TurnConfig {
        urls,
        secret,
        ttl: Duration::from_secs(parse_num(env, "PARLEY_TURN_TTL_SECS", 3600, 60)?),
        relay_only,
    }))
}

/// Everything the relay reads from its environment.
#[derive(Debug, Clone)]
pub struct Config {
    /// Socket address to listen on (`PARLEY_BIND`).
    pub bind: SocketAddr,
    /// Externally visible base URL, used in signed blob URLs (`PARLEY_PUBLIC_URL`).
    pub public_url: Url,
    /// Directory for the SQLite file, blobs and generated keys (`PARLEY_DATA_DIR`).
    pub data_dir: PathBuf,
    /// Relational database (`DATABASE_URL`).
    pub database: DatabaseTarget,
    /// Maximum pooled database connections (`PARLEY_DB_POOL_SIZE`).
    pub db_pool_size: u32,
    /// Threads serving connections (`PARLEY_WORKERS`; `None`: one per
    /// available core).
    pub workers: Option<usize>,
    /// Blob store (`PARLEY_BLOB_BACKEND` and friends).
    pub blobs: BlobBackend,
    /// Lifetime of a signed blob URL (`PARLEY_BLOB_URL_TTL_SECS`).
    pub blob_url_ttl: Duration,
    /// Largest blob accepted, in bytes (`PARLEY_MAX_BLOB_BYTES`).
    pub max_blob_bytes: u64,
    /// Key for relay-signed local blob URLs (`PARLEY_URL_SIGNING_KEY`, base64);
    /// `None` means "generate once and keep it in the data dir".
    pub url_signing_key: Option<Vec<u8>>,
    /// Directory with the built PWA (`PARLEY_STATIC_DIR`).
    pub static_dir: PathBuf,
    /// Tracing filter (`PARLEY_LOG`).
    pub log_filter: String,
    /// Log format (`PARLEY_LOG_FORMAT`).
    pub log_format: LogFormat,
    /// Grace period for in-flight requests on SIGTERM (`PARLEY_SHUTDOWN_TIMEOUT_SECS`).
    pub shutdown_timeout: Duration,
    /// Pause between retention passes (`PARLEY_SWEEP_INTERVAL_SECS`).
    pub sweep_interval: Duration,
    /// Registration gate (`PARLEY_REGISTRATION`).
    pub registration: RegistrationGate,
    /// How email codes are sent (`PARLEY_SMTP_URL`; `log` in development).
    pub mailer: Mailer,
    /// Sender address of code emails (`PARLEY_SMTP_FROM`).
    pub mail_from: String,
    /// Lifetime of a session token (`PARLEY_TOKEN_TTL_SECS`).
    pub token_ttl: Duration,
    /// Lifetime of a login challenge (`PARLEY_CHALLENGE_TTL_SECS`).
    pub challenge_ttl: Duration,
    /// How long an undelivered envelope is kept (`PARLEY_ENVELOPE_TTL_SECS`).
    pub envelope_ttl: Duration,
    /// How long a live delivery waits for the recipient's ack before the
    /// envelope is committed instead (`PARLEY_FAST_PATH_MS`; `None`: 0, off).
    pub fast_path_window: Option<Duration>,
    /// Most envelopes waiting for one device (`PARLEY_MAX_QUEUE`).
    pub max_queue: i64,
    /// Most envelopes waiting for one device from one sender
    /// (`PARLEY_MAX_QUEUE_PER_SENDER`), so a stranger cannot fill the queue.
    pub max_queue_per_sender: i64,
    /// Most simultaneous WebSocket connections per device (`PARLEY_MAX_CONNECTIONS_PER_DEVICE`).
    pub max_connections_per_device: usize,
    /// How long a WebSocket client may take no bytes while the relay has
    /// bytes for it before the socket is given up (`PARLEY_WS_WRITE_STALL_SECS`).
    pub ws_write_stall: Duration,
    /// Most open WebSockets this node holds, and most HTTP connections it
    /// serves at once (`PARLEY_MAX_CONNECTIONS`): more HTTP connections wait
    /// in the listen queue, a WebSocket over the limit is refused with 503.
    pub max_connections: usize,
    /// API requests per minute per client IP (`PARLEY_RATE_LIMIT_IP_PER_MIN`).
    pub rate_limit_ip_per_min: u32,
    /// Envelopes per second per device (`PARLEY_RATE_LIMIT_DEVICE_PER_SEC`).
    pub rate_limit_device_per_sec: u32,
    /// Recipient entries of multi-recipient sends per second per device
    /// (`PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC`); at least `MAX_RECIPIENTS`,
    /// so the largest legal send fits the burst.
    pub rate_limit_recipients_per_sec: u32,
    /// TURN for calls; `None` when not configured.
    pub turn: Option<TurnConfig>,
    /// Live attachments one device may have (`PARLEY_MAX_ATTACHMENTS_PER_DEVICE`).
    pub max_attachments_per_device: i64,
    /// Bytes of live attachments one device may have
    /// (`PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE`); never below `max_blob_bytes`.
    pub max_attachment_bytes_per_device: i64,
    /// Reverse proxies whose `X-Forwarded-For` is believed (`PARLEY_TRUSTED_PROXIES`).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// SHA-256 of the bearer token `/metrics` asks for (`PARLEY_METRICS_TOKEN`);
    /// `None`: metrics only for loopback clients. Only the hash is kept.
    pub metrics_token_hash: Option<[u8; 32]>,
    /// Several relay nodes: Redis and the mailbox poll (`PARLEY_REDIS_URL`,
    /// `PARLEY_MAILBOX_POLL_SECS`).
    pub scale_out: ScaleOut,
    /// Web Push (`PARLEY_VAPID_*`, `PARLEY_PUSH_*`).
    pub push: PushConfig,
}

/// Source of variables; the process environment in production, a map in tests.
pub trait Env {
    /// The value of `key`, if set and non-empty.
    fn get(&self, key: &str) -> Option<String>;
}

/// The process environment, falling back to a `.env` file's values so a
/// deployment can keep its settings in one file (real variables win).
#[derive(Debug, Clone, Default)]
pub struct ProcessEnv {
    file: std::collections::HashMap<String, String>,
}

impl ProcessEnv {
    /// Process environment plus `KEY=VALUE` lines of `path`, if it exists.
    pub fn with_dotenv(path: &std::path::Path) -> Self {
        let file = std::fs::read_to_string(path)
            .map(|text| parse_dotenv(&text))
            .unwrap_or_default();
        Self { file }
    }
}

fn parse_dotenv(text: &str) -> std::collections::HashMap<String, String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| l.split_once('='))
        .map(|(k, v)| {
            let v = v.trim();
            let v = v
                .strip_prefix('"')
                .and_then(|v| v.strip_suffix('"'))
                .unwrap_or(v);
            (k.trim().to_owned(), v.to_owned())
        })
        .collect()
}

impl Env for ProcessEnv {
    fn get(&self, key: &str) -> Option<String> {
        std::env::var(key)
            .ok()
            .or_else(|| self.file.get(key).cloned())
            .filter(|v| !v.trim().is_empty())
    }
}

impl<S: std::hash::BuildHasher> Env for std::collections::HashMap<&str, &str, S> {
    fn get(&self, key: &str) -> Option<String> {
        std::collections::HashMap::get(self, key).map(|v| (*v).to_owned())
    }
}

/// Default fast-path window: long enough for a client to decrypt, store and
/// ack a message (a browser writes it to IndexedDB first), short enough
/// that a sender to a slow recipient waits little longer than a commit.
const FAST_PATH_MS: u64 = 50;
/// Longest window accepted: a sender's connection waits that long.
const FAST_PATH_MAX_MS: u64 = 2_000;

fn fast_path_window(env: &dyn Env) -> Result<Option<Duration>, ConfigError> {
    let ms: u64 = parse_num(env, "PARLEY_FAST_PATH_MS", FAST_PATH_MS, 0)?;
    if ms > FAST_PATH_MAX_MS {
        return Err(ConfigError::new(
            "PARLEY_FAST_PATH_MS",
            format!("must be at most {FAST_PATH_MAX_MS}"),
        ));
    }
    Ok((ms > 0).then(|| Duration::from_millis(ms)))
}

impl Config {
    /// Reads the configuration from `env`.
    pub fn from_env(env: &dyn Env) -> Result<Self, ConfigError> {
        let bind_raw = env
            .get("PARLEY_BIND")
            .unwrap_or_else(|| "127.0.0.1:8080".into());
        let bind: SocketAddr = bind_raw.trim().parse().map_err(|_| {
            ConfigError::new(
                "PARLEY_BIND",
                format!("{bind_raw:?} is not HOST:PORT (e.g. 127.0.0.1:8080)"),
            )
        })?;
        let public_url = match env.get("PARLEY_PUBLIC_URL") {
            Some(raw) => Url::parse(raw.trim())
                .map_err(|e| ConfigError::new("PARLEY_PUBLIC_URL", format!("not a URL: {e}")))?,
            None => default_public_url(bind)?,
        };
        if !matches!(public_url.scheme(), "http" | "https") {
            return Err(ConfigError::new(
                "PARLEY_PUBLIC_URL",
                "must be http:// or https://",
            ));
        }
        let data_dir = PathBuf::from(env.get("PARLEY_DATA_DIR").unwrap_or_else(|| "data".into()));
        let database = match env.get("DATABASE_URL") {
            Some(url) => DatabaseTarget::parse(&url)?,
            None => DatabaseTarget::Sqlite(data_dir.join("parley.db")),
        };
        let blobs = blobs::backend_from_env(env, &data_dir)?;
        let url_signing_key = match env.get("PARLEY_URL_SIGNING_KEY") {
            None => None,
            Some(raw) => {
                use base64ct::{Base64, Encoding as _};
                let key = Base64::decode_vec(raw.trim())
                    .map_err(|_| ConfigError::new("PARLEY_URL_SIGNING_KEY", "not valid base64"))?;
                if key.len() < 32 {
                    return Err(ConfigError::new(
                        "PARLEY_URL_SIGNING_KEY",
                        "must decode to at least 32 bytes (openssl rand -base64 32)",
                    ));
                }
                Some(key)
            }
        };
        let log_format = match env.get("PARLEY_LOG_FORMAT").as_deref().map(str::trim) {
            None | Some("text") => LogFormat::Text,
            Some("json") => LogFormat::Json,
            Some(other) => {
                return Err(ConfigError::new(
                    "PARLEY_LOG_FORMAT",
                    format!("{other:?} is not one of: text, json"),
                ));
            }
        };
        let max_blob_bytes = parse_num(env, "PARLEY_MAX_BLOB_BYTES", 100 * 1024 * 1024, 1)?;
        let push = push::push_from_env(env, &public_url)?;
        Ok(Self {
            push,
            bind,
            public_url,
            data_dir,
            database,
            db_pool_size: parse_num(env, "PARLEY_DB_POOL_SIZE", 8, 1)?,
            workers: match bounded(env, "PARLEY_WORKERS", 0usize, 0, 1024)? {
                0 => None,
                n => Some(n),
            },
            blobs,
            blob_url_ttl: Duration::from_secs(parse_num(env, "PARLEY_BLOB_URL_TTL_SECS", 300, 1)?),
            max_blob_bytes,
            url_signing_key,
            static_dir: PathBuf::from(
                env.get("PARLEY_STATIC_DIR")
                    .unwrap_or_else(|| "dist".into()),
            ),
            log_filter: env.get("PARLEY_LOG").unwrap_or_else(|| "info".into()),
            log_format,
            shutdown_timeout: Duration::from_secs(parse_num(
                env,
                "PARLEY_SHUTDOWN_TIMEOUT_SECS",
                10,
                0,
            )?),
            sweep_interval: Duration::from_secs(parse_num(
                env,
                "PARLEY_SWEEP_INTERVAL_SECS",
                60,
                1,
            )?),
            registration: match env.get("PARLEY_REGISTRATION").as_deref().map(str::trim) {
                None | Some("open") => RegistrationGate::Open,
                Some("invite") => RegistrationGate::Invite,
                Some("email-otp") => RegistrationGate::EmailOtp,
                Some(other) => {
                    return Err(ConfigError::new(
                        "PARLEY_REGISTRATION",
                        format!("{other:?} is not one of: open, invite, email-otp"),
                    ));
                }
            },
            mailer: match env.get("PARLEY_SMTP_URL").as_deref().map(str::trim) {
                Some("log") => Mailer::Log,
                Some(url) if url.starts_with("smtp://") || url.starts_with("smtps://") => {
                    Mailer::Smtp(url.to_owned())
                }
                Some(_) => {
                    return Err(ConfigError::new(
                        "PARLEY_SMTP_URL",
                        "must be smtp://…, smtps://… or log",
                    ));
                }
                None if env.get("PARLEY_REGISTRATION").as_deref().map(str::trim)
                    == Some("email-otp") =>
                {
                    return Err(ConfigError::new(
                        "PARLEY_SMTP_URL",
                        "must be set when PARLEY_REGISTRATION=email-otp (smtp://… or `log` for development)",
                    ));
                }
                None => Mailer::Log,
            },
            mail_from: env
                .get("PARLEY_SMTP_FROM")
                .unwrap_or_else(|| "Parley <parley@localhost>".into()),
            token_ttl: Duration::from_secs(parse_num(
                env,
                "PARLEY_TOKEN_TTL_SECS",
                30 * 24 * 3600,
                60,
            )?),
            challenge_ttl: Duration::from_secs(parse_num(
                env,
                "PARLEY_CHALLENGE_TTL_SECS",
                120,
                5,
            )?),
            envelope_ttl: Duration::from_secs(parse_num(
                env,
                "PARLEY_ENVELOPE_TTL_SECS",
                30 * 24 * 3600,
                1,
            )?),
            fast_path_window: fast_path_window(env)?,
            max_queue: parse_num(env, "PARLEY_MAX_QUEUE", 10_000, 1)?,
            max_queue_per_sender: parse_num(env, "PARLEY_MAX_QUEUE_PER_SENDER", 1_000, 1)?,
            max_connections_per_device: parse_num(env, "PARLEY_MAX_CONNECTIONS_PER_DEVICE", 5, 1)?,
            ws_write_stall: Duration::from_secs(bounded(
                env,
                "PARLEY_WS_WRITE_STALL_SECS",
                60,
                1,
                86_400,
            )?),
            max_connections: parse_num(env, "PARLEY_MAX_CONNECTIONS", 100_000, 1)?,
            rate_limit_ip_per_min: parse_num(env, "PARLEY_RATE_LIMIT_IP_PER_MIN", 600, 1)?,
            rate_limit_device_per_sec: parse_num(env, "PARLEY_RATE_LIMIT_DEVICE_PER_SEC", 200, 1)?,
            rate_limit_recipients_per_sec: parse_num(
                env,
                "PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC",
                4_096,
                MAX_RECIPIENTS_U32,
            )?,
            turn: turn_from_env(env)?,
            max_attachments_per_device: parse_num(
                env,
                "PARLEY_MAX_ATTACHMENTS_PER_DEVICE",
                200,
                1,
            )?,
            max_attachment_bytes_per_device: blobs::attachment_bytes_quota(env, max_blob_bytes)?,
            trusted_proxies: trusted_proxies(env)?,
            scale_out: scale_out::from_env(env)?,
            metrics_token_hash: match env.get("PARLEY_METRICS_TOKEN") {
                None => None,
                Some(t) if t.trim().len() >= 16 => {
                    Some(parley_shared::crypto::primitives::sha256(&[t
                        .trim()
                        .as_bytes()]))
                }
                Some(_) => {
                    return Err(ConfigError::new(
                        "PARLEY_METRICS_TOKEN",
                        "must be at least 16 characters (openssl rand -hex 16)",
                    ));
                }
            },
        })
    }
}

fn default_public_url(bind: SocketAddr) -> Result<Url, ConfigError> {
    let host = if bind.ip().is_unspecified() {
        "127.0.0.1".to_owned()
    } else {
        bind.ip().to_string()
    };
    let raw = if bind.is_ipv6() && !bind.ip().is_unspecified() {
        format!("http://[{host}]:{}/", bind.port())
    } else {
        format!("http://{host}:{}/", bind.port())
    };
    Url::parse(&raw).map_err(|e| ConfigError::new("PARLEY_BIND", format!("cannot form a URL: {e}")))
}

mod blobs;
mod parse;
mod push;
mod scale_out;
#[cfg(test)]
mod tests;
