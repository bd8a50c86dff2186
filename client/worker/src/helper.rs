//! A second worker that digests the ciphertext while this one runs the
//! cipher. STREAM's ChaCha20-Poly1305 and the ciphertext's SHA-256 cost
//! about the same; on one thread a file takes the sum of both, with the
//! digest beside it about the larger of the two (docs/benchmarks.md).
//!
//! The helper is this same module, started from its own loader; it speaks
//! the page's message format ([`Request::Digest`], [`Request::DigestEnd`]).
//! Each part is moved to it (transferred, not copied) and it keeps the
//! ciphertext for the Blob when encrypting. At most [`WINDOW`] parts wait
//! unanswered, so a slow helper slows the cipher rather than filling memory.
//! Where no helper starts (an older browser, a refused load) the worker
//! does both on its own thread.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Uint8Array};
use parley_shared::crypto::stream::CiphertextDigest;
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker};

use crate::error::JobError;
use crate::job::{Output, Reply, Request};
use crate::js::get;
use crate::sink::Sink;

/// Parts in flight to the helper (1 MiB each).
const WINDOW: usize = 4;
/// Files smaller than this are digested on the worker's own thread: the
/// helper's start (loading this module again) costs more than it saves.
const BESIDE_FROM: f64 = 8.0 * 1024.0 * 1024.0;
/// How long a helper may take to load before the worker goes on alone.
const START_LIMIT_MS: i32 = 10_000;

enum Event {
    Reply(Reply),
    /// The helper failed to load or crashed.
    Stopped,
    /// It did not say ready in time.
    TimedOut,
}

#[derive(Default)]
struct Inbox {
    events: VecDeque<Event>,
    waker: Option<Waker>,
}

fn deliver(inbox: &RefCell<Inbox>, event: Event) {
    let mut inbox = inbox.borrow_mut();
    inbox.events.push_back(event);
    if let Some(w) = inbox.waker.take() {
        w.wake();
    }
}

struct Next<'a>(&'a RefCell<Inbox>);

impl Future for Next<'_> {
    type Output = Event;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Event> {
        let mut inbox = self.0.borrow_mut();
        match inbox.events.pop_front() {
            Some(e) => Poll::Ready(e),
            None => {
                inbox.waker = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

type Handler = Closure<dyn FnMut(JsValue)>;

/// The worker's handle on its helper, which lives as long as this worker.
pub(crate) struct Helper {
    worker: Worker,
    inbox: Rc<RefCell<Inbox>>,
    in_flight: usize,
    _handlers: [Handler; 3],
}

impl Helper {
    /// Starts a helper; `None` if none can run here.
    pub(crate) async fn start() -> Option<Self> {
        let scope = js_sys::global();
        let own = get(&get(&scope, "location"), "href").as_string()?;
        if get(&scope, "Worker").is_undefined() {
            return None;
        }
        let worker = Worker::new(&own).ok()?;
        let inbox = Rc::new(RefCell::new(Inbox::default()));
        let on = |f: fn(JsValue) -> Event| {
            let inbox = inbox.clone();
            Closure::<dyn FnMut(JsValue)>::new(move |v| deliver(&inbox, f(v)))
        };
        let message = on(|v| {
            let data = v.unchecked_into::<MessageEvent>().data();
            Reply::from_js(&data).map_or(Event::Stopped, Event::Reply)
        });
        let error = on(|_| Event::Stopped);
        let late = on(|_| Event::TimedOut);
        worker.set_onmessage(Some(message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(error.as_ref().unchecked_ref()));
        let timer = scope
            .unchecked_ref::<web_sys::WorkerGlobalScope>()
            .set_timeout_with_callback_and_timeout_and_arguments_0(
                late.as_ref().unchecked_ref(),
                START_LIMIT_MS,
            );
        let mut helper = Self {
            worker,
            inbox,
            in_flight: 0,
            _handlers: [message, error, late],
        };
        let ready = matches!(helper.next().await, Event::Reply(Reply::Ready));
        if let Ok(t) = timer {
            scope
                .unchecked_ref::<web_sys::WorkerGlobalScope>()
                .clear_timeout_with_handle(t);
        }
        helper.inbox.borrow_mut().events.clear();
        if !ready {
            // This worker goes on alone for the whole file.
            helper.worker.terminate();
            return None;
        }
        Some(helper)
    }

    fn next(&mut self) -> Next<'_> {
        Next(&self.inbox)
    }

    /// Waits for the helper's next answer to a part or to the end.
    async fn answer(&mut self) -> Result<Reply, JobError> {
        loop {
            match self.next().await {
                Event::Reply(Reply::Failed(e)) => return Err(e),
                Event::Reply(r) => return Ok(r),
                Event::Stopped => return Err(JobError::HelperStopped),
                // A start timer that fired after the start: not an answer.
                Event::TimedOut => {}
            }
        }
    }

    /// Moves `part` to the helper to digest (and keep, if `keep`), after
    /// waiting while [`WINDOW`] parts are unanswered.
    pub(crate) async fn push(&mut self, part: Uint8Array, keep: bool) -> Result<(), JobError> {
        while self.in_flight >= WINDOW {
            match self.answer().await? {
                Reply::Progress { .. } => self.in_flight -= 1,
                _ => return Err(JobError::Malformed),
            }
        }
        let transfer = Array::of1(&part.buffer());
        self.worker
            .post_message_with_transfer(&Request::Digest { part, keep }.to_js(), &transfer)
            .map_err(|_| JobError::HelperStopped)?;
        self.in_flight += 1;
        Ok(())
    }

    /// The digest of every part, and the kept ones as a Blob of `mime`.
    pub(crate) async fn finish(mut self, mime: &str) -> Result<Output, JobError> {
        let end = Request::DigestEnd { mime: mime.into() }.to_js();
        self.worker
            .post_message(&end)
            .map_err(|_| JobError::HelperStopped)?;
        loop {
            match self.answer().await? {
                Reply::Progress { .. } => {}
                Reply::Done(out) => return Ok(out),
                _ => return Err(JobError::Malformed),
            }
        }
    }
}

impl Drop for Helper {
    fn drop(&mut self) {
        // No late message may reach the handlers dropped with this. The
        // helper is not terminated here: it ends with this worker, which the
        // page terminates after each job. In Chromium a nested worker
        // terminated just before its parent often left the parent's worker
        // target behind (ADR 0040); never when it ended with the parent.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
    }
}

/// Who digests (and keeps) the ciphertext: the helper, or this worker.
pub(crate) enum Digester {
    Beside(Helper),
    Alone {
        digest: CiphertextDigest,
        kept: Sink,
    },
}

impl Digester {
    /// A helper for a ciphertext of `bytes` if it is worth starting one and
    /// one starts, else this worker alone.
    pub(crate) async fn start(bytes: f64) -> Self {
        let helper = if bytes >= BESIDE_FROM {
            Helper::start().await
        } else {
            None
        };
        match helper {
            Some(h) => Self::Beside(h),
            None => Self::Alone {
                digest: CiphertextDigest::new(),
                kept: Sink::new(),
            },
        }
    }

    /// Digests the next ciphertext `bytes` (and keeps them if `keep`).
    /// `js`, if given, holds the same bytes in JS memory already: the helper
    /// is given those instead of a copy.
    pub(crate) async fn push(
        &mut self,
        bytes: &[u8],
        js: Option<Uint8Array>,
        keep: bool,
    ) -> Result<(), JobError> {
        match self {
            Self::Beside(h) => {
                h.push(js.unwrap_or_else(|| Uint8Array::from(bytes)), keep)
                    .await
            }
            Self::Alone { digest, kept } => {
                digest.update(bytes);
                if keep { kept.push(bytes) } else { Ok(()) }
            }
        }
    }

    /// The digest, and what was kept as a Blob of `mime`.
    pub(crate) async fn finish(self, mime: &str) -> Result<([u8; 32], web_sys::Blob), JobError> {
        let (digest, blob) = match self {
            Self::Beside(h) => {
                let out = h.finish(mime).await?;
                (out.digest, out.blob)
            }
            Self::Alone { digest, kept } => (Some(digest.finish()), Some(kept.finish(mime)?)),
        };
        digest.zip(blob).ok_or(JobError::Malformed)
    }
}

/// The helper's side: what it has digested and kept so far.
struct Digesting {
    digest: CiphertextDigest,
    kept: Sink,
    buf: Vec<u8>,
    done: f64,
}

thread_local! {
    static DIGESTING: RefCell<Option<Digesting>> = const { RefCell::new(None) };
}

/// Helper: digests (and keeps) one part; the answer frees a window slot.
pub(crate) fn take(part: &Uint8Array, keep: bool) -> Result<Reply, JobError> {
    DIGESTING.with_borrow_mut(|state| {
        let d = state.get_or_insert_with(|| Digesting {
            digest: CiphertextDigest::new(),
            kept: Sink::new(),
            buf: Vec::new(),
            done: 0.0,
        });
        d.buf.resize(part.length() as usize, 0);
        part.copy_to(&mut d.buf);
        d.digest.update(&d.buf);
        if keep {
            d.kept.push_js(part)?;
        }
        d.done += f64::from(part.length());
        Ok(Reply::Progress {
            done: d.done,
            total: 0.0,
        })
    })
}

/// Helper: the digest of all parts and the kept bytes.
pub(crate) fn end(mime: &str) -> Result<Reply, JobError> {
    let d = DIGESTING.with_borrow_mut(Option::take);
    let (digest, kept) = match d {
        Some(d) => (d.digest.finish(), d.kept),
        None => (CiphertextDigest::new().finish(), Sink::new()),
    };
    Ok(Reply::Done(Output {
        blob: Some(kept.finish(mime)?),
        digest: Some(digest),
        text: None,
    }))
}
