//! The file worker's handle on its helper: a second worker that digests the
//! ciphertext while this one runs the cipher (ADR 0040). STREAM's
//! ChaCha20-Poly1305 and the ciphertext's SHA-256 cost about the same; on
//! one thread a file takes the sum of both, with the digest beside it about
//! the larger of the two (docs/benchmarks.md).
//!
//! The helper is this same module, started from its own loader; it speaks
//! the page's message format ([`Request::Digest`], [`Request::DigestEnd`];
//! its side is `digesting.rs`). Each part is moved to it (transferred, not
//! copied). At most [`WINDOW_BYTES`] wait unanswered, so a slow helper slows
//! the cipher rather than filling memory. One helper serves one job: the
//! page runs one encryption or decryption per file worker
//! (`client/src/worker.rs`) and terminates it afterwards, which ends the
//! helper too.

use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};

use js_sys::{Array, Uint8Array};
use wasm_bindgen::JsCast;
use wasm_bindgen::prelude::*;
use web_sys::{MessageEvent, Worker, WorkerGlobalScope};

use crate::error::JobError;
use crate::job::{Output, Reply, Request};
use crate::js::get;

/// Bytes in flight to the helper: four of the encryptor's slices (1 MiB
/// and their tags each), or a download's network chunks up to as much.
const WINDOW_BYTES: f64 = 5.0 * 1024.0 * 1024.0;
/// How long a helper may take to load before the worker goes on alone.
const START_LIMIT_MS: i32 = 10_000;

enum Event {
    Reply(Reply),
    /// The helper failed to load, crashed, or sent what cannot be read.
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
    /// Bytes posted, and bytes the helper said it took: the difference is
    /// what is in flight.
    pushed: f64,
    taken: f64,
    _handlers: [Handler; 4],
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
        let error = on(|v| {
            // Handled here: an error event left alone at a nested worker is
            // reported again in this worker's scope and from there to the
            // page, which would take the whole job for failed.
            v.unchecked_ref::<web_sys::Event>().prevent_default();
            Event::Stopped
        });
        let unreadable = on(|_| Event::Stopped);
        let late = on(|_| Event::TimedOut);
        worker.set_onmessage(Some(message.as_ref().unchecked_ref()));
        worker.set_onerror(Some(error.as_ref().unchecked_ref()));
        worker.set_onmessageerror(Some(unreadable.as_ref().unchecked_ref()));
        let scope = scope.unchecked_into::<WorkerGlobalScope>();
        let timer = scope.set_timeout_with_callback_and_timeout_and_arguments_0(
            late.as_ref().unchecked_ref(),
            START_LIMIT_MS,
        );
        let mut helper = Self {
            worker,
            inbox,
            pushed: 0.0,
            taken: 0.0,
            _handlers: [message, error, unreadable, late],
        };
        let ready = match timer {
            Ok(t) => {
                let ready = matches!(helper.next().await, Event::Reply(Reply::Ready));
                scope.clear_timeout_with_handle(t);
                ready
            }
            // No limit on the wait: better no helper.
            Err(_) => false,
        };
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
                Event::Reply(Reply::Progress { done, .. }) => {
                    // More than was posted would be bytes from elsewhere.
                    if done > self.pushed {
                        return Err(JobError::HelperStopped);
                    }
                    self.taken = done;
                    return Ok(Reply::Progress { done, total: 0.0 });
                }
                Event::Reply(r) => return Ok(r),
                Event::Stopped => return Err(JobError::HelperStopped),
                // The start timer is cleared and its event dropped once the
                // helper is ready; one cannot arrive later.
                Event::TimedOut => {}
            }
        }
    }

    /// Moves `part` to the helper to digest (and keep, if `keep`), after
    /// waiting while [`WINDOW_BYTES`] are unanswered.
    pub(crate) async fn push(&mut self, part: Uint8Array, keep: bool) -> Result<(), JobError> {
        let n = f64::from(part.length());
        // Wait while something is in flight and this part would overfill it.
        while self.pushed > self.taken && self.pushed - self.taken + n > WINDOW_BYTES {
            if !matches!(self.answer().await?, Reply::Progress { .. }) {
                return Err(JobError::HelperStopped);
            }
        }
        let transfer = Array::of1(&part.buffer());
        self.worker
            .post_message_with_transfer(&Request::Digest { part, keep }.to_js(), &transfer)
            .map_err(|_| JobError::HelperStopped)?;
        self.pushed += n;
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
                // The helper digested exactly the bytes it was given.
                Reply::Done(out) if self.taken == self.pushed => {
                    return Ok(out);
                }
                _ => return Err(JobError::HelperStopped),
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
        self.worker.set_onmessageerror(None);
    }
}
