//! The call screen: over everything while a call rings, runs or just ended.

use leptos::prelude::*;
use parley_shared::engine::call::{CallPhase, HangupReason, Outcome, Quality};

use crate::api;
use crate::call::{self, CallUi};
use crate::{runtime, tr};

/// The call overlay (hidden when there is no call).
#[component]
pub(super) fn CallScreen() -> impl IntoView {
    let c = expect_context::<CallUi>();
    let now = RwSignal::new(api::now());
    leptos::task::spawn_local(async move {
        loop {
            runtime::sleep(1000).await;
            if now.try_set(api::now()).is_some() {
                return;
            }
        }
    });
    // The call's state and rules are the engine's call machine; this only renders its view.
    let phase = move || c.view.with(|v| v.phase);
    let video = move || c.view.with(|v| v.video);
    let name = move || {
        c.view
            .with(|v| v.peer)
            .and_then(|p| runtime::read(|e| e.contact(&p).map(|x| x.name.clone())).flatten())
            .unwrap_or_default()
    };
    let status = move || match phase() {
        CallPhase::Idle => String::new(),
        CallPhase::Outgoing => tr!("call-calling"),
        CallPhase::Incoming if video() => tr!("call-incoming-video"),
        CallPhase::Incoming => tr!("call-incoming-audio"),
        CallPhase::Connecting => tr!("call-connecting"),
        CallPhase::Reconnecting => tr!("call-reconnecting"),
        CallPhase::Connected => {
            let secs = c
                .view
                .with(|v| v.connected_at)
                .map_or(0, |t| now.get().since(t).as_secs());
            format!("{:02}:{:02}", secs / 60, secs % 60)
        }
        CallPhase::Ended => c
            .view
            .with(|v| v.outcome.as_ref().map(outcome))
            .unwrap_or_default(),
    };
    let live = move || {
        matches!(
            phase(),
            CallPhase::Outgoing
                | CallPhase::Connecting
                | CallPhase::Connected
                | CallPhase::Reconnecting
        )
    };
    // Streams are attached by id; re-attach whenever the screen re-renders.
    Effect::new(move |_| {
        c.view.track();
        call::reattach();
    });
    view! {
        <Show when=move || phase() != CallPhase::Idle>
            <section class="call" role="dialog" aria-label=move || tr!("call-dialog") data-state=move || phase().name()
                data-video=move || video().to_string()>
                <h2 class="call-peer">{name}</h2>
                <p class="call-status" role="status" aria-live="polite">{status}</p>
                <video id="remote-media" class="remote" autoplay playsinline
                    class:hidden=move || !video()></video>
                <video id="local-media" class="local" autoplay playsinline muted
                    class:hidden=move || !video() || c.camera_off.get()></video>
                <div class="call-controls">
                    <Show when=move || phase() == CallPhase::Incoming>
                        <button type="button" class="primary" on:click=move |_| call::accept()>{move || tr!("call-accept")}</button>
                        <button type="button" class="danger" on:click=move |_| call::decline()>{move || tr!("call-decline")}</button>
                    </Show>
                    <Show when=live>
                        <button type="button" class="secondary" aria-pressed=move || c.muted.get().to_string()
                            on:click=move |_| call::set_muted(!c.muted.get_untracked())>
                            {move || if c.muted.get() { tr!("call-unmute") } else { tr!("call-mute") }}
                        </button>
                        <Show when=video>
                            <button type="button" class="secondary" aria-pressed=move || c.camera_off.get().to_string()
                                on:click=move |_| call::set_camera_off(!c.camera_off.get_untracked())>
                                {move || if c.camera_off.get() { tr!("call-camera-on") } else { tr!("call-camera-off") }}
                            </button>
                        </Show>
                        <label class="quality">
                            {move || tr!("call-quality")} " "
                            <select aria-label=move || tr!("call-quality-label") prop:value=move || c.view.with(|v| v.quality.name())
                                on:change=move |ev| {
                                    if let Some(q) = Quality::parse(&event_target_value(&ev)) {
                                        call::set_quality(q);
                                    }
                                }>
                                <option value="low">{move || tr!("call-quality-low")}</option>
                                <option value="normal">{move || tr!("call-quality-normal")}</option>
                                <option value="high">{move || tr!("call-quality-high")}</option>
                            </select>
                        </label>
                        <button type="button" class="danger" on:click=move |_| call::hang_up()>{move || tr!("call-hang-up")}</button>
                    </Show>
                    <Show when=move || phase() == CallPhase::Ended>
                        <button type="button" class="secondary" on:click=move |_| call::dismiss()>{move || tr!("call-close")}</button>
                    </Show>
                </div>
            </section>
        </Show>
    }
}

/// How a call ended, as the call screen says it.
fn outcome(o: &Outcome) -> String {
    match (&o.detail, o.reason) {
        // A local failure, already translated by the adapter that saw it.
        (Some(d), _) => tr!("call-failed-detail", detail = d.clone()),
        (None, HangupReason::Ended) => tr!("call-ended"),
        (None, HangupReason::Declined) => tr!("call-declined"),
        (None, HangupReason::Busy) => tr!("call-busy"),
        (None, HangupReason::Unanswered) => tr!("call-unanswered"),
        (None, HangupReason::Failed) => tr!("call-failed"),
        (None, HangupReason::HandledElsewhere) => tr!("call-handled-elsewhere"),
    }
}
