//! A camera QR scanner: opens the camera on request, decodes frames until a
//! code appears or the user stops, and always turns the camera off again.

use leptos::prelude::*;
use leptos::task::spawn_local;
use web_sys::MediaStream;

use super::Put;
use crate::i18n::Localize as _;
use crate::worker::FileWorker;
use crate::{qr, runtime, tr};

/// How often a frame is decoded while the camera is open, ms.
const FRAME_MS: u32 = 200;

/// The scanner. `on_code` gets the first code seen (the camera is off by then);
/// camera problems go to `error`.
#[component]
pub(super) fn QrScanner(
    /// The button that opens the camera.
    start_label: Signal<String>,
    /// Shown while the camera is open.
    prompt: Signal<String>,
    /// Receives the decoded text.
    on_code: Callback<String>,
    /// Where camera problems are shown.
    error: RwSignal<Option<String>>,
    /// Disables the start button (while something else runs).
    #[prop(into, optional)]
    disabled: Signal<bool>,
) -> impl IntoView {
    let scanning = RwSignal::new(false);
    let left = RwSignal::new(false);
    on_cleanup(move || left.put(true));
    let video = NodeRef::<leptos::html::Video>::new();
    let canvas = NodeRef::<leptos::html::Canvas>::new();
    let scan = move |_| {
        let (Some(v), Some(c)) = (video.get(), canvas.get()) else {
            return;
        };
        error.put(None);
        scanning.put(true);
        spawn_local(async move {
            let stream: MediaStream = match qr::start_camera(&v).await {
                Ok(s) => s,
                Err(e) => {
                    scanning.put(false);
                    error.put(Some(e.text()));
                    return;
                }
            };
            // Frames are decoded in the worker, which lives while the camera is on.
            let worker = match FileWorker::start().await {
                Ok(w) => Some(w),
                Err(_) => {
                    error.put(Some(qr::CameraError::Failed.text()));
                    None
                }
            };
            let mut found = None;
            while let Some(w) = &worker
                && scanning.try_get_untracked().unwrap_or(false)
                && !left.try_get_untracked().unwrap_or(true)
            {
                if let Some(text) = qr::scan_frame(w, &v, &c).await {
                    found = Some(text);
                    break;
                }
                runtime::sleep(FRAME_MS).await;
            }
            drop(worker);
            qr::stop_camera(&stream);
            v.set_src_object(None);
            scanning.put(false);
            if let Some(text) = found {
                on_code.run(text);
            }
        });
    };
    view! {
        <video node_ref=video class="camera" class:hidden=move || !scanning.get() playsinline=true aria-label=move || tr!("scanner-preview")></video>
        <canvas node_ref=canvas class="hidden"></canvas>
        <Show when=move || !scanning.get()
            fallback=move || view! {
                <p class="hint" role="status">{move || prompt.get()}</p>
                <button type="button" class="secondary" on:click=move |_| scanning.put(false)>{move || tr!("scanner-stop")}</button>
            }>
            <button type="button" class="primary" on:click=scan disabled=move || disabled.get()>{move || start_label.get()}</button>
        </Show>
    }
}
