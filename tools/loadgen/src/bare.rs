//! The baseline: a minimal in-memory WebSocket forwarder speaking the same
//! frames, with no authentication, no storage and no limits.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use futures_util::{SinkExt as _, StreamExt as _};
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use parley_shared::time::UnixMs;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

type Routes = Arc<Mutex<HashMap<DeviceId, mpsc::UnboundedSender<Vec<u8>>>>>;

/// A running bare forwarder.
#[derive(Debug)]
pub struct BareForwarder {
    /// Where it listens.
    pub addr: SocketAddr,
}

impl BareForwarder {
    /// Starts listening on a free loopback port.
    pub async fn start() -> std::io::Result<Self> {
        Self::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), None).await
    }

    /// Starts listening on `addr`; `buffers` sets tungstenite's read and
    /// write buffer sizes (its defaults are 128 KiB each).
    pub async fn start_on(addr: SocketAddr, buffers: Option<usize>) -> std::io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let routes: Routes = Arc::default();
        let config = buffers.map(|n| {
            WebSocketConfig::default()
                .read_buffer_size(n)
                .write_buffer_size(n)
        });
        tokio::spawn(async move {
            while let Ok((tcp, _)) = listener.accept().await {
                tokio::spawn(serve(tcp, routes.clone(), config));
            }
        });
        Ok(Self { addr })
    }
}

async fn serve(tcp: tokio::net::TcpStream, routes: Routes, config: Option<WebSocketConfig>) {
    // As the relay does (TCP_NODELAY on every socket): the baseline must not
    // wait for delayed ACKs the relay does not wait for.
    if tcp.set_nodelay(true).is_err() {
        return;
    }
    let Ok(ws) = tokio_tungstenite::accept_async_with_config(tcp, config).await else {
        return;
    };
    let (mut sink, mut stream) = ws.split();
    let (tx, mut rx) = mpsc::unbounded_channel::<Vec<u8>>();
    let mut me: Option<DeviceId> = None;
    loop {
        tokio::select! {
            msg = stream.next() => {
                let Some(Ok(Message::Binary(b))) = msg else { break };
                let Ok(frame) = ClientFrame::from_bytes(&b) else { break };
                match frame {
                    ClientFrame::Auth { token } => {
                        // Bare mode: the token is the device id.
                        let id: DeviceId = token.parse().unwrap_or(DeviceId::new([0; 32]));
                        routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(id, tx.clone());
                        me = Some(id);
                        let _ = sink.send(Message::Binary(ServerFrame::Ready { queued: 0 }.to_bytes().into())).await;
                    }
                    ClientFrame::Send { id, to, ephemeral, payload, .. } => {
                        let Some(from) = me else { break };
                        let deliver = ServerFrame::Deliver { from, id, sent_at: UnixMs::EPOCH, ephemeral, payload }.to_bytes();
                        if let Some(r) = routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner).get(&to) {
                            let _ = r.send(deliver);
                        }
                        let _ = sink.send(Message::Binary(ServerFrame::Accepted { id }.to_bytes().into())).await;
                    }
                    ClientFrame::SendMany { id, to, payload } => {
                        let Some(from) = me else { break };
                        let deliver = ServerFrame::Deliver { from, id, sent_at: UnixMs::EPOCH, ephemeral: false, payload }.to_bytes();
                        {
                            let routes = routes.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
                            for r in to.iter().filter_map(|r| routes.get(&r.device)) {
                                let _ = r.send(deliver.clone());
                            }
                        }
                        let _ = sink.send(Message::Binary(ServerFrame::Accepted { id }.to_bytes().into())).await;
                    }
                    ClientFrame::Ack { .. } | ClientFrame::Presence { .. } => {}
                }
            }
            out = rx.recv() => {
                let Some(bytes) = out else { break };
                if sink.send(Message::Binary(bytes.into())).await.is_err() { break }
            }
        }
    }
}
