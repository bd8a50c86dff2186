//! The call screen: over everything while a call rings, runs or just ended.

use leptos::prelude::*;
use parley_shared::engine::call::Quality;

use crate::api::now_ms;
use crate::call::{self, CallState, CallUi};
use crate::runtime;

/// The call overlay (hidden when there is no call).
#[component]
pub(super) fn CallScreen() -> impl IntoView {
    let c = expect_context::<CallUi>();
    let now = RwSignal::new(now_ms());
    leptos::task::spawn_local(async move {
        loop {
            runtime::sleep(1000).await;
            if now.try_set(now_ms()).is_some() {
                return;
            }
        }
    });
    let name = move || {
        c.peer
            .get()
            .and_then(|p| runtime::read(|e| e.contact(&p).map(|x| x.name.clone())).flatten())
            .unwrap_or_default()
    };
    let status = move || match c.state.get() {
        CallState::Idle => String::new(),
        CallState::Outgoing => "Calling…".into(),
        CallState::Incoming => if c.video.get() {
            "Incoming video call"
        } else {
            "Incoming audio call"
        }
        .into(),
        CallState::Connecting => "Connecting…".into(),
        CallState::Reconnecting => "Reconnecting…".into(),
        CallState::Connected => {
            let secs = c
                .connected_at
                .get()
                .map_or(0, |t| now.get().saturating_sub(t) / 1000);
            format!("{:02}:{:02}", secs / 60, secs % 60)
        }
        CallState::Ended(why) => why,
    };
    let live = move || {
        matches!(
            c.state.get(),
            CallState::Outgoing
                | CallState::Connecting
                | CallState::Connected
                | CallState::Reconnecting
        )
    };
    // Streams are attached by id; re-attach whenever the screen re-renders.
    Effect::new(move |_| {
        c.state.track();
        call::reattach();
    });
    view! {
        <Show when=move || c.state.get() != CallState::Idle>
            <section class="call" role="dialog" aria-label="Call" data-state=move || c.state.get().name()
                data-video=move || c.video.get().to_string()>
                <h2 class="call-peer">{name}</h2>
                <p class="call-status" role="status" aria-live="polite">{status}</p>
                <video id="remote-media" class="remote" autoplay playsinline
                    class:hidden=move || !c.video.get()></video>
                <video id="local-media" class="local" autoplay playsinline muted
                    class:hidden=move || !c.video.get() || c.camera_off.get()></video>
                <div class="call-controls">
                    <Show when=move || c.state.get() == CallState::Incoming>
                        <button type="button" class="primary" on:click=move |_| call::accept()>"Accept"</button>
                        <button type="button" class="danger" on:click=move |_| call::decline()>"Decline"</button>
                    </Show>
                    <Show when=live>
                        <button type="button" class="secondary" aria-pressed=move || c.muted.get().to_string()
                            on:click=move |_| call::set_muted(!c.muted.get_untracked())>
                            {move || if c.muted.get() { "Unmute" } else { "Mute" }}
                        </button>
                        <Show when=move || c.video.get()>
                            <button type="button" class="secondary" aria-pressed=move || c.camera_off.get().to_string()
                                on:click=move |_| call::set_camera_off(!c.camera_off.get_untracked())>
                                {move || if c.camera_off.get() { "Turn camera on" } else { "Turn camera off" }}
                            </button>
                        </Show>
                        <label class="quality">
                            "Quality "
                            <select aria-label="Call quality" prop:value=move || c.quality.get().name()
                                on:change=move |ev| {
                                    if let Some(q) = Quality::parse(&event_target_value(&ev)) {
                                        call::set_quality(q);
                                    }
                                }>
                                <option value="low">"Low (125 kbit/s)"</option>
                                <option value="normal">"Normal (300 kbit/s)"</option>
                                <option value="high">"High (2 Mbit/s)"</option>
                            </select>
                        </label>
                        <button type="button" class="danger" on:click=move |_| call::hang_up()>"Hang up"</button>
                    </Show>
                    <Show when=move || matches!(c.state.get(), CallState::Ended(_))>
                        <button type="button" class="secondary" on:click=move |_| call::dismiss()>"Close"</button>
                    </Show>
                </div>
            </section>
        </Show>
    }
}
