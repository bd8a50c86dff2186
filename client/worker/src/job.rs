//! The messages between the page and the file worker. The page asks to
//! prepare an image (strip its metadata, apply edits), encrypt or decrypt, or to read a QR code from a camera frame; the
//! worker answers ready, progress, done or failed. Both sides build and read them here, so the two cannot disagree
//! on a field. The worker speaks the same format to its helper (a second
//! worker it starts to digest ciphertext beside the cipher, `helper.rs`).

use js_sys::{Object, Uint8Array, Uint8ClampedArray};
use wasm_bindgen::{JsCast, JsValue};
use web_sys::Blob;
use zeroize::Zeroizing;

use parley_shared::media::edit::Edit;

use crate::error::JobError;
use crate::js::{get, obj, set};

/// A STREAM file key on its way to or from the worker.
pub type KeyBytes = Zeroizing<[u8; 32]>;

/// What the page asks the worker.
pub enum Request {
    /// Run an image through the filter pipeline (read whole): metadata
    /// removal, then `edits` in order (`parley_shared::media::pipeline`).
    Prepare {
        /// The image.
        file: Blob,
        /// Its MIME type.
        mime: String,
        /// The person's edits; none only strips metadata.
        edits: Vec<Edit>,
    },
    /// STREAM-encrypt a file.
    Encrypt {
        /// The plaintext.
        file: Blob,
        /// The file key.
        key: KeyBytes,
    },
    /// Fetch the ciphertext through a pre-signed URL, check and decrypt it.
    Decrypt {
        /// Pre-signed GET URL.
        url: String,
        /// Headers the signature covers.
        headers: Vec<(String, String)>,
        /// The file key.
        key: KeyBytes,
        /// Plaintext size, bytes.
        size: u64,
        /// SHA-256 of the ciphertext.
        digest: [u8; 32],
        /// MIME type of the result.
        mime: String,
    },
    /// Helper: digest the next ciphertext bytes (moved here, not copied)
    /// and, if `keep`, keep them for the Blob that [`Request::DigestEnd`]
    /// returns. Answered with a [`Reply::Progress`] once taken.
    Digest {
        /// The ciphertext bytes.
        part: Uint8Array,
        /// Keep them in the output (encryption) or only digest them.
        keep: bool,
    },
    /// Helper: the ciphertext is complete; answer with its digest and the
    /// kept bytes as a Blob of `mime`.
    DigestEnd {
        /// The MIME type of the kept bytes.
        mime: String,
    },
    /// Read a QR code from a camera frame.
    Scan {
        /// Frame width, pixels.
        width: u32,
        /// Frame height, pixels.
        height: u32,
        /// RGBA pixels (`ImageData.data`).
        rgba: Uint8ClampedArray,
    },
}

impl core::fmt::Debug for Request {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(self.op())
    }
}

/// What a finished job produced.
#[derive(Debug, Default)]
pub struct Output {
    /// The resulting file: ciphertext, plaintext, or the prepared image
    /// (none when there was nothing to strip and no edit).
    pub blob: Option<Blob>,
    /// SHA-256 of the ciphertext (encryption).
    pub digest: Option<[u8; 32]>,
    /// The QR code's text (a scan that found one).
    pub text: Option<String>,
}

/// What the worker says.
#[derive(Debug)]
pub enum Reply {
    /// Loaded and listening.
    Ready,
    /// Bytes done of the current job.
    Progress {
        /// Done so far.
        done: f64,
        /// In total.
        total: f64,
    },
    /// The job finished.
    Done(Output),
    /// The job failed.
    Failed(JobError),
}

fn bytes(v: &[u8]) -> JsValue {
    Uint8Array::from(v).into()
}

fn array32(v: &JsValue) -> Option<[u8; 32]> {
    let a = v.dyn_ref::<Uint8Array>()?;
    if a.length() != 32 {
        return None;
    }
    let mut out = [0u8; 32];
    a.copy_to(&mut out);
    Some(out)
}

fn key_of(v: &JsValue) -> Result<KeyBytes, JobError> {
    let key = array32(&get(v, "key"))
        .map(Zeroizing::new)
        .ok_or(JobError::Malformed)?;
    // The JS copy is not needed any more.
    wipe(v);
    Ok(key)
}

fn string(v: &JsValue, k: &str) -> Result<String, JobError> {
    get(v, k).as_string().ok_or(JobError::Malformed)
}

fn blob(v: &JsValue, k: &str) -> Result<Blob, JobError> {
    get(v, k)
        .dyn_into::<Blob>()
        .map_err(|_| JobError::Malformed)
}

impl Request {
    fn op(&self) -> &'static str {
        match self {
            Self::Prepare { .. } => "prepare",
            Self::Encrypt { .. } => "encrypt",
            Self::Decrypt { .. } => "decrypt",
            Self::Digest { .. } => "digest",
            Self::DigestEnd { .. } => "digest-end",
            Self::Scan { .. } => "scan",
        }
    }

    /// The message to post. The key travels as a `Uint8Array` that the
    /// worker wipes once read; call [`wipe`] on the page's copy after posting.
    pub fn to_js(&self) -> JsValue {
        let op = ("op", self.op().into());
        match self {
            Self::Prepare { file, mime, edits } => obj(&[
                op,
                ("file", file.into()),
                ("mime", mime.into()),
                // Serialising plain enums of integers cannot fail.
                (
                    "edits",
                    serde_json::to_string(edits).unwrap_or_default().into(),
                ),
            ]),
            Self::Encrypt { file, key } => {
                obj(&[op, ("file", file.into()), ("key", bytes(&key[..]))])
            }
            Self::Decrypt {
                url,
                headers,
                key,
                size,
                digest,
                mime,
            } => {
                let h = Object::new();
                for (k, v) in headers {
                    set(&h, k, &v.into());
                }
                obj(&[
                    op,
                    ("url", url.into()),
                    ("headers", h.into()),
                    ("key", bytes(&key[..])),
                    // Exact below 2^53 bytes, far above any relay's cap.
                    ("size", (*size as f64).into()),
                    ("digest", bytes(digest)),
                    ("mime", mime.into()),
                ])
            }
            Self::Digest { part, keep } => {
                obj(&[op, ("part", part.into()), ("keep", (*keep).into())])
            }
            Self::DigestEnd { mime } => obj(&[op, ("mime", mime.into())]),
            Self::Scan {
                width,
                height,
                rgba,
            } => obj(&[
                op,
                ("width", (*width).into()),
                ("height", (*height).into()),
                ("rgba", rgba.into()),
            ]),
        }
    }

    /// Reads a posted message.
    pub fn from_js(v: &JsValue) -> Result<Self, JobError> {
        match string(v, "op")?.as_str() {
            "prepare" => Ok(Self::Prepare {
                file: blob(v, "file")?,
                mime: string(v, "mime")?,
                edits: serde_json::from_str(&string(v, "edits")?)
                    .map_err(|_| JobError::Malformed)?,
            }),
            "encrypt" => Ok(Self::Encrypt {
                file: blob(v, "file")?,
                key: key_of(v)?,
            }),
            "decrypt" => {
                let h = get(v, "headers");
                let mut headers = Vec::new();
                for k in Object::keys(h.dyn_ref::<Object>().ok_or(JobError::Malformed)?) {
                    let k = k.as_string().ok_or(JobError::Malformed)?;
                    let val = string(&h, &k)?;
                    headers.push((k, val));
                }
                let size = get(v, "size")
                    .as_f64()
                    .filter(|s| *s >= 0.0)
                    .ok_or(JobError::Malformed)?;
                Ok(Self::Decrypt {
                    url: string(v, "url")?,
                    headers,
                    key: key_of(v)?,
                    size: size as u64,
                    digest: array32(&get(v, "digest")).ok_or(JobError::Malformed)?,
                    mime: string(v, "mime")?,
                })
            }
            "digest" => Ok(Self::Digest {
                part: get(v, "part")
                    .dyn_into::<Uint8Array>()
                    .map_err(|_| JobError::Malformed)?,
                keep: get(v, "keep").as_bool().ok_or(JobError::Malformed)?,
            }),
            "digest-end" => Ok(Self::DigestEnd {
                mime: string(v, "mime")?,
            }),
            "scan" => {
                let side = |k| {
                    get(v, k)
                        .as_f64()
                        .filter(|n| (0.0..=f64::from(u16::MAX)).contains(n))
                        .map(|n| n as u32)
                        .ok_or(JobError::Malformed)
                };
                Ok(Self::Scan {
                    width: side("width")?,
                    height: side("height")?,
                    rgba: get(v, "rgba")
                        .dyn_into::<Uint8ClampedArray>()
                        .map_err(|_| JobError::Malformed)?,
                })
            }
            _ => Err(JobError::Malformed),
        }
    }
}

/// Zeroes the key in a request message: the page's copy once posted
/// (structured clone gave the worker its own), the worker's once read.
pub fn wipe(msg: &JsValue) {
    if let Some(a) = get(msg, "key").dyn_ref::<Uint8Array>() {
        a.fill(0, 0, a.length());
    }
}

impl Reply {
    /// The message to post.
    pub fn to_js(&self) -> JsValue {
        match self {
            Self::Ready => obj(&[("kind", "ready".into())]),
            Self::Progress { done, total } => obj(&[
                ("kind", "progress".into()),
                ("done", (*done).into()),
                ("total", (*total).into()),
            ]),
            Self::Done(out) => obj(&[
                ("kind", "done".into()),
                (
                    "blob",
                    out.blob.as_ref().map_or(JsValue::NULL, |b| b.into()),
                ),
                ("digest", out.digest.map_or(JsValue::NULL, |d| bytes(&d))),
                (
                    "text",
                    out.text.as_deref().map_or(JsValue::NULL, JsValue::from),
                ),
            ]),
            Self::Failed(e) => obj(&[
                ("kind", "failed".into()),
                ("code", e.code().into()),
                ("status", e.status().map_or(JsValue::NULL, JsValue::from)),
                // For the console and for a page of another build that does
                // not know the code.
                ("message", e.to_string().into()),
            ]),
        }
    }

    /// Reads a posted message.
    pub fn from_js(v: &JsValue) -> Result<Self, JobError> {
        match string(v, "kind")?.as_str() {
            "ready" => Ok(Self::Ready),
            "progress" => Ok(Self::Progress {
                done: get(v, "done").as_f64().unwrap_or(0.0),
                total: get(v, "total").as_f64().unwrap_or(0.0),
            }),
            "done" => Ok(Self::Done(Output {
                blob: get(v, "blob").dyn_into::<Blob>().ok(),
                digest: array32(&get(v, "digest")),
                text: get(v, "text").as_string(),
            })),
            "failed" => {
                let status = get(v, "status")
                    .as_f64()
                    .and_then(|s| u16::try_from(s as u64).ok());
                JobError::from_code(&string(v, "code")?, status)
                    .map(Self::Failed)
                    .ok_or(JobError::Malformed)
            }
            _ => Err(JobError::Malformed),
        }
    }
}
