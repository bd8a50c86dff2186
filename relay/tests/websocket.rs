//! The relay's own WebSocket transport (ADR 0036), as a client sees it on
//! the wire: fragments joined, pings answered, sizes bounded, the closing
//! handshake finished, and the handshake itself under the per-address limit.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Ws};
use common::relay::RelayBuilder;
use parley_shared::protocol::ErrorCode;
use parley_shared::protocol::ws::{ClientFrame, MAX_FRAME, ServerFrame, close};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::Frame;
use tokio_tungstenite::tungstenite::protocol::frame::coding::{Data, OpCode};

fn fragment(bytes: &[u8], first: bool, last: bool) -> Message {
    let kind = if first { Data::Binary } else { Data::Continue };
    Message::Frame(Frame::message(bytes.to_vec(), OpCode::Data(kind), last))
}

/// A WebSocket handshake to `path` sent by hand; the status and the whole
/// answer (the relay closes after a refusal).
async fn refused_handshake(base: &str, path: &str) -> (u16, String) {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let host = base.trim_start_matches("http://");
    let mut tcp = tokio::net::TcpStream::connect(host).await.unwrap();
    let request = format!(
        "GET {path} HTTP/1.1\r\nHost: {host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
         Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
    );
    tcp.write_all(request.as_bytes()).await.unwrap();
    let mut answer = Vec::new();
    tokio::time::timeout(
        std::time::Duration::from_secs(10),
        tcp.read_to_end(&mut answer),
    )
    .await
    .expect("the relay closes after a refusal")
    .unwrap();
    let answer = String::from_utf8(answer).unwrap();
    let status = answer
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("not an HTTP answer: {answer}"));
    (status, answer)
}

fn ws_url(base: &str, path: &str) -> String {
    format!("{}{path}", base.replacen("http://", "ws://", 1))
}

#[tokio::test]
async fn fragments_are_joined_and_pings_answered_between_them() {
    let relay = RelayBuilder::new().start().await;
    let alice = Api::new(&relay).register(0).await;
    let auth = ClientFrame::Auth {
        token: alice.token.clone(),
    }
    .to_bytes();
    let (head, tail) = auth.split_at(auth.len() / 2);
    let (middle, tail) = tail.split_at(tail.len() / 2);

    let mut ws = Ws::open(&relay.base).await;
    ws.send_raw(fragment(head, true, false)).await;
    ws.send_raw(fragment(middle, false, false)).await;
    ws.send_raw(fragment(tail, false, true)).await;
    assert!(
        matches!(ws.recv().await, ServerFrame::Ready { queued: 0 }),
        "the joined Auth authenticates"
    );

    // A ping between the fragments of the next message is answered at
    // once, before the message it came inside of.
    ws.send_raw(fragment(head, true, false)).await;
    ws.send_raw(Message::Ping(b"still there?".to_vec().into()))
        .await;
    ws.send_raw(fragment(middle, false, false)).await;
    ws.send_raw(fragment(tail, false, true)).await;
    match ws.next_raw().await {
        Some(Message::Pong(p)) => assert_eq!(&p[..], b"still there?"),
        other => panic!("expected the pong, got {other:?}"),
    }
    match ws.recv().await {
        ServerFrame::Error { code, message, .. } => {
            assert_eq!(code, ErrorCode::BadRequest);
            assert_eq!(message, "already authenticated");
        }
        other => panic!("the second Auth, joined, gets its answer: {other:?}"),
    }
}

#[tokio::test]
async fn a_fragmented_message_over_the_frame_limit_closes_the_connection() {
    let relay = RelayBuilder::new().start().await;
    let alice = Api::new(&relay).register(0).await;
    let (mut ws, _) = Ws::connect(&relay.base, &alice.token).await;
    // Each fragment is under the limit; together they are over it.
    let half = vec![0u8; MAX_FRAME / 2 + 1];
    ws.send_raw(fragment(&half, true, false)).await;
    ws.send_raw(fragment(&half, false, true)).await;
    assert_eq!(ws.closed().await, Some(close::BAD_FRAME));
}

#[tokio::test]
async fn the_relay_finishes_the_closing_handshake_and_the_socket() {
    let relay = RelayBuilder::new().start().await;
    let alice = Api::new(&relay).register(0).await;
    let (mut ws, _) = Ws::connect(&relay.base, &alice.token).await;
    ws.send_raw(Message::Text("frames are binary".into())).await;
    assert_eq!(ws.closed().await, Some(close::BAD_FRAME));
    // The relay then ends the TCP connection itself, at the latest when it
    // stops waiting for the client's Close; a client would otherwise wait.
    assert!(
        ws.tcp_closed_within(std::time::Duration::from_secs(4))
            .await,
        "the socket stays open after the close"
    );
}

#[tokio::test]
async fn an_upgrade_elsewhere_is_refused_with_a_json_error() {
    let relay = RelayBuilder::new().start().await;
    for path in ["/api/v1/nothing", "/", "/api/v1/ws/"] {
        let (status, answer) = refused_handshake(&relay.base, path).await;
        assert_eq!(status, 404, "{path}: {answer}");
        assert!(answer.contains("\"not_found\""), "{path}: {answer}");
    }
    // The relay is still serving.
    let alice = Api::new(&relay).register(0).await;
    Ws::connect(&relay.base, &alice.token).await;
}

#[tokio::test]
async fn handshakes_count_against_the_per_address_limit() {
    let relay = RelayBuilder::new()
        .env("PARLEY_RATE_LIMIT_IP_PER_MIN", "4")
        .start()
        .await;
    let url = ws_url(&relay.base, "/api/v1/ws");
    // A client opening sockets as fast as it can gets four, then 429s.
    let mut opened = Vec::new();
    for _ in 0..4 {
        let (ws, _) = tokio_tungstenite::connect_async(&url).await.unwrap();
        opened.push(ws);
    }
    for _ in 0..3 {
        let (status, answer) = refused_handshake(&relay.base, "/api/v1/ws").await;
        assert_eq!(status, 429, "{answer}");
        assert!(
            answer.to_ascii_lowercase().contains("retry-after:"),
            "{answer}"
        );
        assert!(answer.contains("\"rate_limited\""), "{answer}");
    }
    assert_eq!(opened.len(), 4);
}

#[tokio::test]
async fn a_full_node_refuses_more_websockets_until_one_closes() {
    let relay = RelayBuilder::new()
        .env("PARLEY_MAX_CONNECTIONS", "2")
        .start()
        .await;
    let api = Api::new(&relay);
    let (alice, bob, carol) = (
        api.register(0).await,
        api.register(0).await,
        api.register(0).await,
    );
    let (a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (_b, _) = Ws::connect(&relay.base, &bob.token).await;
    // A third socket, authenticated or not, does not fit.
    let (status, answer) = refused_handshake(&relay.base, "/api/v1/ws").await;
    assert_eq!(status, 503, "{answer}");
    assert!(
        answer.to_ascii_lowercase().contains("retry-after:"),
        "{answer}"
    );
    assert_eq!(relay.metric("parley_ws_sockets").await, 2.0);
    // HTTP requests are still served meanwhile.
    api.register(0).await;

    drop(a);
    // The place is given back once the relay sees the socket end.
    let mut open = 2.0;
    for _ in 0..100 {
        open = relay.metric("parley_ws_sockets").await;
        if open < 2.0 {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(open, 1.0, "a closed socket's place was not given back");
    Ws::connect(&relay.base, &carol.token).await;
}

#[tokio::test]
async fn a_client_that_stops_reading_gets_everything_once_it_reads_again() {
    let relay = RelayBuilder::new().start().await;
    let api = Api::new(&relay);
    let (alice, bob) = (api.register(0).await, api.register(0).await);
    let (mut a, _) = Ws::connect(&relay.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&relay.base, &bob.token).await;
    let to = |id: u8, who: &common::api::Device, payload: &[u8]| ClientFrame::Send {
        id: [id; 16],
        to: who.identity.device_id(),
        ephemeral: false,
        payload: payload.to_vec(),
        list: None,
    };
    // Bob sends Alice 25 MiB while she reads nothing: her socket's buffers
    // fill, and the relay's writes to her wait.
    let payload = vec![7u8; 256 * 1024];
    let n = 100u8;
    for i in 0..n {
        b.send(&to(i, &alice, &payload)).await;
        assert_eq!(b.recv().await, ServerFrame::Accepted { id: [i; 16] });
    }
    // Alice sends meanwhile: the answer to her own send has to queue behind
    // what she has not read.
    a.send(&to(200, &bob, b"still here")).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    // Once she reads, everything arrives: each envelope once, in order,
    // and her Accepted.
    let (mut next, mut accepted) = (0u8, false);
    while next < n || !accepted {
        match a.recv().await {
            ServerFrame::Deliver {
                id, payload: got, ..
            } if id[0] == next => {
                assert_eq!(got.len(), payload.len());
                next += 1;
            }
            ServerFrame::Deliver { id, .. } => {
                panic!("envelope {} out of order (want {next})", id[0])
            }
            ServerFrame::Accepted { id } => {
                assert_eq!(id, [200; 16]);
                accepted = true;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(matches!(b.recv().await, ServerFrame::Deliver { id, .. } if id == [200; 16]));
}

#[tokio::test]
async fn a_frame_declaring_more_than_the_limit_is_refused_before_it_arrives() {
    let relay = RelayBuilder::new().start().await;
    let alice = Api::new(&relay).register(0).await;
    let (mut ws, _) = Ws::connect(&relay.base, &alice.token).await;
    // A head declaring 1 GiB, then a little more than the limit of bytes:
    // the relay stops reading there instead of buffering on.
    let mut frame = Frame::message(Vec::new(), OpCode::Data(Data::Binary), true);
    // Masked, as every client frame must be (else it is refused for that).
    frame.header_mut().mask = Some([1, 2, 3, 4]);
    let mut head = Vec::new();
    frame.header().format(1 << 30, &mut head).unwrap();
    let body = vec![0u8; MAX_FRAME + 64 * 1024];
    ws.send_bytes(&head, &body).await;
    assert_eq!(ws.closed().await, Some(close::BAD_FRAME));
}
