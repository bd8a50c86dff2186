//! The devices' side of a load run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use futures_util::{SinkExt as _, StreamExt as _};
use parley_shared::crypto::keys::{IdentityKeyPair, OneTimePreKey};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::{
    Challenge, GateProof, KeyUpload, RegisterRequest, Session, decode_b64, encode_b64,
    registration_statement,
};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use tokio_tungstenite::tungstenite::Message;

/// What to run.
#[derive(Debug, Clone)]
pub struct Plan {
    /// Relay nodes' base URLs (`http://host:port`): device `i` registers
    /// and connects at `urls[i % urls.len()]`, so with two nodes every
    /// envelope crosses from one node to the other.
    pub urls: Vec<String>,
    /// Number of devices.
    pub devices: usize,
    /// Envelopes each device sends.
    pub messages: usize,
    /// Payload bytes per envelope (at least 16).
    pub size: usize,
    /// Unacknowledged sends allowed per device.
    pub window: usize,
    /// Skip registration (bare forwarder: any token is accepted).
    pub bare: bool,
    /// Envelopes per second over all devices, on a fixed schedule (open
    /// loop); `None` sends as fast as the window allows.
    pub rate: Option<f64>,
}

/// What a run measured.
#[derive(Debug, Clone)]
pub struct Report {
    /// Envelopes delivered.
    pub delivered: usize,
    /// Wall time from the first send to the last delivery.
    pub elapsed: Duration,
    /// Send→deliver latencies, sorted.
    pub latencies: Vec<Duration>,
    /// With a rate: how late each send left against its schedule, sorted
    /// (the load generator's timer, or a full window while the server lags
    /// behind); empty without one.
    pub lags: Vec<Duration>,
}

impl Report {
    /// Delivered envelopes per second.
    pub fn rate(&self) -> f64 {
        self.delivered as f64 / self.elapsed.as_secs_f64().max(1e-9)
    }
}

/// A load-run failure.
#[derive(Debug, thiserror::Error)]
#[error("load run failed: {0}")]
pub struct LoadError(pub String);

pub(crate) fn err(e: impl std::fmt::Display) -> LoadError {
    LoadError(e.to_string())
}

/// Registers a fresh device through the open gate; returns its id and bearer
/// token. `url` is the relay's public origin (it is signed over).
pub async fn register(http: &reqwest::Client, url: &str) -> Result<(DeviceId, String), LoadError> {
    let rng = &mut os_rng();
    let identity = IdentityKeyPair::generate(rng);
    let keys = KeyUpload {
        signed_prekey: identity.signed_prekey(rng, 1).public(),
        pq_prekey: identity.pq_prekey(rng, 2).public(),
        one_time_prekeys: OneTimePreKey::batch(rng, 1, 1)
            .iter()
            .map(OneTimePreKey::public)
            .collect(),
    };
    let c = http
        .post(format!("{url}/api/v1/auth/challenge"))
        .send()
        .await
        .map_err(err)?;
    let c: Challenge = serde_json::from_slice(&c.bytes().await.map_err(err)?).map_err(err)?;
    let challenge = decode_b64(&c.challenge).ok_or_else(|| LoadError("bad challenge".into()))?;
    let sig = identity.sign(&[], &[&registration_statement(url, &challenge, &keys)]);
    let body = serde_json::to_string(&RegisterRequest {
        identity: encode_b64(&identity.public().to_bytes()),
        keys,
        challenge: c.challenge,
        signature: encode_b64(&sig),
        gate: GateProof::Open,
    })
    .map_err(err)?;
    let r = http
        .post(format!("{url}/api/v1/devices"))
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .map_err(err)?;
    let bytes = r.bytes().await.map_err(err)?;
    let s: Session = serde_json::from_slice(&bytes)
        .map_err(|_| LoadError(String::from_utf8_lossy(&bytes).into_owned()))?;
    Ok((identity.device_id(), s.token))
}

/// Opens a WebSocket, authenticates, and waits for `Ready`. Nagle's
/// algorithm is off, as browsers turn it off: left on, a small frame sent
/// while another is unacknowledged waits for the server's delayed ACK
/// (up to 40 ms), and the run measures that wait instead of the server.
async fn connect(ws_url: &str, token: String) -> Result<Ws, LoadError> {
    let (ws, _) = tokio_tungstenite::connect_async_with_config(ws_url, None, true)
        .await
        .map_err(err)?;
    authenticate(ws, token).await
}

/// Sends `Auth` on an open WebSocket and waits for `Ready`.
pub(crate) async fn authenticate(mut ws: Ws, token: String) -> Result<Ws, LoadError> {
    ws.send(Message::Binary(
        ClientFrame::Auth { token }.to_bytes().into(),
    ))
    .await
    .map_err(err)?;
    match ws.next().await {
        Some(Ok(Message::Binary(b)))
            if matches!(ServerFrame::from_bytes(&b), Ok(ServerFrame::Ready { .. })) =>
        {
            Ok(ws)
        }
        other => Err(LoadError(format!("no Ready: {other:?}"))),
    }
}

/// Device `i` for the bare forwarder, which takes the id as the token.
pub(crate) fn bare_device(i: usize) -> DeviceId {
    let mut id = [0u8; 32];
    id[..8].copy_from_slice(&(i as u64).to_be_bytes());
    DeviceId::new(id)
}

/// Registers the devices, connects them, runs the traffic, and reports.
pub async fn run(plan: Plan) -> Result<Report, LoadError> {
    let http = reqwest::Client::new();
    if plan.urls.is_empty() {
        return Err(LoadError("no relay URL".into()));
    }
    // Checked before any device registers.
    let every = plan.rate.map(|r| interval(plan.devices, r)).transpose()?;
    let node = |i: usize| plan.urls[i % plan.urls.len()].as_str();
    let mut devices = Vec::with_capacity(plan.devices);
    for i in 0..plan.devices {
        devices.push(if plan.bare {
            let id = bare_device(i);
            (id, id.to_string())
        } else {
            register(&http, node(i)).await?
        });
    }
    let mut conns = Vec::with_capacity(devices.len());
    for (i, (_, token)) in devices.iter().enumerate() {
        let ws_url = format!("{}/api/v1/ws", node(i).replacen("http://", "ws://", 1));
        conns.push(connect(&ws_url, token.clone()).await?);
    }
    let start = Arc::new(Instant::now());
    let mut tasks = Vec::new();
    for (i, ws) in conns.into_iter().enumerate() {
        let to = devices[(i + 1) % devices.len()].0;
        let from = devices[(i + devices.len() - 1) % devices.len()].0;
        let plan = plan.clone();
        let start = start.clone();
        let schedule = every.map(|every| Schedule::of(every, i, plan.devices));
        tasks.push(tokio::spawn(async move {
            drive(ws, (from, to), plan, schedule, start).await
        }));
    }
    let (mut latencies, mut lags) = (Vec::new(), Vec::new());
    let mut last = Duration::ZERO;
    for t in tasks {
        let device = t.await.map_err(err)??;
        latencies.extend(device.latencies);
        lags.extend(device.lags);
        last = last.max(device.done);
    }
    latencies.sort_unstable();
    lags.sort_unstable();
    Ok(Report {
        delivered: latencies.len(),
        elapsed: last,
        latencies,
        lags,
    })
}

pub(crate) type Ws =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// When a device's sends are due, with `--rate`: every `every`, from
/// `phase` (the devices' sends spread evenly over one interval).
#[derive(Debug, Clone, Copy)]
struct Schedule {
    phase: Duration,
    every: Duration,
}

/// Each device's interval between sends at `rate` envelopes per second
/// over `devices`; a rate that schedules nothing (or never) is refused.
fn interval(devices: usize, rate: f64) -> Result<Duration, LoadError> {
    (rate.is_finite() && rate > 0.0)
        .then(|| Duration::try_from_secs_f64(devices as f64 / rate).ok())
        .flatten()
        .ok_or_else(|| LoadError(format!("rate {rate}: envelopes per second, above zero")))
}

impl Schedule {
    /// Device `i` of `devices`, each sending every `every`.
    fn of(every: Duration, i: usize, devices: usize) -> Self {
        Self {
            phase: every.mul_f64(i as f64 / devices.max(1) as f64),
            every,
        }
    }

    /// Time since the start at which send `k` is due.
    fn due(self, k: usize) -> Duration {
        self.phase + self.every.mul_f64(k as f64)
    }
}

/// What one device saw.
struct DeviceRun {
    latencies: Vec<Duration>,
    lags: Vec<Duration>,
    done: Duration,
}

/// One device: sends `messages` envelopes (window-limited, and on
/// `schedule` if given) to `to` while receiving and acknowledging those of
/// `from`, its predecessor. Latency counts from the send; on a schedule,
/// each send's lag behind it is kept too, so a run whose sends were held
/// back (by a full window while the server fell behind, or by this
/// process's timer, which wakes on whole milliseconds) says so instead of
/// hiding the wait.
async fn drive(
    ws: Ws,
    (from, to): (DeviceId, DeviceId),
    plan: Plan,
    schedule: Option<Schedule>,
    start: Arc<Instant>,
) -> Result<DeviceRun, LoadError> {
    let (mut sink, mut stream) = ws.split();
    // Shown to its sender, as a contact with presence on is: the relay's
    // live fast path is only for such pairs (ADR 0028).
    let presence = ClientFrame::Presence {
        share: true,
        watch: vec![from],
    };
    sink.send(Message::Binary(presence.to_bytes().into()))
        .await
        .map_err(err)?;
    let (mut sent, mut accepted, mut received) = (0usize, 0usize, 0usize);
    let mut latencies = Vec::with_capacity(plan.messages);
    let mut lags = Vec::new();
    let size = plan.size.max(16);
    // Quiet for this long means the server stalled; a slow schedule's
    // interval between sends is not a stall.
    let stall = Duration::from_secs(30) + schedule.map_or(Duration::ZERO, |s| s.every);
    while accepted < plan.messages || received < plan.messages {
        while sent < plan.messages && sent - accepted < plan.window {
            let now = start.elapsed();
            match schedule.map(|s| s.due(sent)) {
                Some(due) if now < due => break,
                Some(due) => lags.push(now - due),
                None => {}
            }
            let mut payload = vec![0u8; size];
            payload[..8].copy_from_slice(&(now.as_nanos() as u64).to_be_bytes());
            let mut id = [0u8; 16];
            id[..8].copy_from_slice(&(sent as u64).to_be_bytes());
            id[8..].copy_from_slice(&os_rng_u64().to_be_bytes());
            let frame = ClientFrame::Send {
                id,
                to,
                ephemeral: false,
                payload,
                list: None,
            };
            sink.send(Message::Binary(frame.to_bytes().into()))
                .await
                .map_err(err)?;
            sent += 1;
        }
        // The next scheduled send, if one may go once it is due.
        let next = schedule
            .filter(|_| sent < plan.messages && sent - accepted < plan.window)
            .map(|s| tokio::time::Instant::from_std(*start + s.due(sent)));
        let read = tokio::time::timeout(stall, stream.next());
        let msg = tokio::select! {
            m = read => m,
            () = tokio::time::sleep_until(next.unwrap_or_else(tokio::time::Instant::now)),
                if next.is_some() => continue,
        };
        let msg = msg
            .map_err(|_| LoadError(format!("stalled for {} s", stall.as_secs())))?
            .ok_or_else(|| LoadError("connection closed".into()))?
            .map_err(err)?;
        let Message::Binary(b) = msg else { continue };
        match ServerFrame::from_bytes(&b).map_err(err)? {
            ServerFrame::Accepted { .. } => accepted += 1,
            ServerFrame::Deliver {
                from, id, payload, ..
            } => {
                let mut ts = [0u8; 8];
                ts.copy_from_slice(&payload[..8]);
                let sent_at = Duration::from_nanos(u64::from_be_bytes(ts));
                latencies.push(start.elapsed().saturating_sub(sent_at));
                received += 1;
                sink.send(Message::Binary(
                    ClientFrame::Ack { from, id }.to_bytes().into(),
                ))
                .await
                .map_err(err)?;
            }
            ServerFrame::Error { code, message, .. } => {
                return Err(LoadError(format!("{code:?}: {message}")));
            }
            // Load devices are in no account.
            ServerFrame::Stale { .. } | ServerFrame::StaleMany { .. } => {
                return Err(LoadError("the relay asked for a device list".into()));
            }
            ServerFrame::Ready { .. } | ServerFrame::Presence { .. } => {}
        }
    }
    Ok(DeviceRun {
        latencies,
        lags,
        done: start.elapsed(),
    })
}

fn os_rng_u64() -> u64 {
    let mut b = [0u8; 8];
    // Ids only need to be unique per run; a failure leaves zeros and the
    // counter half of the id still differs.
    let _ = getrandom::fill(&mut b);
    u64::from_be_bytes(b)
}
