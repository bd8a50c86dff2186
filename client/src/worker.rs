//! The page's handle on the file worker (`client/worker`): one worker per
//! job sequence, terminated when the handle is dropped so its memory goes
//! back as soon as the crypto is done. At most one encryption or decryption
//! per worker: for a large file the worker starts a helper that ends only
//! with it (ADR 0040).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use parley_worker::JobError;
use parley_worker::job::{Output, Reply, Request, wipe};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

/// The worker's loader (client/worker/parley-worker_loader.js).
const SCRIPT: &str = "/parley-worker_loader.js";
/// How long the worker may take to load. A wasm that fails to load rejects a
/// promise inside the worker, which the page never hears about.
const START_TIMEOUT_MS: i32 = 20_000;

/// Why the page got no result from the file worker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub(crate) enum WorkerError {
    /// The worker did not load, crashed, or answered nonsense.
    #[error("The file worker stopped unexpectedly; the file was not processed.")]
    Stopped,
    /// The worker ran the job and it failed.
    #[error(transparent)]
    Job(#[from] JobError),
}

impl crate::i18n::Localize for WorkerError {
    fn text(&self) -> String {
        match self {
            Self::Stopped => crate::tr!("worker-stopped"),
            Self::Job(e) => e.text(),
        }
    }
}

/// A running file worker.
pub(crate) struct FileWorker {
    worker: Worker,
}

impl Drop for FileWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

/// The handlers of one exchange; unhooked before they are freed, however
/// the exchange ends (also when its future is dropped mid-way).
struct Hooks<'a> {
    worker: &'a Worker,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_error: Closure<dyn FnMut(JsValue)>,
    timer: Option<(i32, Closure<dyn FnMut()>)>,
}

impl Drop for Hooks<'_> {
    fn drop(&mut self) {
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        self.worker.set_onmessageerror(None);
        if let (Some((id, _)), Some(w)) = (&self.timer, web_sys::window()) {
            w.clear_timeout_with_handle(*id);
        }
    }
}

impl FileWorker {
    /// Starts a worker and waits until it listens.
    pub(crate) async fn start() -> Result<Self, WorkerError> {
        let worker = Worker::new(SCRIPT).map_err(|_| WorkerError::Stopped)?;
        let this = Self { worker };
        match this
            .exchange(None, Box::new(|_, _| {}), Some(START_TIMEOUT_MS))
            .await?
        {
            Reply::Ready => Ok(this),
            _ => Err(WorkerError::Stopped),
        }
    }

    /// Runs one job; `progress(done, total)` is called as it goes.
    pub(crate) async fn run(
        &self,
        req: Request,
        progress: impl Fn(f64, f64) + 'static,
    ) -> Result<Output, WorkerError> {
        match self.exchange(Some(req), Box::new(progress), None).await? {
            Reply::Done(out) => Ok(out),
            Reply::Failed(e) => Err(e.into()),
            _ => Err(WorkerError::Stopped),
        }
    }

    /// Posts `req` (if any) and waits for the first reply that is not
    /// progress, or for `timeout_ms`.
    async fn exchange(
        &self,
        req: Option<Request>,
        progress: Box<dyn Fn(f64, f64)>,
        timeout_ms: Option<i32>,
    ) -> Result<Reply, WorkerError> {
        let resolver: Rc<RefCell<Option<Function>>> = Rc::default();
        let done = {
            let resolver = resolver.clone();
            Promise::new(&mut move |resolve, _| *resolver.borrow_mut() = Some(resolve))
        };
        let settle = Rc::new(move |v: &JsValue| {
            if let Some(resolve) = resolver.borrow_mut().take() {
                // Calling a promise's own resolve function does not throw.
                let _ = resolve.call1(&JsValue::NULL, v);
            }
        });
        // Settles with a value `Reply::from_js` rejects: read as `Stopped`.
        let failed = {
            let settle = settle.clone();
            move || settle(&JsValue::NULL)
        };
        let on_message = {
            let settle = settle.clone();
            Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
                let data = ev.data();
                match Reply::from_js(&data) {
                    Ok(Reply::Progress { done, total }) => progress(done, total),
                    _ => settle(&data),
                }
            })
        };
        // A crash in the worker, its script failing to load, or a message
        // that could not be cloned.
        let on_error = Closure::<dyn FnMut(JsValue)>::new({
            let failed = failed.clone();
            move |_: JsValue| failed()
        });
        self.worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        self.worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        self.worker
            .set_onmessageerror(Some(on_error.as_ref().unchecked_ref()));
        let mut hooks = Hooks {
            worker: &self.worker,
            _on_message: on_message,
            _on_error: on_error,
            timer: None,
        };
        if let (Some(ms), Some(w)) = (timeout_ms, web_sys::window()) {
            let tick = Closure::<dyn FnMut()>::new(failed);
            let id = w
                .set_timeout_with_callback_and_timeout_and_arguments_0(
                    tick.as_ref().unchecked_ref(),
                    ms,
                )
                .map_err(|_| WorkerError::Stopped)?;
            hooks.timer = Some((id, tick));
        }
        if let Some(req) = req {
            let msg = req.to_js();
            let posted = self.worker.post_message(&msg);
            wipe(&msg);
            posted.map_err(|_| WorkerError::Stopped)?;
        }
        let reply = JsFuture::from(done)
            .await
            .map_err(|_| WorkerError::Stopped)?;
        drop(hooks);
        // The reply is ours to read; anything unreadable means the worker broke.
        Reply::from_js(&reply).map_err(|_| WorkerError::Stopped)
    }
}
