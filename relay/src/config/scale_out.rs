//! Settings for running several relay nodes on one database (ADR 0024):
//! the Redis that carries wake-ups between them, and the mailbox poll that
//! bounds the delay when a wake-up is lost.

use std::time::Duration;

use url::Url;

use super::{ConfigError, Env, parse_num};

/// Mailbox poll when Redis is configured and `PARLEY_MAILBOX_POLL_SECS` is not.
const DEFAULT_POLL_WITH_REDIS: u64 = 5;

/// A `redis://` URL; its password is never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct RedisUrl(String);

impl RedisUrl {
    /// The URL as given, for the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for RedisUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match Url::parse(&self.0) {
            Ok(mut u) => {
                if u.password().is_some() {
                    let _ = u.set_password(Some("***"));
                }
                write!(f, "{u}")
            }
            Err(_) => f.write_str("(unparsable)"),
        }
    }
}

/// How this node finds the others.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ScaleOut {
    /// Redis for cross-node signals (`PARLEY_REDIS_URL`); `None`: one
    /// process, the in-process hub alone.
    pub redis: Option<RedisUrl>,
    /// How often each connection re-reads its mailbox regardless of
    /// wake-ups (`PARLEY_MAILBOX_POLL_SECS`); `None`: never.
    pub mailbox_poll: Option<Duration>,
}

/// Reads `PARLEY_REDIS_URL` and `PARLEY_MAILBOX_POLL_SECS`.
pub(super) fn from_env(env: &dyn Env) -> Result<ScaleOut, ConfigError> {
    let redis = match env.get("PARLEY_REDIS_URL") {
        None => None,
        Some(raw) => {
            let raw = raw.trim().to_owned();
            let url = Url::parse(&raw)
                .map_err(|e| ConfigError::new("PARLEY_REDIS_URL", format!("not a URL: {e}")))?;
            // TLS would need another feature of the redis crate and a
            // certificate store; Redis sits next to the nodes, on their network.
            if url.scheme() != "redis" {
                return Err(ConfigError::new(
                    "PARLEY_REDIS_URL",
                    format!(
                        "unsupported scheme {:?}: use redis://[:password@]host:port[/db]",
                        url.scheme()
                    ),
                ));
            }
            Some(RedisUrl(raw))
        }
    };
    let default = if redis.is_some() {
        DEFAULT_POLL_WITH_REDIS
    } else {
        0
    };
    let secs: u64 = parse_num(env, "PARLEY_MAILBOX_POLL_SECS", default, 0)?;
    Ok(ScaleOut {
        redis,
        mailbox_poll: (secs > 0).then(|| Duration::from_secs(secs)),
    })
}
