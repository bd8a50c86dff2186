//! A client of the relay's HTTP and WebSocket APIs, as the tests use it.

use std::time::Duration;

use futures_util::{SinkExt as _, StreamExt as _};
use parley_shared::crypto::keys::{IdentityKeyPair, OneTimePreKey};
use parley_shared::crypto::os_rng;
use parley_shared::protocol::auth::{
    Challenge, GateProof, KeyUpload, LoginRequest, RegisterRequest, Session, decode_b64,
    encode_b64, login_statement, registration_statement,
};
use parley_shared::protocol::ws::{ClientFrame, ServerFrame};
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;

use super::relay::Relay;

pub(crate) struct Api {
    pub base: String,
    http: reqwest::Client,
}

pub(crate) struct Device {
    pub identity: IdentityKeyPair,
    pub token: String,
}

impl Api {
    pub(crate) fn new(relay: &Relay) -> Self {
        Self {
            base: relay.base.clone(),
            http: reqwest::Client::new(),
        }
    }

    pub(crate) fn origin(&self) -> String {
        self.base.clone()
    }

    /// A request with an optional bearer token and body of `content_type`.
    async fn request(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<(&'static str, Vec<u8>)>,
    ) -> reqwest::Response {
        let mut b = self
            .http
            .request(method.parse().unwrap(), format!("{}{path}", self.base));
        if let Some(t) = token {
            b = b.header("authorization", format!("Bearer {t}"));
        }
        if let Some((content_type, body)) = body {
            b = b.header("content-type", content_type).body(body);
        }
        b.send().await.unwrap()
    }

    pub(crate) async fn send(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<String>,
    ) -> (u16, Value) {
        let body = body.map(|b| ("application/json", b.into_bytes()));
        let r = self.request(method, path, token, body).await;
        let status = r.status().as_u16();
        let text = r.text().await.unwrap();
        (status, serde_json::from_str(&text).unwrap_or(Value::Null))
    }

    /// A request with an octet-stream body; the answer's status and bytes.
    #[allow(dead_code)] // not every test file uses it
    pub(crate) async fn send_bytes(
        &self,
        method: &str,
        path: &str,
        token: Option<&str>,
        body: Option<Vec<u8>>,
    ) -> (u16, Vec<u8>) {
        let body = body.map(|b| ("application/octet-stream", b));
        let r = self.request(method, path, token, body).await;
        let status = r.status().as_u16();
        (status, r.bytes().await.unwrap().to_vec())
    }

    pub(crate) async fn challenge(&self) -> Vec<u8> {
        let (st, v) = self
            .send("POST", "/api/v1/auth/challenge", None, None)
            .await;
        assert_eq!(st, 200, "{v}");
        let c: Challenge = serde_json::from_value(v).unwrap();
        decode_b64(&c.challenge).unwrap()
    }

    pub(crate) fn keys(identity: &IdentityKeyPair, first_otk: u32, count: u32) -> KeyUpload {
        let rng = &mut os_rng();
        KeyUpload {
            signed_prekey: identity.signed_prekey(rng, 1).public(),
            pq_prekey: identity.pq_prekey(rng, 2).public(),
            one_time_prekeys: OneTimePreKey::batch(rng, first_otk, count)
                .iter()
                .map(OneTimePreKey::public)
                .collect(),
        }
    }

    pub(crate) async fn register_with(
        &self,
        identity: &IdentityKeyPair,
        keys: KeyUpload,
        gate: GateProof,
        signer: &IdentityKeyPair,
    ) -> (u16, Value) {
        let challenge = self.challenge().await;
        let sig = signer.sign(
            &[],
            &[&registration_statement(&self.origin(), &challenge, &keys)],
        );
        let req = RegisterRequest {
            identity: encode_b64(&identity.public().to_bytes()),
            keys,
            challenge: encode_b64(&challenge),
            signature: encode_b64(&sig),
            gate,
        };
        self.send(
            "POST",
            "/api/v1/devices",
            None,
            Some(serde_json::to_string(&req).unwrap()),
        )
        .await
    }

    /// `N` registered devices without one-time prekeys.
    #[allow(dead_code)] // not every test file uses it
    pub(crate) async fn devices<const N: usize>(&self) -> [Device; N] {
        let mut out = Vec::with_capacity(N);
        for _ in 0..N {
            out.push(self.register(0).await);
        }
        out.try_into()
            .unwrap_or_else(|_| unreachable!("exactly N were registered"))
    }

    pub(crate) async fn register(&self, one_time: u32) -> Device {
        let identity = IdentityKeyPair::generate(&mut os_rng());
        let keys = Self::keys(&identity, 100, one_time);
        let (st, v) = self
            .register_with(&identity, keys, GateProof::Open, &identity)
            .await;
        assert_eq!(st, 201, "{v}");
        // The JSON carries the id as base64url, as before it had a type.
        assert_eq!(v["device_id"], encode_b64(identity.device_id().as_bytes()));
        let s: Session = serde_json::from_value(v).unwrap();
        assert_eq!(s.device_id, identity.device_id());
        Device {
            identity,
            token: s.token,
        }
    }

    pub(crate) async fn login(&self, identity: &IdentityKeyPair, origin: &str) -> (u16, Value) {
        let challenge = self.challenge().await;
        let sig = identity.sign(&[], &[&login_statement(origin, &challenge)]);
        let req = LoginRequest {
            device_id: identity.device_id(),
            challenge: encode_b64(&challenge),
            signature: encode_b64(&sig),
        };
        self.send(
            "POST",
            "/api/v1/auth/login",
            None,
            Some(serde_json::to_string(&req).unwrap()),
        )
        .await
    }

    pub(crate) async fn bundle(&self, token: &str, of: &IdentityKeyPair) -> (u16, Value) {
        let path = format!("/api/v1/devices/{}/bundle", of.device_id());
        self.send("GET", &path, Some(token), None).await
    }
}

/// An HTTP client whose requests come from `ip` (any 127.x address works on
/// loopback), to test per-address limits.
pub(crate) fn client_from(ip: [u8; 4]) -> reqwest::Client {
    reqwest::Client::builder()
        .local_address(std::net::IpAddr::from(ip))
        .build()
        .unwrap()
}

type Stream =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// A WebSocket connection speaking the relay's binary frames.
pub(crate) struct Ws {
    stream: Stream,
}

impl Ws {
    /// Connects without authenticating.
    pub(crate) async fn open(base: &str) -> Self {
        let url = format!("{}/api/v1/ws", base.replacen("http://", "ws://", 1));
        let (stream, _) = tokio_tungstenite::connect_async(url).await.unwrap();
        Self { stream }
    }

    /// Connects, authenticates, and returns the number of queued envelopes announced.
    pub(crate) async fn connect(base: &str, token: &str) -> (Self, u32) {
        let mut ws = Self::open(base).await;
        ws.send(&ClientFrame::Auth {
            token: token.to_owned(),
        })
        .await;
        match ws.recv().await {
            ServerFrame::Ready { queued } => (ws, queued),
            other => panic!("expected Ready, got {other:?}"),
        }
    }

    pub(crate) async fn send(&mut self, frame: &ClientFrame) {
        self.stream
            .send(Message::Binary(frame.to_bytes().into()))
            .await
            .unwrap();
    }

    pub(crate) async fn send_raw(&mut self, msg: Message) {
        let _ = self.stream.send(msg).await;
    }

    /// Writes bytes to the socket as they are, past the WebSocket (a frame
    /// no client library would send).
    pub(crate) async fn send_bytes(&mut self, head: &[u8], body: &[u8]) {
        use tokio::io::AsyncWriteExt as _;
        let tcp = self.stream.get_mut();
        let _ = tcp.write_all(head).await;
        let _ = tcp.write_all(body).await;
        let _ = tcp.flush().await;
    }

    /// Whether the relay ends the TCP connection within `wait` (read past
    /// the WebSocket, so a closed WebSocket on an open socket does not count).
    pub(crate) async fn tcp_closed_within(&mut self, wait: Duration) -> bool {
        use tokio::io::AsyncReadExt as _;
        let tcp = self.stream.get_mut();
        let mut buf = [0u8; 256];
        let end = async { while matches!(tcp.read(&mut buf).await, Ok(n) if n > 0) {} };
        tokio::time::timeout(wait, end).await.is_ok()
    }

    /// The next message as it came, pings and pongs included (fails the
    /// test after 10 s); `None` once the connection has ended.
    pub(crate) async fn next_raw(&mut self) -> Option<Message> {
        tokio::time::timeout(Duration::from_secs(10), self.stream.next())
            .await
            .expect("timed out waiting for a message")
            .and_then(Result::ok)
    }

    /// Next server frame (fails the test after 10 s or on close).
    pub(crate) async fn recv(&mut self) -> ServerFrame {
        loop {
            let msg = tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .expect("timed out waiting for a frame")
                .expect("connection closed")
                .expect("websocket error");
            match msg {
                Message::Binary(b) => return ServerFrame::from_bytes(&b).unwrap(),
                Message::Ping(_) | Message::Pong(_) => continue,
                other => panic!("unexpected message {other:?}"),
            }
        }
    }

    /// The next frame within `ms` milliseconds; `None` on timeout or close.
    pub(crate) async fn try_recv(&mut self, ms: u64) -> Option<ServerFrame> {
        loop {
            match tokio::time::timeout(Duration::from_millis(ms), self.stream.next())
                .await
                .ok()?
            {
                Some(Ok(Message::Binary(b))) => return ServerFrame::from_bytes(&b).ok(),
                Some(Ok(Message::Ping(_) | Message::Pong(_))) => continue,
                _ => return None,
            }
        }
    }

    /// Waits for the server to close; returns the close code.
    pub(crate) async fn closed(&mut self) -> Option<u16> {
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.next())
                .await
                .ok()?
            {
                Some(Ok(Message::Close(frame))) => return frame.map(|f| u16::from(f.code)),
                Some(Ok(_)) => continue,
                Some(Err(_)) | None => return None,
            }
        }
    }

    /// Every frame up to the server's close, and its close code (`None` when
    /// the connection is still open after 10 s or ends without a close frame).
    pub(crate) async fn frames_until_close(&mut self) -> (Vec<ServerFrame>, Option<u16>) {
        let mut frames = Vec::new();
        loop {
            match tokio::time::timeout(Duration::from_secs(10), self.stream.next()).await {
                Ok(Some(Ok(Message::Binary(b)))) => {
                    frames.push(ServerFrame::from_bytes(&b).unwrap());
                }
                Ok(Some(Ok(Message::Close(frame)))) => {
                    return (frames, frame.map(|f| u16::from(f.code)));
                }
                Ok(Some(Ok(_))) => continue,
                Ok(Some(Err(_)) | None) | Err(_) => return (frames, None),
            }
        }
    }

    /// Nothing arrives within `ms` milliseconds.
    pub(crate) async fn silent_for(&mut self, ms: u64) -> bool {
        tokio::time::timeout(Duration::from_millis(ms), self.stream.next())
            .await
            .is_err()
    }
}

/// `devices` listed by `account` at `counter`, each having agreed at `at`.
#[allow(dead_code)] // not every test file uses it
pub(crate) fn signed_list(
    account: &parley_shared::crypto::account::AccountKeyPair,
    counter: u64,
    devices: &[&Device],
    at: parley_shared::time::UnixMs,
) -> parley_shared::crypto::account::SignedDeviceList {
    use parley_shared::crypto::account::{DeviceEntry, DeviceList};
    let entries = devices
        .iter()
        .map(|d| DeviceEntry::link(&d.identity, &account.public(), at))
        .collect();
    account
        .sign(&DeviceList::new(account.public(), counter, entries).expect("a valid list"))
        .expect("the account's own list")
}

/// Publishes `list` for `account` as `by`; the status.
#[allow(dead_code)] // not every test file uses it
pub(crate) async fn put_list(
    api: &Api,
    by: &Device,
    account: &parley_shared::crypto::account::AccountKeyPair,
    list: &parley_shared::crypto::account::SignedDeviceList,
) -> u16 {
    use parley_shared::protocol::api::Endpoint as _;
    let path = parley_shared::protocol::api::PutDeviceList {
        account: account.public().id(),
    }
    .path();
    api.send_bytes("PUT", &path, Some(&by.token), Some(list.to_bytes()))
        .await
        .0
}
