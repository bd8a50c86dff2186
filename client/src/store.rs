//! Storage adapter: the engine's records in IndexedDB, each sealed with
//! AES-256-GCM under a WebCrypto key generated non-extractable. The key object
//! lives in IndexedDB too, but its bytes cannot be read by script (not even
//! ours), so a copied database file or a dumped record is ciphertext.

use js_sys::{Array, Object, Promise, Reflect, Uint8Array};
use parley_shared::engine::StoreOp;
use wasm_bindgen::JsValue;
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{CryptoKey, IdbDatabase, IdbRequest, IdbTransaction, IdbTransactionMode};

use crate::js::obj;

const DB_NAME: &str = "parley";
const DB_VERSION: u32 = 1;
const RECORDS: &str = "records";
const META: &str = "meta";
const WRAP_KEY: &str = "wrap";

/// An open, unlocked store.
#[derive(Clone)]
pub(crate) struct Store {
    db: IdbDatabase,
    key: CryptoKey,
}

/// Why storage failed (shown to the user).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum StoreError {
    /// Not running in a page (no `window`).
    #[error("Parley must run in a browser window.")]
    NoWindow,
    /// The browser offers no IndexedDB (some private modes).
    #[error("IndexedDB is not available (private mode?).")]
    NoIndexedDb,
    /// A browser storage or crypto call failed: which step, and the
    /// browser's explanation.
    #[error("Browser storage failed ({step}){}.", colon(.detail))]
    Browser {
        /// The step that failed.
        step: &'static str,
        /// The browser's message, if it gave one.
        detail: String,
    },
    /// A stored record is not what this app writes.
    #[error("Stored record {0} is damaged.")]
    Damaged(String),
    /// A stored record fails authentication under this browser's key.
    #[error("Stored record {0} does not decrypt.")]
    Undecryptable(String),
}

impl crate::i18n::Localize for StoreError {
    fn text(&self) -> String {
        match self {
            Self::NoWindow => crate::tr!("store-no-window"),
            Self::NoIndexedDb => crate::tr!("store-no-indexeddb"),
            // The step names the browser call; the detail is the browser's.
            Self::Browser { step, detail } if detail.is_empty() => {
                crate::tr!("store-browser-plain", step = *step)
            }
            Self::Browser { step, detail } => {
                crate::tr!("store-browser", step = *step, detail = detail.clone())
            }
            Self::Damaged(key) => crate::tr!("store-damaged", record = key.clone()),
            Self::Undecryptable(key) => crate::tr!("store-undecryptable", record = key.clone()),
        }
    }
}

/// `": detail"`, or nothing when the browser said nothing.
fn colon(detail: &str) -> String {
    if detail.is_empty() {
        String::new()
    } else {
        format!(": {detail}")
    }
}

fn js_err(step: &'static str) -> impl Fn(JsValue) -> StoreError {
    move |e| StoreError::Browser {
        step,
        detail: Reflect::get(&e, &"message".into())
            .ok()
            .and_then(|m| m.as_string())
            .unwrap_or_default(),
    }
}

/// Resolves when an IndexedDB request succeeds.
async fn request(req: IdbRequest) -> Result<JsValue, JsValue> {
    let r = req.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let r2 = r.clone();
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call1(&JsValue::NULL, &r2.result().unwrap_or(JsValue::UNDEFINED));
        });
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new("request failed"));
        });
        r.set_onsuccess(Some(ok.unchecked_ref()));
        r.set_onerror(Some(err.unchecked_ref()));
    });
    JsFuture::from(promise).await
}

/// Resolves when a transaction has committed (durable).
async fn committed(tx: &IdbTransaction) -> Result<(), JsValue> {
    let t = tx.clone();
    let promise = Promise::new(&mut |resolve, reject| {
        let ok = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = resolve.call0(&JsValue::NULL);
        });
        let reject2 = reject.clone();
        let err = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject.call1(&JsValue::NULL, &js_sys::Error::new("transaction failed"));
        });
        let abort = Closure::once_into_js(move |_: web_sys::Event| {
            let _ = reject2.call1(&JsValue::NULL, &js_sys::Error::new("transaction aborted"));
        });
        t.set_oncomplete(Some(ok.unchecked_ref()));
        t.set_onerror(Some(err.unchecked_ref()));
        t.set_onabort(Some(abort.unchecked_ref()));
    });
    JsFuture::from(promise).await.map(|_| ())
}

fn subtle() -> Result<web_sys::SubtleCrypto, StoreError> {
    Ok(web_sys::window()
        .ok_or(StoreError::NoWindow)?
        .crypto()
        .map_err(js_err("crypto"))?
        .subtle())
}

fn aes_params(iv: &[u8], aad: &[u8]) -> Object {
    obj(&[
        ("name", "AES-GCM".into()),
        ("iv", Uint8Array::from(iv).into()),
        ("additionalData", Uint8Array::from(aad).into()),
    ])
    .unchecked_into()
}

impl Store {
    /// Opens (creating on first use) the database and its wrapping key.
    pub(crate) async fn open() -> Result<Self, StoreError> {
        let factory = web_sys::window()
            .ok_or(StoreError::NoWindow)?
            .indexed_db()
            .map_err(js_err("indexedDB"))?
            .ok_or(StoreError::NoIndexedDb)?;
        let open = factory
            .open_with_u32(DB_NAME, DB_VERSION)
            .map_err(js_err("open"))?;
        let o2 = open.clone();
        let upgrade = Closure::once_into_js(move |_: web_sys::Event| {
            if let Ok(db) = o2.result().and_then(|r| r.dyn_into::<IdbDatabase>()) {
                // A store that could not be created fails the first
                // transaction on it, with the browser's reason.
                let _ = db.create_object_store(RECORDS);
                let _ = db.create_object_store(META);
            }
        });
        open.set_onupgradeneeded(Some(upgrade.unchecked_ref()));
        let db: IdbDatabase = request(open.into())
            .await
            .map_err(js_err("open"))?
            .dyn_into()
            .map_err(js_err("open"))?;
        let key = Self::wrap_key(&db).await?;
        Ok(Self { db, key })
    }

    async fn wrap_key(db: &IdbDatabase) -> Result<CryptoKey, StoreError> {
        let tx = db.transaction_with_str(META).map_err(js_err("meta"))?;
        let meta = tx.object_store(META).map_err(js_err("meta"))?;
        let existing = request(meta.get(&WRAP_KEY.into()).map_err(js_err("meta"))?)
            .await
            .map_err(js_err("meta"))?;
        if let Ok(k) = existing.dyn_into::<CryptoKey>() {
            return Ok(k);
        }
        let algo: Object =
            obj(&[("name", "AES-GCM".into()), ("length", 256.into())]).unchecked_into();
        let usages = Array::of2(&"encrypt".into(), &"decrypt".into());
        // extractable = false: script can use the key but never read it.
        let key: CryptoKey = JsFuture::from(
            subtle()?
                .generate_key_with_object(&algo, false, &usages)
                .map_err(js_err("generateKey"))?,
        )
        .await
        .map_err(js_err("generateKey"))?
        .dyn_into()
        .map_err(js_err("generateKey"))?;
        let tx = db
            .transaction_with_str_and_mode(META, IdbTransactionMode::Readwrite)
            .map_err(js_err("meta"))?;
        tx.object_store(META)
            .map_err(js_err("meta"))?
            .put_with_key(&key, &WRAP_KEY.into())
            .map_err(js_err("meta"))?;
        committed(&tx).await.map_err(js_err("meta"))?;
        Ok(key)
    }

    async fn seal(&self, name: &str, plain: &[u8]) -> Result<Uint8Array, StoreError> {
        let mut iv = [0u8; 12];
        web_sys::window()
            .ok_or(StoreError::NoWindow)?
            .crypto()
            .map_err(js_err("crypto"))?
            .get_random_values_with_u8_array(&mut iv)
            .map_err(js_err("random"))?;
        let ct = JsFuture::from(
            subtle()?
                .encrypt_with_object_and_u8_array(
                    &aes_params(&iv, name.as_bytes()),
                    &self.key,
                    plain,
                )
                .map_err(js_err("encrypt"))?,
        )
        .await
        .map_err(js_err("encrypt"))?;
        let ct = Uint8Array::new(&ct);
        let out = Uint8Array::new_with_length(12 + ct.length());
        out.set(&Uint8Array::from(&iv[..]), 0);
        out.set(&ct, 12);
        Ok(out)
    }

    async fn open_record(&self, name: &str, sealed: &Uint8Array) -> Result<Vec<u8>, StoreError> {
        let all = sealed.to_vec();
        if all.len() < 12 + 16 {
            return Err(StoreError::Damaged(name.to_owned()));
        }
        let plain = JsFuture::from(
            subtle()?
                .decrypt_with_object_and_u8_array(
                    &aes_params(&all[..12], name.as_bytes()),
                    &self.key,
                    &all[12..],
                )
                .map_err(js_err("decrypt"))?,
        )
        .await
        .map_err(|_| StoreError::Undecryptable(name.to_owned()))?;
        Ok(Uint8Array::new(&plain).to_vec())
    }

    /// Every record, decrypted.
    pub(crate) async fn load_all(&self) -> Result<Vec<(String, Vec<u8>)>, StoreError> {
        let tx = self
            .db
            .transaction_with_str(RECORDS)
            .map_err(js_err("read"))?;
        let store = tx.object_store(RECORDS).map_err(js_err("read"))?;
        let keys: Array = request(store.get_all_keys().map_err(js_err("read"))?)
            .await
            .map_err(js_err("read"))?
            .into();
        let values: Array = request(store.get_all().map_err(js_err("read"))?)
            .await
            .map_err(js_err("read"))?
            .into();
        let mut out = Vec::with_capacity(keys.length() as usize);
        for (k, v) in keys.iter().zip(values.iter()) {
            let name = k
                .as_string()
                .ok_or_else(|| StoreError::Damaged(format!("{k:?}")))?;
            let sealed: Uint8Array = v
                .dyn_into()
                .map_err(|_| StoreError::Damaged(name.clone()))?;
            out.push((name.clone(), self.open_record(&name, &sealed).await?));
        }
        Ok(out)
    }

    /// Applies one batch atomically; resolves once it is durable.
    pub(crate) async fn apply(&self, ops: Vec<StoreOp>) -> Result<(), StoreError> {
        let mut sealed = Vec::with_capacity(ops.len());
        for op in &ops {
            sealed.push(match op {
                StoreOp::Put(k, v) => Some(self.seal(k, v).await?),
                StoreOp::Delete(_) => None,
            });
        }
        let tx = self
            .db
            .transaction_with_str_and_mode(RECORDS, IdbTransactionMode::Readwrite)
            .map_err(js_err("write"))?;
        let store = tx.object_store(RECORDS).map_err(js_err("write"))?;
        for (op, value) in ops.iter().zip(sealed) {
            let queued = match (op, value) {
                (StoreOp::Put(k, _), Some(v)) => {
                    store.put_with_key(&v, &k.as_str().into()).map(|_| ())
                }
                (StoreOp::Delete(k), _) => store.delete(&k.as_str().into()).map(|_| ()),
                (StoreOp::Put(..), None) => Ok(()),
            };
            if let Err(e) = queued {
                // All or nothing: never commit part of an engine step.
                let _ = tx.abort();
                return Err(js_err("write")(e));
            }
        }
        committed(&tx).await.map_err(js_err("write"))
    }

    /// Deletes everything (account deletion on this device).
    pub(crate) async fn wipe(&self) -> Result<(), StoreError> {
        let tx = self
            .db
            .transaction_with_str_sequence_and_mode(
                &Array::of2(&RECORDS.into(), &META.into()),
                IdbTransactionMode::Readwrite,
            )
            .map_err(js_err("wipe"))?;
        for s in [RECORDS, META] {
            tx.object_store(s)
                .map_err(js_err("wipe"))?
                .clear()
                .map_err(js_err("wipe"))?;
        }
        committed(&tx).await.map_err(js_err("wipe"))
    }
}
