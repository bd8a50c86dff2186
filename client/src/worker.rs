//! The page's handle on the file worker (`client/worker`): one worker per
//! transfer, terminated when the handle is dropped (which also cancels a job
//! whose page went away).

use std::cell::RefCell;
use std::rc::Rc;

use js_sys::{Function, Promise};
use parley_worker::job::{Output, Reply, Request, wipe};
use wasm_bindgen::prelude::*;
use wasm_bindgen_futures::JsFuture;
use web_sys::{MessageEvent, Worker};

/// trunk's loader for the worker binary (index.html, `data-loader-shim`).
const SCRIPT: &str = "/parley-worker_loader.js";

fn stopped() -> String {
    "The file worker stopped unexpectedly; the file was not processed.".into()
}

/// A running file worker.
pub struct FileWorker {
    worker: Worker,
}

impl Drop for FileWorker {
    fn drop(&mut self) {
        self.worker.terminate();
    }
}

type Progress = Box<dyn Fn(f64, f64)>;

impl FileWorker {
    /// Starts a worker and waits until it listens.
    pub async fn start() -> Result<Self, String> {
        let worker = Worker::new(SCRIPT).map_err(|_| stopped())?;
        let this = Self { worker };
        match this.exchange(None, Box::new(|_, _| {})).await? {
            Reply::Ready => Ok(this),
            _ => Err(stopped()),
        }
    }

    /// Runs one job; `progress(done, total)` is called as it goes.
    pub async fn run(
        &self,
        req: Request,
        progress: impl Fn(f64, f64) + 'static,
    ) -> Result<Output, String> {
        match self.exchange(Some(req), Box::new(progress)).await? {
            Reply::Done(out) => Ok(out),
            Reply::Failed(message) => Err(message),
            _ => Err(stopped()),
        }
    }

    /// Posts `req` (if any) and waits for the first reply that is not progress.
    async fn exchange(&self, req: Option<Request>, progress: Progress) -> Result<Reply, String> {
        let resolver: Rc<RefCell<Option<Function>>> = Rc::default();
        let done = {
            let resolver = resolver.clone();
            Promise::new(&mut move |resolve, _| *resolver.borrow_mut() = Some(resolve))
        };
        let settle = move |v: &JsValue| {
            if let Some(resolve) = resolver.borrow_mut().take() {
                let _ = resolve.call1(&JsValue::NULL, v);
            }
        };
        let settle = Rc::new(settle);
        let s2 = settle.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |ev: MessageEvent| {
            let data = ev.data();
            match Reply::from_js(&data) {
                Ok(Reply::Progress { done, total }) => progress(done, total),
                _ => s2(&data),
            }
        });
        // A crash in the worker, or its script failing to load.
        let on_error = Closure::<dyn FnMut(JsValue)>::new(move |_: JsValue| {
            settle(&Reply::Failed(stopped()).to_js());
        });
        self.worker
            .set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        self.worker
            .set_onerror(Some(on_error.as_ref().unchecked_ref()));
        let posted = match req {
            Some(req) => {
                let msg = req.to_js();
                let posted = self.worker.post_message(&msg);
                wipe(&msg);
                posted.map_err(|_| stopped())
            }
            None => Ok(()),
        };
        let reply = match posted {
            Ok(()) => JsFuture::from(done).await.map_err(|_| stopped()),
            Err(e) => Err(e),
        };
        // Unhook before the closures are freed.
        self.worker.set_onmessage(None);
        self.worker.set_onerror(None);
        drop((on_message, on_error));
        Reply::from_js(&reply?)
    }
}
