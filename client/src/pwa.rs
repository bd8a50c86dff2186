//! Service worker registration and the "update ready" flow.
//!
//! A new worker installs in the background and waits; the app offers a reload,
//! which tells the waiting worker to take over and reloads once it controls
//! the page, so one page never mixes two app versions.

use leptos::prelude::*;
use wasm_bindgen::JsCast as _;
use wasm_bindgen::closure::Closure;
use wasm_bindgen_futures::JsFuture;
use web_sys::{
    ServiceWorker, ServiceWorkerContainer, ServiceWorkerRegistration, ServiceWorkerState,
};

fn container() -> Option<ServiceWorkerContainer> {
    let nav = web_sys::window()?.navigator();
    // Absent on insecure origins other than localhost.
    js_sys::Reflect::has(&nav, &"serviceWorker".into())
        .ok()
        .filter(|has| *has)
        .map(|_| nav.service_worker())
}

/// Registers `/sw.js` and flips `update_ready` when a new version is waiting.
pub(crate) fn register_service_worker(update_ready: RwSignal<bool>) {
    let Some(sw) = container() else { return };
    leptos::task::spawn_local(async move {
        let Ok(reg) = JsFuture::from(sw.register("/sw.js")).await else {
            leptos::logging::warn!("service worker registration failed");
            return;
        };
        let Ok(reg) = reg.dyn_into::<ServiceWorkerRegistration>() else {
            return;
        };
        let has_controller = container().and_then(|c| c.controller()).is_some();
        if reg.waiting().is_some() && has_controller {
            update_ready.set(true);
        }
        if has_controller {
            // Another tab took the update: this page runs the version before
            // and is offered the reload (`activate_update` replaces this).
            let on_change = Closure::<dyn FnMut()>::new(move || update_ready.set(true));
            sw.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
            on_change.forget();
        }
        let reg2 = reg.clone();
        let on_update = Closure::<dyn FnMut()>::new(move || {
            let Some(installing) = reg2.installing() else {
                return;
            };
            let worker = installing.clone();
            let on_state = Closure::<dyn FnMut()>::new(move || {
                let controlled = container().and_then(|c| c.controller()).is_some();
                if worker.state() == ServiceWorkerState::Installed && controlled {
                    update_ready.set(true);
                }
            });
            installing.set_onstatechange(Some(on_state.as_ref().unchecked_ref()));
            on_state.forget();
        });
        reg.set_onupdatefound(Some(on_update.as_ref().unchecked_ref()));
        on_update.forget();
    });
}

/// Activates the waiting worker and reloads when it takes control.
pub(crate) fn activate_update() {
    let Some(sw) = container() else { return };
    let on_change = Closure::<dyn FnMut()>::new(|| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    });
    sw.set_oncontrollerchange(Some(on_change.as_ref().unchecked_ref()));
    on_change.forget();
    leptos::task::spawn_local(async move {
        let Ok(reg) = JsFuture::from(sw.get_registration()).await else {
            return;
        };
        let Ok(reg) = reg.dyn_into::<ServiceWorkerRegistration>() else {
            return;
        };
        match reg.waiting() {
            Some(waiting) => post_skip_waiting(&waiting),
            // Another tab activated it already: the new version is in control.
            None => {
                if let Some(w) = web_sys::window() {
                    let _ = w.location().reload();
                }
            }
        }
    });
}

fn post_skip_waiting(worker: &ServiceWorker) {
    let msg = crate::js::obj(&[("type", "skip-waiting".into())]);
    if worker.post_message(&msg).is_err() {
        // The banner stays; the next visit gets the new version anyway.
        leptos::logging::warn!("could not ask the new service worker to take over");
    }
}
