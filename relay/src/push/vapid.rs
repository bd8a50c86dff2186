//! The relay's VAPID key (RFC 8292): configured, or generated on first start
//! and kept in the data dir, so subscriptions made against it stay valid
//! across restarts.

use web_push_native::jwt_simple::algorithms::{ECDSAP256PublicKeyLike as _, ES256KeyPair};

use crate::config::{Config, ConfigError};

/// File in the data dir holding the generated VAPID private key (raw scalar).
const VAPID_KEY_FILE: &str = "vapid.key";

/// The configured key, or the one in the data dir (created if missing).
pub(super) fn key_pair(config: &Config) -> Result<ES256KeyPair, ConfigError> {
    if let Some(raw) = &config.push.vapid_private_key {
        return ES256KeyPair::from_bytes(raw).map_err(|_| {
            ConfigError::new("PARLEY_VAPID_PRIVATE_KEY", "not a valid P-256 private key")
        });
    }
    let path = config.data_dir.join(VAPID_KEY_FILE);
    let bad = |why: String| ConfigError::new("PARLEY_DATA_DIR", why);
    match std::fs::read(&path) {
        Ok(raw) => ES256KeyPair::from_bytes(&raw).map_err(|_| {
            bad(format!(
                "{} is not a P-256 private key; delete it to regenerate (browsers then subscribe again)",
                path.display()
            ))
        }),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let pair = ES256KeyPair::generate();
            crate::server::write_private(&path, &pair.to_bytes())
                .map_err(|e| bad(format!("cannot create {}: {e}", path.display())))?;
            Ok(pair)
        }
        Err(e) => Err(bad(format!("cannot read {}: {e}", path.display()))),
    }
}

/// The public key as browsers take it (`applicationServerKey`): the
/// uncompressed point, base64url.
pub(super) fn public_key_b64(pair: &ES256KeyPair) -> String {
    parley_shared::crypto::codec::b64url::encode(
        &pair.public_key().public_key().to_bytes_uncompressed(),
    )
}
