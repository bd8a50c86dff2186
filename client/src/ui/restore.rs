//! Onboarding → "Restore from a backup" (ADR 0021): open the file, then make
//! this browser a new device of the backed-up account.
//!
//! The file is opened before anything is made, so a wrong password or a
//! damaged file leaves the browser as it was. Argon2id runs on the main
//! thread behind the form's "Restoring…" state (see `backup`). Only a
//! restore that ended well is stored; one the relay refused erases the
//! device it registered for it.
//!
//! It lives in its own lazily loaded module (ADR 0031): Argon2id and the
//! backup format come when someone restores, not with every first run.

use js_sys::Uint8Array;
use parley_shared::crypto::backup::{BackupError, RecoveryKey};
use parley_shared::crypto::os_rng;
use parley_shared::engine::backup::{BackupContents, BackupSecret};
use parley_shared::engine::{AccountError, Engine, RestoreError};
use parley_shared::protocol::api::{EraseDevice, Failure};
use parley_shared::protocol::auth::GateProof;
use wasm_bindgen_futures::JsFuture;

use crate::i18n::Localize;
use crate::runtime::{self, Ui};
use crate::store::{Store, StoreError};
use crate::{api, tr};

/// Why a backup was not restored (nothing was kept in this browser).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum RestoreUiError {
    /// The file did not open.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The file could not be read.
    #[error("the browser could not read the file")]
    Browser,
    /// The new device was not registered.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// The relay refused the account's new list.
    #[error(transparent)]
    Restore(#[from] RestoreError),
    /// Browser storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl Localize for RestoreUiError {
    fn text(&self) -> String {
        match self {
            Self::Backup(e) => e.text(),
            Self::Browser => tr!("backup-browser"),
            Self::Account(e) => e.text(),
            Self::Restore(e) => e.text(),
            Self::Storage(e) => e.text(),
        }
    }
}

/// The whole restore from what the onboarding form holds: the file, the
/// typed password or recovery key, and the relay's gate. Its error is the
/// text to show. This is the restore module's entry (`lazy::restore_backup`).
pub(super) async fn run(
    file: web_sys::File,
    typed: String,
    is_key: bool,
    gate: GateProof,
    ui: Ui,
) -> Result<(), String> {
    let secret = secret(&typed, is_key).map_err(|e| e.text())?;
    restore(file, secret, gate, ui).await.map_err(|e| e.text())
}

/// What the person typed, as the secret it names.
fn secret(typed: &str, is_key: bool) -> Result<BackupSecret, RestoreUiError> {
    if is_key {
        Ok(BackupSecret::RecoveryKey(RecoveryKey::parse(typed)?))
    } else {
        Ok(BackupSecret::password(typed))
    }
}

async fn read(file: &web_sys::File) -> Result<Vec<u8>, RestoreUiError> {
    let buf = JsFuture::from(file.array_buffer())
        .await
        .map_err(|_| RestoreUiError::Browser)?;
    Ok(Uint8Array::new(&buf).to_vec())
}

/// Opens `file` with `secret`, registers a new device (passing `gate`),
/// restores into it and starts the runtime.
async fn restore(
    file: web_sys::File,
    secret: BackupSecret,
    gate: GateProof,
    ui: Ui,
) -> Result<(), RestoreUiError> {
    let bytes = read(&file).await?;
    // Let "Restoring…" paint before Argon2id holds the thread.
    runtime::sleep(50).await;
    let contents = BackupContents::open(&bytes, &secret)?;
    let mut engine = Engine::create_for_link(&mut os_rng(), &contents.name, api::now());
    engine.register(&api::origin(), gate)?;
    let mut writes = runtime::run_detached(&mut engine).await;
    match engine.account_result() {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(e.clone().into()),
        None => return Err(AccountError::Relay(Failure::Unreachable).into()),
    }
    engine.restore(contents)?;
    writes.extend(runtime::run_detached(&mut engine).await);
    match engine.restore_result().cloned() {
        Some(Ok(())) => {}
        failed => {
            // Nothing stays of it: the relay forgets the device too.
            if let Some(t) = engine.token(api::now()) {
                let _ = api::send(&EraseDevice, Some(t), &()).await;
            }
            return Err(failed
                .and_then(Result::err)
                .unwrap_or(RestoreError::Relay(Failure::Unreachable))
                .into());
        }
    }
    let store = Store::open().await?;
    store.apply(writes).await?;
    runtime::start(engine, store, ui);
    Ok(())
}
