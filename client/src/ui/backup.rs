//! Settings → Back up (ADR 0021): the engine's backup contents sealed under
//! a password (typed twice) or a recovery key (shown once, confirmed as
//! written down), offered as `parley-backup-<date>.parley`.
//!
//! Argon2id (64 MiB, 3 passes: about a second) runs on the main thread with
//! a visible "working" state: the file worker's jobs are streams of chunks,
//! and one call of a second does not warrant a new kind of job.

use js_sys::{Array, Uint8Array};
use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::backup::{BackupError, KdfParams, RecoveryKey};
use parley_shared::crypto::os_rng;
use parley_shared::engine::EngineError;
use parley_shared::engine::backup::BackupSecret;
use web_sys::{Blob, BlobPropertyBag};

use super::Put;
use crate::i18n::Localize;
use crate::{files, runtime, tr};

/// Shortest backup password accepted.
pub(super) const MIN_PASSWORD: usize = 10;

/// Why no backup file was made.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(super) enum MakeError {
    /// No account yet (or no runtime).
    #[error(transparent)]
    Engine(#[from] EngineError),
    /// Sealing failed.
    #[error(transparent)]
    Backup(#[from] BackupError),
    /// The browser would not make or offer the file.
    #[error("the browser could not save the file")]
    Browser,
}

impl Localize for MakeError {
    fn text(&self) -> String {
        match self {
            Self::Engine(e) => e.text(),
            Self::Backup(e) => e.text(),
            Self::Browser => tr!("backup-browser"),
        }
    }
}

/// `parley-backup-YYYY-MM-DD.parley`, in UTC.
fn file_name() -> String {
    let iso: String = js_sys::Date::new_0().to_iso_string().into();
    format!("parley-backup-{}.parley", iso.get(..10).unwrap_or("backup"))
}

/// Seals the backup and offers it as a download.
async fn make(secret: BackupSecret) -> Result<(), MakeError> {
    // Let "working" paint before Argon2id holds the thread.
    runtime::sleep(50).await;
    let contents = runtime::read(|e| e.backup_contents()).ok_or(EngineError::NoAccount)??;
    let sealed = contents.seal(&mut os_rng(), &secret, KdfParams::default())?;
    let parts = Array::of1(&Uint8Array::from(sealed.as_slice()));
    let opts = BlobPropertyBag::new();
    opts.set_type("application/octet-stream");
    let blob = Blob::new_with_u8_array_sequence_and_options(&parts, &opts)
        .map_err(|_| MakeError::Browser)?;
    let url = files::save(&blob, &file_name()).ok_or(MakeError::Browser)?;
    spawn_local(async move {
        // The download has its own copy once it started.
        runtime::sleep(60_000).await;
        let _ = web_sys::Url::revoke_object_url(&url);
    });
    Ok(())
}

/// The "Back up" card.
#[component]
pub(super) fn Backup() -> impl IntoView {
    let with_key = RwSignal::new(false);
    let pw = RwSignal::new(String::new());
    let pw2 = RwSignal::new(String::new());
    let key = RwSignal::new(None::<RecoveryKey>);
    let wrote = RwSignal::new(false);
    let working = RwSignal::new(false);
    let status = RwSignal::new(None::<Result<(), String>>);

    let run = move |secret: BackupSecret| {
        working.put(true);
        status.put(None);
        spawn_local(async move {
            let r = make(secret).await;
            working.put(false);
            if r.is_ok() {
                // Shown once: the key is gone from the page.
                key.put(None);
                wrote.put(false);
                pw.put(String::new());
                pw2.put(String::new());
            }
            status.put(Some(r.map_err(|e| e.text())));
        });
    };
    let with_password = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        let p = pw.get_untracked();
        if p.chars().count() < MIN_PASSWORD {
            status.put(Some(Err(tr!(
                "settings-backup-too-short",
                min = MIN_PASSWORD
            ))));
        } else if p != pw2.get_untracked() {
            status.put(Some(Err(tr!("settings-backup-mismatch"))));
        } else {
            run(BackupSecret::password(&p));
        }
    };
    let show_key = move |_| {
        status.put(None);
        wrote.put(false);
        key.put(Some(RecoveryKey::generate(&mut os_rng())));
    };
    let with_recovery_key = move |_| {
        if let Some(k) = key.get_untracked() {
            run(BackupSecret::RecoveryKey(k));
        }
    };

    view! {
        <section class="card backup">
            <h2>{move || tr!("settings-backup")}</h2>
            <p class="hint">{move || tr!("settings-backup-hint")}</p>
            <div class="row" role="radiogroup">
                <label class="check">
                    <input type="radio" name="backup-kind" prop:checked=move || !with_key.get()
                        on:change=move |_| with_key.put(false)/>
                    {move || tr!("settings-backup-with-password")}
                </label>
                <label class="check">
                    <input type="radio" name="backup-kind" prop:checked=move || with_key.get()
                        on:change=move |_| with_key.put(true)/>
                    {move || tr!("settings-backup-with-key")}
                </label>
            </div>
            <Show when=move || !with_key.get()>
                <form on:submit=with_password>
                    <label for="backup-password">{move || tr!("settings-backup-password")}</label>
                    <input id="backup-password" type="password" autocomplete="new-password"
                        prop:value=move || pw.get() on:input=move |ev| pw.put(event_target_value(&ev))/>
                    <label for="backup-password-again">{move || tr!("settings-backup-password-again")}</label>
                    <input id="backup-password-again" type="password" autocomplete="new-password"
                        prop:value=move || pw2.get() on:input=move |ev| pw2.put(event_target_value(&ev))/>
                    <button type="submit" class="secondary" disabled=move || working.get()>
                        {move || if working.get() { tr!("settings-backup-working") } else { tr!("settings-backup-download") }}
                    </button>
                </form>
            </Show>
            <Show when=move || with_key.get()>
                {move || match key.with(|k| k.as_ref().map(RecoveryKey::display)) {
                    None => view! {
                        <button type="button" class="secondary" on:click=show_key>
                            {move || tr!("settings-backup-make-key")}
                        </button>
                    }.into_any(),
                    Some(shown) => view! {
                        <p class="hint">{move || tr!("settings-backup-key-hint")}</p>
                        <p>
                            {move || tr!("settings-backup-key-label")} " "
                            <code class="recovery-key">{shown}</code>
                        </p>
                        <label class="check">
                            <input type="checkbox" prop:checked=move || wrote.get()
                                on:change=move |ev| wrote.put(event_target_checked(&ev))/>
                            {move || tr!("settings-backup-wrote-it")}
                        </label>
                        <button type="button" class="secondary" on:click=with_recovery_key
                            disabled=move || !wrote.get() || working.get()>
                            {move || if working.get() { tr!("settings-backup-working") } else { tr!("settings-backup-download") }}
                        </button>
                    }.into_any(),
                }}
            </Show>
            {move || status.get().map(|r| match r {
                Ok(()) => view! { <p class="hint" role="status">{move || tr!("settings-backup-done")}</p> }.into_any(),
                Err(e) => view! { <p class="error" role="alert">{e}</p> }.into_any(),
            })}
        </section>
    }
}
