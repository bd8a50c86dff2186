//! First run: create the identity in this browser, name it, and register it
//! with the relay (passing its gate: open, invite code or emailed code); or
//! restore one from a backup file (`restore`), which passes the same gate.

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::crypto::os_rng;
use parley_shared::engine::AccountError;
use parley_shared::engine::Engine;
use parley_shared::engine::content::clean_name;
use parley_shared::protocol::api::{Failure, GetInfo, Json, RequestEmailCode};
use parley_shared::protocol::auth::{EmailCodeRequest, GateProof, RegistrationMode};

use super::{Brand, Nav, Put, Screen, lazy};
use crate::i18n::Localize;
use crate::runtime::{self, Ui};
use crate::store::{Store, StoreError};
use crate::{api, tr};

/// Why the identity could not be created.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
enum OnboardError {
    /// The relay did not register it.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// Browser storage failed.
    #[error(transparent)]
    Storage(#[from] StoreError),
}

impl Localize for OnboardError {
    fn text(&self) -> String {
        match self {
            Self::Account(e) => e.text(),
            Self::Storage(e) => e.text(),
        }
    }
}

/// Creates the identity and runs the engine's registration flow; only a
/// registered identity is stored, and then the runtime starts. A device to
/// be linked (`link`) makes no account of its own: it gets one with the
/// history from the device that links it.
///
/// It lives in the account module (`lazy::register_account`), which the
/// form fetches once it shows: key generation and registration are not
/// needed to show a new visitor's first screen.
pub(super) async fn register(
    name: String,
    gate: GateProof,
    ui: Ui,
    link: bool,
) -> Result<(), String> {
    create(name, gate, ui, link).await.map_err(|e| e.text())
}

async fn create(name: String, gate: GateProof, ui: Ui, link: bool) -> Result<(), OnboardError> {
    let mut engine = if link {
        Engine::create_for_link(&mut os_rng(), &name, api::now())
    } else {
        Engine::create(&mut os_rng(), &name, api::now())
    };
    engine.register(&api::origin(), gate)?;
    let writes = runtime::run_detached(&mut engine).await;
    match engine.account_result() {
        Some(Ok(_)) => {}
        Some(Err(e)) => return Err(e.clone().into()),
        None => return Err(AccountError::Relay(Failure::Unreachable).into()),
    }
    let store = Store::open().await?;
    store.apply(writes).await?;
    runtime::start(engine, store, ui);
    // Ask the browser to keep the account (Settings shows its answer).
    let _ = super::storage::persist().await;
    Ok(())
}

/// Asks the relay which gate it has (open, invite code or emailed code),
/// and keeps the answer in `mode`.
async fn relay_gate(mode: RwSignal<Option<RegistrationMode>>) -> Result<RegistrationMode, Failure> {
    let Json(info) = api::send(&GetInfo, None, &()).await?;
    mode.put(Some(info.registration));
    Ok(info.registration)
}

/// The onboarding form.
#[component]
pub(super) fn Onboarding() -> impl IntoView {
    let nav = expect_context::<Nav>();
    let ui = expect_context::<Ui>();
    let pending = expect_context::<RwSignal<Option<String>>>();
    let mode = RwSignal::new(None::<RegistrationMode>);
    let name = RwSignal::new(String::new());
    let invite = RwSignal::new(String::new());
    let email = RwSignal::new(String::new());
    let code = RwSignal::new(String::new());
    let code_sent = RwSignal::new(false);
    let busy = RwSignal::new(false);
    let error = RwSignal::new(None::<String>);
    let restoring = RwSignal::new(false);
    let linking = RwSignal::new(false);
    let restore_key = RwSignal::new(false);
    let backup_secret = RwSignal::new(String::new());
    let backup_file = NodeRef::<leptos::html::Input>::new();

    // What the submit runs comes while the form is filled in.
    lazy::prefetch_account();
    spawn_local(async move {
        if let Err(f) = relay_gate(mode).await {
            error.put(Some(f.text()));
        }
    });

    let send_code = move |_| {
        error.put(None);
        busy.put(true);
        spawn_local(async move {
            let body = EmailCodeRequest {
                email: email.get_untracked(),
            };
            let r = api::send(&RequestEmailCode, None, &Json(body)).await;
            busy.put(false);
            match r {
                Ok(_) => code_sent.put(true),
                Err(f) => error.put(Some(f.text())),
            }
        });
    };

    let submit = move |ev: leptos::ev::SubmitEvent| {
        ev.prevent_default();
        error.put(None);
        let n = clean_name(&name.get_untracked());
        let restore = restoring.get_untracked();
        let link = linking.get_untracked();
        if n.is_empty() && !restore && !link {
            error.put(Some(tr!("onboarding-name-missing")));
            return;
        }
        let file = if restore {
            let file = backup_file
                .get_untracked()
                .and_then(|i| i.files())
                .and_then(|f| f.get(0));
            if file.is_none() {
                error.put(Some(tr!("onboarding-restore-no-file")));
                return;
            }
            file
        } else {
            None
        };
        busy.put(true);
        spawn_local(async move {
            // Submitted before the relay said which gate it has (a fast
            // keyboard, a slow relay): ask again rather than refuse.
            let gate = match mode.get_untracked() {
                Some(m) => Ok(m),
                None => relay_gate(mode).await,
            }
            .map(|m| match m {
                RegistrationMode::Open => GateProof::Open,
                RegistrationMode::Invite => GateProof::Invite {
                    code: invite.get_untracked().trim().to_owned(),
                },
                RegistrationMode::EmailOtp => GateProof::EmailOtp {
                    email: email.get_untracked(),
                    code: code.get_untracked().trim().to_owned(),
                },
            });
            let r = match (gate, file) {
                (Err(f), _) => Err(f.text()),
                (Ok(gate), Some(file)) => {
                    let typed = backup_secret.get_untracked();
                    let is_key = restore_key.get_untracked();
                    match lazy::restore_backup(file, typed, is_key, gate, ui).await {
                        Ok(restoring) => restoring.await,
                        Err(lazy::Unavailable) => Err(tr!("part-unavailable")),
                    }
                }
                (Ok(gate), None) => match lazy::register_account(n, gate, ui, link).await {
                    Ok(registering) => registering.await,
                    Err(lazy::Unavailable) => Err(tr!("part-unavailable")),
                },
            };
            busy.put(false);
            match r {
                Ok(()) if restore => nav.put(Screen::Home),
                Ok(()) if link => nav.put(Screen::LinkShow),
                Ok(()) => nav.put(match pending.get_untracked() {
                    Some(link) => Screen::Join(Some(link)),
                    None => Screen::Home,
                }),
                Err(text) => error.put(Some(text)),
            }
        });
    };

    let is = move |m: RegistrationMode| mode.get() == Some(m);
    view! {
        <main class="start" data-screen="onboarding">
            <Brand/>
            <form class="card" on:submit=submit>
                <Show when=move || linking.get()>
                    <h2>{move || tr!("onboarding-link-title")}</h2>
                    <p class="hint">{move || tr!("onboarding-link-hint")}</p>
                </Show>
                <Show when=move || !restoring.get() && !linking.get()>
                    <h2>{move || tr!("onboarding-title")}</h2>
                    <p class="hint">{move || tr!("onboarding-hint")}</p>
                    <label for="name">{move || tr!("onboarding-name")}</label>
                    <input id="name" name="name" autocomplete="nickname" maxlength="64" required
                        prop:value=move || name.get() on:input=move |ev| name.put(event_target_value(&ev))/>
                </Show>
                <Show when=move || restoring.get()>
                    <h2>{move || tr!("onboarding-restore-title")}</h2>
                    <p class="hint">{move || tr!("onboarding-restore-hint")}</p>
                    <label for="backup-file">{move || tr!("onboarding-restore-file")}</label>
                    <input id="backup-file" type="file" accept=".parley,application/octet-stream" node_ref=backup_file/>
                    <div class="row" role="radiogroup">
                        <label class="check">
                            <input type="radio" name="restore-kind" prop:checked=move || !restore_key.get()
                                on:change=move |_| restore_key.put(false)/>
                            {move || tr!("onboarding-restore-with-password")}
                        </label>
                        <label class="check">
                            <input type="radio" name="restore-kind" prop:checked=move || restore_key.get()
                                on:change=move |_| restore_key.put(true)/>
                            {move || tr!("onboarding-restore-with-key")}
                        </label>
                    </div>
                    <label for="backup-secret">
                        {move || if restore_key.get() { tr!("onboarding-restore-secret-key") } else { tr!("onboarding-restore-secret-password") }}
                    </label>
                    <input id="backup-secret" autocomplete="off"
                        type=move || if restore_key.get() { "text" } else { "password" }
                        prop:value=move || backup_secret.get() on:input=move |ev| backup_secret.put(event_target_value(&ev))/>
                </Show>
                <Show when=move || is(RegistrationMode::Invite)>
                    <label for="invite-code">{move || tr!("onboarding-invite-code")}</label>
                    <input id="invite-code" autocomplete="off"
                        prop:value=move || invite.get() on:input=move |ev| invite.put(event_target_value(&ev))/>
                </Show>
                <Show when=move || is(RegistrationMode::EmailOtp)>
                    <label for="email">{move || tr!("onboarding-email")}</label>
                    <div class="row">
                        <input id="email" type="email" autocomplete="email"
                            prop:value=move || email.get() on:input=move |ev| email.put(event_target_value(&ev))/>
                        <button type="button" class="secondary" on:click=send_code disabled=move || busy.get()>
                            {move || tr!("onboarding-send-code")}
                        </button>
                    </div>
                    <Show when=move || code_sent.get()>
                        <p class="hint" role="status">{move || tr!("onboarding-code-sent")}</p>
                    </Show>
                    <label for="email-code">{move || tr!("onboarding-email-code")}</label>
                    <input id="email-code" inputmode="numeric" autocomplete="one-time-code" maxlength="6"
                        prop:value=move || code.get() on:input=move |ev| code.put(event_target_value(&ev))/>
                </Show>
                <Show when=move || error.get().is_some()>
                    <p class="error" role="alert">{move || error.get()}</p>
                </Show>
                <button type="submit" class="primary" disabled=move || busy.get()>
                    {move || match (restoring.get(), linking.get(), busy.get()) {
                        (_, true, _) => tr!("onboarding-link-button"),
                        (false, _, true) => tr!("onboarding-creating"),
                        (false, _, false) => tr!("onboarding-create"),
                        (true, _, true) => tr!("onboarding-restore-working"),
                        (true, _, false) => tr!("onboarding-restore-button"),
                    }}
                </button>
                <Show when=move || !linking.get()>
                    <button type="button" class="link" disabled=move || busy.get()
                        on:click=move |_| { error.put(None); restoring.update(|r| *r = !*r); }>
                        {move || if restoring.get() { tr!("onboarding-restore-back") } else { tr!("onboarding-restore") }}
                    </button>
                </Show>
                <Show when=move || !restoring.get()>
                    <button type="button" class="link" data-action="link-device" disabled=move || busy.get()
                        on:click=move |_| { error.put(None); linking.update(|l| *l = !*l); }>
                        {move || if linking.get() { tr!("onboarding-restore-back") } else { tr!("onboarding-link") }}
                    </button>
                </Show>
            </form>
        </main>
    }
}
