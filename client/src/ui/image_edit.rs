//! The image editor of the attach step: crop, turn, and blur or pixelate a
//! region (faces, addresses) before an image is sent. Each change runs the
//! file worker's filter pipeline (`parley_shared::media::pipeline`:
//! metadata removal, then every edit so far) on the original file, and the
//! preview is that output: what it shows is exactly what will be sent.
//!
//! A region is drawn with the pointer, or moved with the arrow keys (Shift
//! resizes) from where it starts, the middle of the image.

use std::rc::Rc;

use leptos::prelude::*;
use leptos::task::spawn_local;
use parley_shared::media::edit::{Edit, MAX_EDITS, Selection, Turn};
use parley_shared::media::pipeline;
use wasm_bindgen::JsCast as _;
use web_sys::{Blob, File};

use super::icons::{Icon, IconView};
use crate::files::{MAX_STRIP, prepare_image};
use crate::i18n::Localize as _;
use crate::tr;
use crate::worker::{FileWorker, WorkerError};

/// The image the editor made: `None` while there is no edit.
pub(super) type Edited = RwSignal<Option<Blob>, LocalStorage>;

/// Arrow-key step, as a fraction of the image.
const STEP: f64 = 0.02;

/// What a drawn region will become.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Tool {
    Crop,
    Blur,
    Pixelate,
}

impl Tool {
    fn label(self) -> String {
        match self {
            Self::Crop => tr!("edit-crop"),
            Self::Blur => tr!("edit-blur"),
            Self::Pixelate => tr!("edit-pixelate"),
        }
    }

    fn icon(self) -> Icon {
        match self {
            Self::Crop => Icon::Crop,
            Self::Blur => Icon::Blur,
            Self::Pixelate => Icon::Pixelate,
        }
    }

    fn edit(self, area: parley_shared::media::edit::Area) -> Edit {
        match self {
            Self::Crop => Edit::Crop(area),
            Self::Blur => Edit::hiding_blur(area),
            Self::Pixelate => Edit::hiding_pixelation(area),
        }
    }
}

/// Images the pipeline can decode and encode again, small enough to hold.
pub(super) fn editable(file: &File) -> bool {
    pipeline::editable(&file.type_()) && file.size() <= MAX_STRIP
}

fn object_url(blob: &Blob) -> Option<String> {
    web_sys::Url::create_object_url_with_blob(blob).ok()
}

/// The editor's file worker, started on the first edit and kept (each
/// render would otherwise load and compile the worker's wasm again); it
/// ends with the editor.
type Worker = StoredValue<Option<Rc<FileWorker>>, LocalStorage>;

/// Runs the pipeline with `edits` on `file`; `None` for no edits.
async fn render(
    worker: Worker,
    file: &File,
    edits: Vec<Edit>,
) -> Result<Option<Blob>, WorkerError> {
    if edits.is_empty() {
        return Ok(None);
    }
    let w = match worker.get_value() {
        Some(w) => w,
        None => {
            let w = Rc::new(FileWorker::start().await?);
            worker.set_value(Some(w.clone()));
            w
        }
    };
    let r = prepare_image(&w, file, &file.type_(), edits).await;
    if matches!(r, Err(WorkerError::Stopped)) {
        // A crashed worker is not asked again: the next render starts one.
        worker.set_value(None);
    }
    r
}

/// The editor for `file`; `edited` gets the image to send, and `busy` is
/// set while the worker renders (the sheet waits before sending).
#[component]
pub(super) fn ImageEditor(file: File, edited: Edited, busy: RwSignal<bool>) -> impl IntoView {
    let original = StoredValue::new_local(file);
    let edits = RwSignal::new(Vec::<Edit>::new());
    let shown = RwSignal::new(original.with_value(|f| object_url(f)));
    let natural = RwSignal::new((0u32, 0u32));
    let tool = RwSignal::new(None::<Tool>);
    let sel = RwSignal::new(Selection::MIDDLE);
    let drag = StoredValue::new(None::<(f64, f64)>);
    let error = RwSignal::new(None::<String>);
    let said = RwSignal::new(String::new());
    let img = NodeRef::<leptos::html::Img>::new();
    let worker: Worker = StoredValue::new_local(None);
    let revoke = move || {
        if let Some(old) = shown.get_untracked() {
            let _ = web_sys::Url::revoke_object_url(&old);
        }
    };
    let show = move |url: Option<String>| {
        revoke();
        shown.set(url);
    };
    on_cleanup(revoke);

    // Renders `next` and, once the worker is done, shows it; a failure
    // keeps the last good state and says why.
    let run = move |next: Vec<Edit>, done: String| {
        busy.set(true);
        error.set(None);
        let file = original.get_value();
        spawn_local(async move {
            match render(worker, &file, next.clone()).await {
                Ok(blob) => {
                    show(blob.as_ref().map_or_else(|| object_url(&file), object_url));
                    let _ = edited.try_set(blob);
                    let _ = edits.try_set(next);
                    let _ = tool.try_set(None);
                    let _ = said.try_set(done);
                }
                Err(e) => {
                    let _ = error.try_set(Some(e.text()));
                }
            }
            let _ = busy.try_set(false);
        });
    };
    let apply = move |_| {
        let Some(t) = tool.get_untracked() else {
            return;
        };
        let (w, h) = natural.get_untracked();
        let Some(area) = sel.get_untracked().to_area(w, h) else {
            return;
        };
        let mut next = edits.get_untracked();
        next.push(t.edit(area));
        run(next, tr!("edit-applied"));
    };
    let rotate = move |_| {
        let mut next = edits.get_untracked();
        next.push(Edit::Rotate(Turn::Quarter));
        run(next, tr!("edit-rotated"));
    };
    let undo = move |_| {
        let mut next = edits.get_untracked();
        if next.pop().is_some() {
            run(next, tr!("edit-undone"));
        }
    };
    let choose = move |t: Tool| {
        tool.set((tool.get_untracked() != Some(t)).then_some(t));
        sel.set(Selection::MIDDLE);
    };

    // Where a pointer is over the image, as fractions of it.
    let at = move |ev: &web_sys::PointerEvent| {
        let r = img.get_untracked()?.get_bounding_client_rect();
        (r.width() > 0.0 && r.height() > 0.0).then(|| {
            (
                (f64::from(ev.client_x()) - r.left()) / r.width(),
                (f64::from(ev.client_y()) - r.top()) / r.height(),
            )
        })
    };
    let on_down = move |ev: web_sys::PointerEvent| {
        if tool.get_untracked().is_none() || busy.get_untracked() {
            return;
        }
        if let Some(p) = at(&ev) {
            ev.prevent_default();
            if let Some(el) = ev
                .target()
                .and_then(|t| t.dyn_into::<web_sys::Element>().ok())
            {
                let _ = el.set_pointer_capture(ev.pointer_id());
            }
            drag.set_value(Some(p));
            sel.set(Selection::between(p, p));
        }
    };
    let on_move = move |ev: web_sys::PointerEvent| {
        if let (Some(a), Some(b)) = (drag.get_value(), at(&ev)) {
            sel.set(Selection::between(a, b));
        }
    };
    let on_up = move |_: web_sys::PointerEvent| {
        if drag.get_value().is_some() {
            drag.set_value(None);
            if !sel.get_untracked().is_usable() {
                sel.set(Selection::MIDDLE);
            }
        }
    };
    let on_key = move |ev: leptos::ev::KeyboardEvent| {
        let (dx, dy) = match ev.key().as_str() {
            "ArrowLeft" => (-STEP, 0.0),
            "ArrowRight" => (STEP, 0.0),
            "ArrowUp" => (0.0, -STEP),
            "ArrowDown" => (0.0, STEP),
            "Enter" => {
                ev.prevent_default();
                return apply(());
            }
            _ => return,
        };
        ev.prevent_default();
        sel.update(|s| {
            *s = if ev.shift_key() {
                s.resized(dx, dy)
            } else {
                s.moved(dx, dy)
            }
        });
    };
    let pct = |v: f64| format!("{:.3}%", v * 100.0);
    let full = move || edits.with(|e| e.len() >= MAX_EDITS);
    let tool_button = move |t: Tool| {
        view! {
            <button type="button" class="secondary" aria-pressed=move || (tool.get() == Some(t)).to_string()
                disabled=move || busy.get() || full() on:click=move |_| choose(t)>
                <IconView icon=t.icon()/>" "{move || t.label()}
            </button>
        }
    };
    view! {
        <div class="image-editor">
            <div class="edit-stage" class:drawing=move || tool.get().is_some()
                on:pointerdown=on_down on:pointermove=on_move on:pointerup=on_up on:pointercancel=on_up>
                {move || shown.get().map(|url| view! {
                    <img class="attach-preview" node_ref=img src=url alt=move || tr!("edit-preview")
                        on:load=move |ev| {
                            let i: web_sys::HtmlImageElement = event_target(&ev);
                            natural.set((i.natural_width(), i.natural_height()));
                        }/>
                })}
                {move || tool.get().map(|_| view! {
                    <div class="edit-selection" tabindex="0" role="group"
                        aria-label=move || tr!("edit-region")
                        style:left=move || pct(sel.get().left) style:top=move || pct(sel.get().top)
                        style:width=move || pct(sel.get().width) style:height=move || pct(sel.get().height)
                        on:keydown=on_key></div>
                })}
            </div>
            <div class="edit-tools" role="toolbar" aria-label=move || tr!("edit-tools")>
                {tool_button(Tool::Crop)}
                {tool_button(Tool::Blur)}
                {tool_button(Tool::Pixelate)}
                <button type="button" class="secondary" disabled=move || busy.get() || full() on:click=rotate>
                    <IconView icon=Icon::Rotate/>" "{move || tr!("edit-rotate")}
                </button>
                <button type="button" class="secondary" disabled=move || busy.get() || edits.with(Vec::is_empty) on:click=undo>
                    <IconView icon=Icon::Undo/>" "{move || tr!("edit-undo")}
                </button>
            </div>
            {move || tool.get().map(|t| view! {
                <p class="edit-hint">
                    {move || tr!("edit-hint")}" "
                    <button type="button" class="primary" disabled=move || busy.get() on:click=move |_| apply(())>
                        <IconView icon=t.icon()/>" "{move || tr!("edit-apply")}
                    </button>
                </p>
            })}
            <p class="sr-only" role="status" aria-live="polite">{move || said.get()}</p>
            {move || error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
        </div>
    }
}
