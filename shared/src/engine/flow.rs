//! What a multi-step flow (pairing, file transfer) asks its adapter to do.
//!
//! A flow is a sans-I/O state machine the adapter owns for as long as a
//! screen needs it: the adapter asks [`Step`]s of it, performs each request
//! and hands the reply back, waits when told to, and stops at
//! [`Step::Done`]. The rules (what to request, in which order, how often,
//! until when, what a refusal means) are the flow's; timers, progress and
//! the screen are the adapter's.

use crate::protocol::api::{self, Method};
use crate::protocol::attachments::SignedUrl;
use crate::time::UnixMs;

/// The next thing to do for a flow.
#[derive(Debug)]
pub enum Step<E, R> {
    /// Perform this API request and pass the reply to the flow.
    Http(api::Request),
    /// Transfer bytes with the blob store through a signed URL (not an API
    /// route) and pass the outcome to the flow.
    Blob(BlobRequest),
    /// Nothing to do before this time or a user intent; ask again then.
    Wait(UnixMs),
    /// Something to show; ask again at once.
    Event(E),
    /// The flow ended.
    Done(R),
}

/// A request to the blob store through a pre-signed URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BlobRequest {
    /// The signed method.
    pub method: Method,
    /// The signed URL.
    pub url: String,
    /// Headers the signature covers (send them as they are, except
    /// `content-length` and `host`, which the HTTP client sets).
    pub headers: Vec<(String, String)>,
}

impl BlobRequest {
    pub(crate) fn from_signed(s: SignedUrl) -> Self {
        let method = match s.method.as_str() {
            "PUT" => Method::Put,
            "DELETE" => Method::Delete,
            "POST" => Method::Post,
            _ => Method::Get,
        };
        Self {
            method,
            url: s.url,
            headers: s.headers,
        }
    }
}

/// Why a blob transfer failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BlobError {
    /// No answer from the store.
    #[error("Storage is unreachable.")]
    Unreachable,
    /// The store refused the signed URL (expired, or not for this request).
    #[error("The storage link expired or was refused.")]
    Refused,
    /// The store answered with an error.
    #[error("Storage answered with an error ({0}).")]
    Failed(u16),
    /// The bytes are not the file that was offered (digest or a chunk did
    /// not verify), or could not be processed here.
    #[error("{0}")]
    Local(String),
}

impl BlobError {
    /// The failure an HTTP status stands for (`None`: success). Status 0
    /// is what browsers report for a transfer that got no answer.
    pub fn from_status(status: u16) -> Option<Self> {
        match status {
            200..=299 => None,
            0 => Some(Self::Unreachable),
            401 | 403 => Some(Self::Refused),
            s => Some(Self::Failed(s)),
        }
    }
}

/// The steps a transfer flow has queued for its adapter, and how it ended:
/// what every transfer flow (files, the link's history archive) shares.
#[derive(Debug)]
pub(crate) struct Queue<R> {
    next: std::collections::VecDeque<Step<(), R>>,
    done: Option<R>,
}

impl<R: Clone> Queue<R> {
    /// A queue whose first step is `first`.
    pub(crate) fn new(first: api::Request) -> Self {
        Self {
            next: std::collections::VecDeque::from([Step::Http(first)]),
            done: None,
        }
    }

    /// The next step: the end once there is one, else what is queued, else
    /// waiting for the adapter's answer.
    pub(crate) fn step(&mut self, now: UnixMs) -> Step<(), R> {
        if let Some(d) = &self.done {
            return Step::Done(d.clone());
        }
        self.next.pop_front().unwrap_or(Step::Wait(now))
    }

    /// Queues an API request.
    pub(crate) fn http(&mut self, req: api::Request) {
        self.next.push_back(Step::Http(req));
    }

    /// Queues a transfer through a pre-signed URL.
    pub(crate) fn blob(&mut self, signed: SignedUrl) {
        self.next
            .push_back(Step::Blob(BlobRequest::from_signed(signed)));
    }

    /// The flow ended.
    pub(crate) fn finish(&mut self, r: R) {
        self.done = Some(r);
    }
}
