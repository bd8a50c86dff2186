//! Calling browser objects by name through `js_sys::Reflect`: one small
//! helper instead of a web-sys feature per WebRTC type.

use js_sys::{Array, Function, Object, Reflect};
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;

/// `o[k]`, undefined when missing.
pub fn get(o: &JsValue, k: &str) -> JsValue {
    Reflect::get(o, &k.into()).unwrap_or(JsValue::UNDEFINED)
}

/// `o[k] = v`.
pub fn set(o: &JsValue, k: &str, v: &JsValue) {
    // Only throws for a non-object or a frozen one; these are our own plain
    // objects.
    let _ = Reflect::set(o, &k.into(), v);
}

/// `o[method](...args)`.
pub fn invoke(o: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let f: Function = get(o, method).dyn_into()?;
    f.apply(o, &args.iter().collect::<Array>())
}

/// `await o[method](...args)`.
pub async fn invoke_async(o: &JsValue, method: &str, args: &[JsValue]) -> Result<JsValue, JsValue> {
    let p: js_sys::Promise = invoke(o, method, args)?.dyn_into()?;
    JsFuture::from(p).await
}

/// A plain object from pairs.
pub fn obj(pairs: &[(&str, JsValue)]) -> JsValue {
    let o = Object::new();
    for (k, v) in pairs {
        set(&o, k, v);
    }
    o.into()
}

/// The message of a thrown error.
pub fn js_err(e: JsValue) -> String {
    get(&e, "message")
        .as_string()
        .unwrap_or_else(|| "browser error".into())
}
