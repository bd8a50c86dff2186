//! Idle connections for the memory benchmark: opened round-robin from the
//! source addresses asked for, all authenticated, none closed while held,
//! and one the server drops counted as closed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use futures_util::SinkExt as _;
use parley_loadgen::{BareForwarder, closed, connect_all, tokens};
use tokio_tungstenite::MaybeTlsStream;
use tokio_tungstenite::tungstenite::Message;

#[tokio::test]
async fn idle_connections_spread_over_source_addresses() {
    let bare = BareForwarder::start_on(SocketAddr::from(([127, 0, 0, 1], 0)), Some(4096))
        .await
        .unwrap();
    let url = format!("http://{}", bare.addr);
    let sources = [
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 2)),
        IpAddr::V4(Ipv4Addr::new(127, 0, 0, 3)),
    ];
    let tokens = tokens(&url, 6, true).await.unwrap();
    let mut conns = connect_all(&url, tokens, &sources).await.unwrap();
    assert_eq!(conns.len(), 6);
    let mut from: Vec<IpAddr> = conns
        .iter()
        .map(|ws| match ws.get_ref() {
            MaybeTlsStream::Plain(tcp) => tcp.local_addr().unwrap().ip(),
            _ => unreachable!("plain TCP"),
        })
        .collect();
    from.sort();
    assert_eq!(
        from,
        [sources[0]; 3]
            .into_iter()
            .chain([sources[1]; 3])
            .collect::<Vec<_>>()
    );
    assert_eq!(closed(&mut conns).await, 0);
    // The forwarder drops a connection that sends text: it is counted.
    conns[0]
        .send(Message::Text("not a frame".into()))
        .await
        .unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    assert_eq!(closed(&mut conns).await, 1);
}
