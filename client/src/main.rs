//! Parley's web app. This crate is an adapter: UI, browser APIs (fetch,
//! service worker, later IndexedDB/WebSocket/WebRTC) around `parley-shared`.
#![forbid(unsafe_code)]

mod pwa;
mod relay;

use leptos::prelude::*;
use relay::RelayStatus;

/// How often the start screen re-checks the relay.
const STATUS_POLL: std::time::Duration = std::time::Duration::from_secs(15);

fn main() {
    leptos::mount::mount_to_body(App);
}

#[component]
fn App() -> impl IntoView {
    let status = RwSignal::new(RelayStatus::Checking);
    let refresh = move || {
        leptos::task::spawn_local(async move {
            status.set(relay::check().await);
        });
    };
    refresh();
    let _ = set_interval_with_handle(refresh, STATUS_POLL);

    let update_ready = RwSignal::new(false);
    pwa::register_service_worker(update_ready);

    view! {
        <main class="start" data-screen="start">
            <header class="brand">
                <img src="/icons/icon-192.png" alt="" width="72" height="72"/>
                <h1>"Parley"</h1>
            </header>
            <p class="tagline">
                "Private messages, files and calls, end-to-end encrypted, through a relay you run."
            </p>
            <RelayBadge status=status/>
            <Show when=move || update_ready.get()>
                <div class="update" role="status">
                    <span>"A new version of Parley is ready."</span>
                    <button type="button" on:click=move |_| pwa::activate_update()>
                        "Reload to update"
                    </button>
                </div>
            </Show>
            <footer class="version">"Parley " {env!("CARGO_PKG_VERSION")}</footer>
        </main>
    }
}

#[component]
fn RelayBadge(status: RwSignal<RelayStatus>) -> impl IntoView {
    view! {
        <p class="relay-status" role="status" aria-live="polite"
            data-state=move || status.get().state()>
            <span class="dot" aria-hidden="true"></span>
            {move || status.get().label()}
        </p>
    }
}
