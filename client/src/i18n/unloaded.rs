//! What shows when no translation could be fetched at start (three tries):
//! Fluent has nothing to show, so this screen says so in both languages, as
//! `client/pwa/support.js` does, rather than every text appearing as its key.
//!
//! Built with the DOM directly: through Leptos it added 1.5 KB (brotli) to
//! the first load for a screen almost nobody sees.

use wasm_bindgen::JsCast as _;
use wasm_bindgen::JsValue;
use wasm_bindgen::closure::Closure;

/// The message, in each language (`lang`, text).
const TEXTS: [(&str, &str); 2] = [
    (
        "en",
        "Parley could not load its texts. Check the connection, then reload.",
    ),
    (
        "ru",
        "Parley не удалось загрузить свои тексты. Проверьте соединение и обновите страницу.",
    ),
];

/// The button, in both languages.
const RELOAD: &str = "Reload · Обновить";

/// Shows the screen instead of the app.
pub(crate) fn show() {
    if let Err(e) = build() {
        web_sys::console::error_2(&"Parley: the notice could not be shown".into(), &e);
    }
}

fn build() -> Result<(), JsValue> {
    let doc = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let body = doc.body().ok_or("no body")?;
    let main = doc.create_element("main")?;
    main.set_class_name("start");
    main.set_attribute("data-screen", "unloaded")?;
    for (lang, text) in TEXTS {
        let p = doc.create_element("p")?;
        p.set_attribute("lang", lang)?;
        p.set_attribute("role", "alert")?;
        p.set_text_content(Some(text));
        main.append_child(&p)?;
    }
    let button = doc.create_element("button")?;
    button.set_attribute("type", "button")?;
    button.set_class_name("primary");
    button.set_text_content(Some(RELOAD));
    let reload = Closure::<dyn Fn()>::new(|| {
        if let Some(w) = web_sys::window() {
            let _ = w.location().reload();
        }
    });
    button.add_event_listener_with_callback("click", reload.as_ref().unchecked_ref())?;
    // The page lives until the reload: the listener with it.
    reload.forget();
    main.append_child(&button)?;
    body.append_child(&main)?;
    Ok(())
}
