//! Device linking, the browser half of `parley_shared::engine::link`: the
//! linking device sends the history archive once the new device is in the
//! list; the new device waits for the archive's announcement, fetches and
//! takes it in, and waits for the restore that follows to end.

use parley_shared::crypto::os_rng;
use parley_shared::engine::RestoreError;
use parley_shared::engine::flow::Step;
use parley_shared::engine::link::LinkError;
use parley_shared::engine::link::handover::{HandoverReceive, HandoverSend};
use parley_shared::protocol::api::Failure;
use parley_shared::protocol::ws::DeviceId;

use crate::api;
use crate::runtime::{self, SessionError, sleep};

/// How long the new device waits for the archive's announcement, ms.
const OFFER_WAIT_MS: u32 = 180_000;
/// How often it looks, ms.
const POLL_MS: u32 = 250;

/// Why the history did not arrive or leave.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub(crate) enum HandoverUiError {
    /// The flow's own failure.
    #[error(transparent)]
    Link(#[from] LinkError),
    /// No runtime or account.
    #[error(transparent)]
    Session(#[from] SessionError),
    /// Nothing arrived in time.
    #[error("the other device sent nothing")]
    NoArchive,
}

impl crate::i18n::Localize for HandoverUiError {
    fn text(&self) -> String {
        match self {
            Self::Link(e) => e.text(),
            Self::Session(e) => e.text(),
            Self::NoArchive => crate::tr!("link-no-archive"),
        }
    }
}

/// The linking device: seals and sends the history to `device`.
pub(crate) async fn send_history(device: DeviceId) -> Result<(), HandoverUiError> {
    let mut flow = runtime::read(|e| HandoverSend::new(&mut os_rng(), e, device))
        .ok_or(SessionError::NoAccount)??;
    loop {
        match flow.step(api::now()) {
            Step::Http(req) => flow.on_reply(runtime::perform(&req).await),
            Step::Blob(req) => {
                let r = api::blob(&req, Some(flow.body())).await.map(|_| ());
                runtime::write(|e| flow.on_uploaded(&mut os_rng(), e, r))
                    .ok_or(SessionError::NoAccount)?;
            }
            Step::Done(r) => return Ok(r?),
            Step::Wait(_) | Step::Event(()) => {
                return Err(LinkError::Relay(Failure::Unreachable).into());
            }
        }
    }
}

/// The new device: waits for the archive, takes it in, and waits for the
/// restore it starts.
pub(crate) async fn receive_history() -> Result<(), HandoverUiError> {
    let mut waited = 0;
    let offer = loop {
        if let Some(o) = runtime::read(|e| e.handover_offer()).ok_or(SessionError::NoAccount)? {
            break o;
        }
        if waited >= OFFER_WAIT_MS {
            return Err(HandoverUiError::NoArchive);
        }
        sleep(POLL_MS).await;
        waited += POLL_MS;
    };
    let mut flow = HandoverReceive::new(offer);
    loop {
        match flow.step(api::now()) {
            Step::Http(req) => flow.on_reply(runtime::perform(&req).await),
            Step::Blob(req) => {
                let r = api::blob(&req, None).await;
                runtime::write(|e| flow.on_downloaded(e, r)).ok_or(SessionError::NoAccount)?;
            }
            Step::Done(r) => {
                r?;
                break;
            }
            Step::Wait(_) | Step::Event(()) => {
                return Err(LinkError::Relay(Failure::Unreachable).into());
            }
        }
    }
    loop {
        let state = runtime::read(|e| (e.restore_busy(), e.restore_result().cloned()))
            .ok_or(SessionError::NoAccount)?;
        match state {
            (false, Some(Ok(()))) => return Ok(()),
            (false, Some(Err(e))) => return Err(LinkError::Restore(e).into()),
            (false, None) => return Err(LinkError::Restore(RestoreError::NotReady).into()),
            (true, _) => sleep(POLL_MS).await,
        }
    }
}
