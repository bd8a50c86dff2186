//! Parley's web app. This crate is an adapter (docs/architecture.md): UI and browser
//! APIs (IndexedDB, WebCrypto, WebSocket, camera, service worker) around the
//! engine in `parley-shared`, which holds every protocol rule.
// leptos' #[component] expands to `pub` props structs, whatever the
// function's visibility: the lint cannot be met in this crate.
#![allow(unreachable_pub)]
#![forbid(unsafe_code)]

mod api;
mod call;
mod files;
mod i18n;
mod link;
mod notify;
mod notify_rooms;
mod pair;
mod pwa;
mod qr;
mod relay;
mod room_view;
mod runtime;
mod store;
mod ui;
mod view;
mod worker;

// Reflect helpers shared with the file worker.
use parley_worker::js;

fn main() {
    // A panic is a bug: say what it was in the console instead of "unreachable".
    std::panic::set_hook(Box::new(|info| {
        web_sys::console::error_1(&format!("Parley crashed: {info}").into());
    }));
    // The app shows once its language's messages are in (one small fetch,
    // from the service worker's cache after the first visit). Not leptos'
    // spawn_local: its executor starts with the mount.
    wasm_bindgen_futures::spawn_local(async {
        match i18n::init().await {
            Ok(()) => leptos::mount::mount_to_body(ui::App),
            Err(_) => i18n::unloaded::show(),
        }
    });
}
