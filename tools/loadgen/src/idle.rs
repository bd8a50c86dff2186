//! Idle connections: many authenticated WebSockets that send nothing, to
//! measure what a connection costs the relay (or the bare forwarder) while
//! it waits. Tens of thousands need several source addresses: one address
//! has ~28,000 ephemeral ports towards one listener.

use std::net::{IpAddr, SocketAddr};

use futures_util::{StreamExt as _, stream};
use tokio::net::TcpSocket;
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

use crate::client::{LoadError, Ws, authenticate, bare_device, err, register};

/// Registrations in flight at once (each signs and the relay verifies).
const REGISTERING: usize = 16;
/// Handshakes in flight at once (below the listener's accept backlog).
const CONNECTING: usize = 256;

/// Bearer tokens for `n` devices: registered through the open gate, or for
/// the bare forwarder (which takes any token as the device id) made up.
pub async fn tokens(url: &str, n: usize, bare: bool) -> Result<Vec<String>, LoadError> {
    if bare {
        return Ok((0..n).map(|i| bare_device(i).to_string()).collect());
    }
    let http = reqwest::Client::new();
    stream::iter(0..n)
        .map(|_| {
            let http = &http;
            async move { register(http, url).await.map(|(_, token)| token) }
        })
        .buffer_unordered(REGISTERING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

/// Opens one authenticated connection per token, spread round-robin over
/// `sources` (local addresses to bind; empty: the system's choice), and
/// returns them open (drop them to close).
pub async fn connect_all(
    url: &str,
    tokens: Vec<String>,
    sources: &[IpAddr],
) -> Result<Vec<Ws>, LoadError> {
    let ws_url = format!("{}/api/v1/ws", url.replacen("http://", "ws://", 1));
    let host = url
        .trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap_or_default();
    let addr: SocketAddr = tokio::net::lookup_host(host)
        .await
        .map_err(err)?
        .next()
        .ok_or_else(|| LoadError(format!("no address for {host}")))?;
    stream::iter(tokens.into_iter().enumerate())
        .map(|(i, token)| {
            let source = (!sources.is_empty()).then(|| sources[i % sources.len()]);
            let ws_url = &ws_url;
            async move { connect_from(ws_url, addr, source, token).await }
        })
        .buffer_unordered(CONNECTING)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect()
}

async fn connect_from(
    ws_url: &str,
    addr: SocketAddr,
    source: Option<IpAddr>,
    token: String,
) -> Result<Ws, LoadError> {
    let socket = if addr.is_ipv4() {
        TcpSocket::new_v4()
    } else {
        TcpSocket::new_v6()
    }
    .map_err(err)?;
    if let Some(ip) = source {
        socket.bind(SocketAddr::new(ip, 0)).map_err(err)?;
    }
    let tcp = socket.connect(addr).await.map_err(err)?;
    tcp.set_nodelay(true).map_err(err)?;
    let (ws, _) = tokio_tungstenite::client_async(ws_url, MaybeTlsStream::Plain(tcp))
        .await
        .map_err(err)?;
    authenticate(ws, token).await
}

/// Connections among `conns` the server has closed (a read that is ready
/// with a close, an error or the end), checked without waiting.
pub async fn closed(conns: &mut [Ws]) -> usize {
    let mut n = 0;
    for ws in conns {
        let ready = tokio::time::timeout(std::time::Duration::ZERO, ws.next()).await;
        if let Ok(None | Some(Err(_) | Ok(Message::Close(_)))) = ready {
            n += 1;
        }
    }
    n
}
