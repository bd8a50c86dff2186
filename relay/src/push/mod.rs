//! Web Push wake-ups (ADR 0023). When an envelope is stored for a device
//! with no connection, the device's browsers get a content-free push so the
//! app can open its connection and fetch it. The message path only puts
//! the device id on a bounded queue ([`Pusher::wake`]); a background task
//! rate-limits per device, looks up the subscriptions and sends, so a slow
//! or failing push service never delays a delivery.

pub mod send;
mod vapid;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use parley_shared::protocol::ws::DeviceId;
use tokio::sync::{Semaphore, mpsc};
use web_push_native::jwt_simple::algorithms::ES256KeyPair;

use crate::config::{Config, ConfigError};
use crate::db::Store;
use crate::limits::RateLimiter;
use crate::mailbox::Hub;
use send::{Options, Outcome};

/// Devices waiting to be woken; beyond this, wake-ups are dropped (the
/// envelopes are stored either way, and the app fetches them when opened).
const QUEUE: usize = 1024;
/// Push requests in flight at once.
const CONCURRENT: usize = 16;
/// A push service that has not answered by then is given up on.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How often rate-limit and back-off state of idle keys is forgotten.
const TIDY_EVERY: Duration = Duration::from_secs(60);

/// Whether a device that was just handed an envelope needs waking: it has
/// no connection to this relay. One relay node knows only its own
/// connections; a relay of several nodes replaces this with a lookup in the
/// shared presence.
pub fn needs_wake(hub: &Hub, device: &DeviceId) -> bool {
    !hub.is_connected(device)
}

/// The wake-up queue and the relay's VAPID public key.
#[derive(Debug)]
pub struct Pusher {
    tx: mpsc::Sender<DeviceId>,
    public_key: String,
}

impl Pusher {
    /// Loads (or creates) the VAPID key and starts the sending task on the
    /// current runtime.
    pub fn start(store: Store, config: &Config) -> Result<Arc<Self>, ConfigError> {
        let vapid = vapid::key_pair(config)?;
        let public_key = vapid::public_key_b64(&vapid);
        let client = reqwest::Client::builder()
            .timeout(REQUEST_TIMEOUT)
            // A push service answers; it does not send us elsewhere.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            // Only a TLS set-up failure gets here; no variable causes it, so
            // it is reported with the push settings.
            .map_err(|e| ConfigError::new("PARLEY_VAPID_SUBJECT", e.to_string()))?;
        let (tx, rx) = mpsc::channel(QUEUE);
        let worker = Worker {
            store,
            client,
            vapid: Arc::new(vapid),
            subject: Arc::from(config.push.subject.as_str()),
            options: Options {
                ttl: config.push.ttl,
            },
            limiter: RateLimiter::per_hour(
                u32::try_from((3600 / config.push.min_interval.as_secs().max(1)).max(1))
                    .unwrap_or(u32::MAX),
                1,
            ),
            backoff: Arc::default(),
            slots: Arc::new(Semaphore::new(CONCURRENT)),
        };
        actix_web::rt::spawn(worker.run(rx));
        Ok(Arc::new(Self { tx, public_key }))
    }

    /// The VAPID public key, base64url of the uncompressed point.
    pub fn public_key(&self) -> &str {
        &self.public_key
    }

    /// Queues a wake-up for `device`, never waiting.
    pub fn wake(&self, device: DeviceId) {
        if self.tx.try_send(device).is_err() {
            metrics::counter!("parley_push_dropped_total").increment(1);
        }
    }
}

/// Endpoint → when pushes there may resume.
type Backoff = Arc<Mutex<HashMap<String, Instant>>>;

struct Worker {
    store: Store,
    client: reqwest::Client,
    vapid: Arc<ES256KeyPair>,
    subject: Arc<str>,
    options: Options,
    limiter: RateLimiter<DeviceId>,
    backoff: Backoff,
    slots: Arc<Semaphore>,
}

impl Worker {
    async fn run(self, mut rx: mpsc::Receiver<DeviceId>) {
        let mut tidy = tokio::time::interval(TIDY_EVERY);
        loop {
            tokio::select! {
                next = rx.recv() => match next {
                    Some(device) => self.wake(device).await,
                    None => return,
                },
                _ = tidy.tick() => {
                    self.limiter.forget_idle();
                    let now = Instant::now();
                    lock(&self.backoff).retain(|_, until| *until > now);
                }
            }
        }
    }

    /// One wake-up: at most one per device per interval (later ones would
    /// only replace it at the push service, by `Topic`).
    async fn wake(&self, device: DeviceId) {
        if !self.limiter.check(&device) {
            metrics::counter!("parley_push_collapsed_total").increment(1);
            return;
        }
        // Waits for a free slot: the queue fills meanwhile, and `wake`
        // drops rather than blocks the message path.
        let Ok(permit) = self.slots.clone().acquire_owned().await else {
            return;
        };
        let store = self.store.clone();
        let vapid = self.vapid.clone();
        let subject = self.subject.clone();
        let client = self.client.clone();
        let backoff = self.backoff.clone();
        let options = self.options;
        actix_web::rt::spawn(async move {
            let _permit = permit;
            let lookup = store.clone();
            let subs =
                match actix_web::web::block(move || lookup.push_subscriptions(device.as_bytes()))
                    .await
                {
                    Ok(Ok(subs)) => subs,
                    _ => return,
                };
            for sub in subs {
                if lock(&backoff)
                    .get(&sub.endpoint)
                    .is_some_and(|until| *until > Instant::now())
                {
                    metrics::counter!("parley_push_backed_off_total").increment(1);
                    continue;
                }
                let req = match send::build(&sub, &vapid, &subject, options) {
                    Ok(req) => req,
                    Err(e) => {
                        tracing::warn!(err = %e, "push: cannot build request");
                        continue;
                    }
                };
                let outcome = send::send(&client, req).await;
                metrics::counter!("parley_push_requests_total", "outcome" => label(outcome))
                    .increment(1);
                match outcome {
                    Outcome::Sent | Outcome::Failed => {}
                    Outcome::Gone => {
                        let store = store.clone();
                        let endpoint = sub.endpoint.clone();
                        let _ = actix_web::web::block(move || {
                            store.delete_push_subscription(&endpoint)
                        })
                        .await;
                    }
                    Outcome::Backoff(wait) => {
                        lock(&backoff).insert(sub.endpoint.clone(), Instant::now() + wait);
                    }
                }
            }
        });
    }
}

fn label(outcome: Outcome) -> &'static str {
    match outcome {
        Outcome::Sent => "sent",
        Outcome::Gone => "gone",
        Outcome::Backoff(_) => "backoff",
        Outcome::Failed => "failed",
    }
}

fn lock(backoff: &Backoff) -> std::sync::MutexGuard<'_, HashMap<String, Instant>> {
    backoff
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}
