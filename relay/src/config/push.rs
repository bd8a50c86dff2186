//! Web Push settings (ADR 0023): the VAPID key and subject, how often one
//! device may be woken, and how long a wake-up waits at the push service.

use std::time::Duration;

use url::Url;

use super::{ConfigError, Env, parse_num};

/// Web Push settings.
#[derive(Clone)]
pub struct PushConfig {
    /// The VAPID private key, raw P-256 scalar (`PARLEY_VAPID_PRIVATE_KEY`,
    /// base64url); `None` means "generate once and keep it in the data dir".
    pub vapid_private_key: Option<[u8; 32]>,
    /// The VAPID `sub` claim, a `mailto:` or `https:` contact for push
    /// services (`PARLEY_VAPID_SUBJECT`; default: the public URL).
    pub subject: String,
    /// Shortest time between two wake-ups of one device (`PARLEY_PUSH_INTERVAL_SECS`).
    pub min_interval: Duration,
    /// How long a push service keeps an undelivered wake-up (`PARLEY_PUSH_TTL_SECS`).
    pub ttl: Duration,
    /// Accept `http://127.0.0.1` endpoints: a local test push service only
    /// (`PARLEY_PUSH_ALLOW_LOOPBACK_HTTP`).
    pub allow_loopback_http: bool,
}

impl std::fmt::Debug for PushConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PushConfig")
            .field(
                "vapid_private_key",
                &self.vapid_private_key.map(|_| "<redacted>"),
            )
            .field("subject", &self.subject)
            .field("min_interval", &self.min_interval)
            .field("ttl", &self.ttl)
            .field("allow_loopback_http", &self.allow_loopback_http)
            .finish()
    }
}

/// Longest `TTL` a push may ask for: push services cap it at four weeks.
const MAX_TTL_SECS: u64 = 28 * 24 * 3600;

pub(super) fn push_from_env(env: &dyn Env, public_url: &Url) -> Result<PushConfig, ConfigError> {
    let vapid_private_key = match env.get("PARLEY_VAPID_PRIVATE_KEY") {
        None => None,
        Some(raw) => Some(
            parley_shared::crypto::codec::b64url::decode(raw.trim())
                .and_then(|k| <[u8; 32]>::try_from(k).ok())
                .ok_or_else(|| {
                    ConfigError::new(
                        "PARLEY_VAPID_PRIVATE_KEY",
                        "must be base64url (no padding) of a 32-byte P-256 private key",
                    )
                })?,
        ),
    };
    let subject = match env.get("PARLEY_VAPID_SUBJECT") {
        None => public_url.as_str().to_owned(),
        Some(s) if s.starts_with("mailto:") || s.starts_with("https://") => s.trim().to_owned(),
        Some(_) => {
            return Err(ConfigError::new(
                "PARLEY_VAPID_SUBJECT",
                "must be a mailto: or https:// contact",
            ));
        }
    };
    let ttl = parse_num(env, "PARLEY_PUSH_TTL_SECS", 24 * 3600, 0)?;
    if ttl > MAX_TTL_SECS {
        return Err(ConfigError::new(
            "PARLEY_PUSH_TTL_SECS",
            format!("must be at most {MAX_TTL_SECS} (four weeks)"),
        ));
    }
    let allow_loopback_http = match env
        .get("PARLEY_PUSH_ALLOW_LOOPBACK_HTTP")
        .as_deref()
        .map(str::trim)
    {
        None | Some("false" | "0" | "no") => false,
        Some("true" | "1" | "yes") => true,
        Some(other) => {
            return Err(ConfigError::new(
                "PARLEY_PUSH_ALLOW_LOOPBACK_HTTP",
                format!("{other:?} is not true or false"),
            ));
        }
    };
    Ok(PushConfig {
        vapid_private_key,
        subject,
        min_interval: Duration::from_secs(parse_num(env, "PARLEY_PUSH_INTERVAL_SECS", 30, 1)?),
        ttl: Duration::from_secs(ttl),
        allow_loopback_http,
    })
}
