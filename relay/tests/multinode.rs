//! Several relay nodes on one PostgreSQL and one Redis (ADR 0024): devices
//! on different nodes exchange envelopes live, see each other's presence and
//! pass call signals; a revoke or an erase on one node closes the socket on
//! the other; with Redis gone, envelopes still arrive within the mailbox
//! poll; a node killed mid-stream loses nothing its sender saw accepted.
//! Real relay processes, real PostgreSQL, real Redis (`make test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::{Duration, Instant};

use common::api::{Api, Device, Ws};
use common::outage::OutageProxy;
use common::relay::{Relay, RelayBuilder};
use parley_shared::protocol::ws::{
    ClientFrame, DeviceId, EnvelopeId, Recipient, ServerFrame, close,
};

/// Long enough that whatever arrives sooner came through Redis, not the poll.
const NO_POLL: &str = "120";
/// 32 bytes, base64.
const SIGNING_KEY: &str = "cGFybGV5LW11bHRpbm9kZS10ZXN0LXNpZ25pbmcta2V5IQ=="; // pragma: allowlist secret (a test key)

/// Two nodes on one fresh PostgreSQL database, both pointed at `redis`,
/// polling every `poll` seconds; `None` without the test services.
async fn two_nodes(redis: &str, poll: &str) -> Option<(Relay, Relay, Option<String>)> {
    two_nodes_with(redis, redis, poll, &[]).await
}

/// [`two_nodes`], each node reaching Redis through its own URL, with
/// `extra` settings.
async fn two_nodes_with(
    redis_one: &str,
    redis_two: &str,
    poll: &str,
    extra: &[(&str, &str)],
) -> Option<(Relay, Relay, Option<String>)> {
    let pg = common::fresh_pg_database()?;
    let node = |redis: &str| {
        let mut b = RelayBuilder::new()
            .env("DATABASE_URL", pg.clone())
            .env("PARLEY_REDIS_URL", redis)
            .env("PARLEY_MAILBOX_POLL_SECS", poll)
            // Shared by the nodes of a deployment (README).
            .env("PARLEY_URL_SIGNING_KEY", SIGNING_KEY);
        for (k, v) in extra {
            b = b.env(k, *v);
        }
        b
    };
    // At once, as replicas start: one migrates, the other waits for it.
    let (first, second) = (node(redis_one), node(redis_two));
    let (one, two) = tokio::join!(first.start(), second.start());
    // A node answers /healthz before its bus has connected to Redis; until
    // then it counts shared limits per node and hears no other node (seen
    // as an 11th registration code allowed, in a CI run).
    bus_connected(&one).await;
    bus_connected(&two).await;
    Some((one, two, Some(pg)))
}

/// Waits until `node`'s bus is connected to Redis (its `/metrics`).
async fn bus_connected(node: &Relay) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while node.metric("parley_bus_connected").await < 1.0 {
        assert!(
            Instant::now() < deadline,
            "the node did not connect to Redis: {}",
            node.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn redis_addr(url: &str) -> SocketAddr {
    let u = url::Url::parse(url).unwrap();
    format!("{}:{}", u.host_str().unwrap(), u.port().unwrap())
        .parse()
        .unwrap()
}

fn send(id: u8, to: DeviceId, ephemeral: bool, payload: &[u8]) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to,
        ephemeral,
        payload: payload.to_vec(),
        list: None,
    }
}

fn presence(watch: DeviceId) -> ClientFrame {
    ClientFrame::Presence {
        share: true,
        watch: vec![watch],
    }
}

/// Frames until `want` arrives (returned with those before it); fails
/// after `within`.
async fn until(ws: &mut Ws, want: &ServerFrame, within: Duration) -> Vec<ServerFrame> {
    let deadline = Instant::now() + within;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ms = u64::try_from(left.as_millis()).unwrap().max(1);
        match ws.try_recv(ms).await {
            Some(f) if &f == want => return seen,
            Some(f) => seen.push(f),
            None => panic!("no {want:?} within {within:?}; saw {seen:?}"),
        }
    }
}

/// The next `Deliver` within `within`: its id, payload and ephemeral flag.
async fn delivered(ws: &mut Ws, within: Duration) -> (EnvelopeId, Vec<u8>, bool) {
    let ms = u64::try_from(within.as_millis()).unwrap();
    loop {
        match ws.try_recv(ms).await {
            Some(ServerFrame::Deliver {
                id,
                payload,
                ephemeral,
                ..
            }) => return (id, payload, ephemeral),
            Some(_) => continue,
            None => panic!("nothing delivered within {within:?}"),
        }
    }
}

/// The answer to `id`. Presence may come in between, and more than once:
/// it is a state, and each node that can see a change reports it.
async fn accepted(ws: &mut Ws, id: u8) {
    loop {
        match ws.recv().await {
            ServerFrame::Presence { .. } => continue,
            f => return assert_eq!(f, ServerFrame::Accepted { id: [id; 16] }),
        }
    }
}

fn seen(device: DeviceId, online: bool) -> ServerFrame {
    ServerFrame::Presence { device, online }
}

/// Alice on node 1, Bob on node 2: presence both ways, durable envelopes
/// live in order, a call offer and answer as ephemeral envelopes, and
/// Bob's departure, all well inside the (disabled) poll.
#[tokio::test]
async fn devices_on_two_nodes_talk_live() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, pg)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let store = one.store(&pg);
    let [alice, bob] = Api::new(&one).devices().await;
    let (a_id, b_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    let live = Duration::from_secs(3);

    b.send(&presence(a_id)).await;
    assert_eq!(
        b.recv().await,
        seen(a_id, false),
        "Alice does not share yet"
    );
    a.send(&presence(b_id)).await;
    until(&mut a, &seen(b_id, true), live).await;
    until(&mut b, &seen(a_id, true), live).await;

    for i in 1..=5u8 {
        a.send(&send(i, b_id, false, &[i; 32])).await;
        accepted(&mut a, i).await;
    }
    for i in 1..=5u8 {
        let (id, payload, ephemeral) = delivered(&mut b, live).await;
        assert_eq!((id, payload, ephemeral), ([i; 16], vec![i; 32], false));
        b.send(&ClientFrame::Ack {
            from: a_id,
            id: [i; 16],
        })
        .await;
    }

    // A call: the offer and the answer are never stored.
    a.send(&send(50, b_id, true, b"offer")).await;
    accepted(&mut a, 50).await;
    assert_eq!(
        delivered(&mut b, live).await,
        ([50; 16], b"offer".to_vec(), true)
    );
    b.send(&send(51, a_id, true, b"answer")).await;
    accepted(&mut b, 51).await;
    assert_eq!(
        delivered(&mut a, live).await,
        ([51; 16], b"answer".to_vec(), true)
    );
    assert!(b.silent_for(300).await, "each envelope once");
    let deadline = Instant::now() + live;
    while store.queued_count(b_id.as_bytes()).unwrap() > 0 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(store.queued_count(b_id.as_bytes()).unwrap(), 0, "acked");
    assert_eq!(store.queued_count(a_id.as_bytes()).unwrap(), 0);

    drop(b);
    until(&mut a, &seen(b_id, false), live).await;
}

/// A `SendMany` (ADR 0026) committed on node 1 reaches its recipients live
/// on both nodes, through Redis, not the poll.
#[tokio::test]
async fn a_send_many_reaches_recipients_on_both_nodes_live() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, _pg)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let [alice, bob, carol] = Api::new(&one).devices().await;
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    let (mut c, _) = Ws::connect(&one.base, &carol.token).await;
    let to = [&bob, &carol]
        .iter()
        .map(|d| Recipient {
            device: d.identity.device_id(),
            list: None,
        })
        .collect();
    a.send(&ClientFrame::SendMany {
        id: [60; 16],
        to,
        payload: b"to the room".to_vec(),
    })
    .await;
    accepted(&mut a, 60).await;
    let live = Duration::from_secs(3);
    for ws in [&mut b, &mut c] {
        assert_eq!(
            delivered(ws, live).await,
            ([60; 16], b"to the room".to_vec(), false)
        );
        assert!(ws.silent_for(300).await, "once");
    }
}

/// A token revoked through node 1 closes its socket on node 2; so does
/// erasing the device; an untouched session on node 2 keeps working.
#[tokio::test]
async fn revoke_and_erase_close_sockets_on_the_other_node() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, _)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let api = Api::new(&one);
    let [alice, bob] = api.devices().await;
    let b_id = bob.identity.device_id();
    let second = login(&api, &alice).await;
    let (mut a, _) = Ws::connect(&two.base, &alice.token).await;
    let (mut a2, _) = Ws::connect(&two.base, &second).await;

    let (st, _) = api
        .send("DELETE", "/api/v1/auth/session", Some(&alice.token), None)
        .await;
    assert_eq!(st, 204);
    let start = Instant::now();
    let (frames, code) = a.frames_until_close().await;
    assert_eq!(code, Some(close::REVOKED), "{frames:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "through Redis");

    a2.send(&send(1, b_id, false, b"still here")).await;
    accepted(&mut a2, 1).await;
    let (st, _) = api
        .send("DELETE", "/api/v1/devices/me", Some(&second), None)
        .await;
    assert_eq!(st, 204);
    let (frames, code) = a2.frames_until_close().await;
    assert_eq!(code, Some(close::DEVICE_ERASED), "{frames:?}");
}

async fn login(api: &Api, who: &Device) -> String {
    let (st, v) = api.login(&who.identity, &api.origin()).await;
    assert_eq!(st, 200, "{v}");
    v["token"].as_str().unwrap().to_owned()
}

/// Redis goes away (its connections cut, new ones refused): envelopes
/// between the nodes still arrive, within the poll interval, and a revoked
/// socket on the other node is still closed. Once Redis is back, the nodes
/// reconnect and delivery is live again.
#[tokio::test]
async fn without_redis_the_poll_still_delivers() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let mut proxy = OutageProxy::start(redis_addr(&redis));
    let Some((one, two, _)) = two_nodes(&format!("redis://{}", proxy.addr), "2").await else {
        return;
    };
    let api = Api::new(&one);
    let [alice, bob] = api.devices().await;
    let (a_id, b_id) = (alice.identity.device_id(), bob.identity.device_id());
    let second = login(&api, &bob).await;
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    let (mut b2, _) = Ws::connect(&two.base, &second).await;

    proxy.cut();
    let poll = Duration::from_secs(2);
    for i in 1..=3u8 {
        a.send(&send(i, b_id, false, &[i; 8])).await;
        accepted(&mut a, i).await;
        let start = Instant::now();
        assert_eq!(delivered(&mut b, poll * 3).await.0, [i; 16]);
        assert!(start.elapsed() <= poll + Duration::from_secs(2));
    }
    let (st, _) = api
        .send("DELETE", "/api/v1/auth/session", Some(&bob.token), None)
        .await;
    assert_eq!(st, 204);
    let (_, code) = b.frames_until_close().await;
    assert_eq!(
        code,
        Some(close::REVOKED),
        "closed by the poll's token check"
    );

    // Back: both nodes reconnect (with back-off) and wake each other again.
    proxy.restore();
    for node in [&one, &two] {
        let deadline = Instant::now() + Duration::from_secs(20);
        while node.logs().matches("connected to Redis").count() < 2 {
            assert!(Instant::now() < deadline, "no reconnect: {}", node.logs());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    // b2 got 1..=3 from the poll too (each once).
    for i in 1..=3u8 {
        assert_eq!(delivered(&mut b2, poll * 3).await.0, [i; 16]);
    }
    a.send(&send(9, b_id, false, b"live again")).await;
    accepted(&mut a, 9).await;
    let start = Instant::now();
    assert_eq!(delivered(&mut b2, poll * 3).await.0, [9; 16]);
    assert!(
        start.elapsed() < Duration::from_millis(1500),
        "{:?}",
        start.elapsed()
    );
    let _ = a_id;
}

/// Node 1 loses Redis (alone: node 2 keeps it) just as Alice sends from
/// it, so Bob's node never hears of that envelope; Alice moves to node 2 and
/// sends again. Bob gets both at once and in her order: the live copy of
/// the second does not overtake the first, which only the database has.
#[tokio::test]
async fn a_sender_moving_nodes_keeps_its_order() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let mut to_one = OutageProxy::start(redis_addr(&redis));
    let Some((one, two, _)) =
        two_nodes_with(&format!("redis://{}", to_one.addr), &redis, NO_POLL, &[]).await
    else {
        return;
    };
    let [alice, bob] = Api::new(&one).devices().await;
    let b_id = bob.identity.device_id();
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;

    to_one.cut();
    a.send(&send(1, b_id, false, b"first")).await;
    accepted(&mut a, 1).await;
    drop(a);
    let (mut a, _) = Ws::connect(&two.base, &alice.token).await;
    a.send(&send(2, b_id, false, b"second")).await;
    accepted(&mut a, 2).await;
    let live = Duration::from_secs(3);
    assert_eq!(delivered(&mut b, live).await.0, [1; 16], "first first");
    assert_eq!(delivered(&mut b, live).await.0, [2; 16]);
}

/// Node 1 is SIGKILLed while Alice streams envelopes to Bob (on node 2):
/// Alice reconnects to node 2 and resends from her first unanswered
/// envelope; Bob gets every envelope exactly once, in the order sent.
#[tokio::test]
async fn a_killed_node_loses_nothing_accepted() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((mut one, two, _)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let [alice, bob] = Api::new(&two).devices().await;
    let (a_id, b_id) = (alice.identity.device_id(), bob.identity.device_id());
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    const N: u8 = 120;
    let frame = |i: u8| send(i, b_id, false, &[i; 16]);

    // Half answered, then a burst in flight when the node dies.
    for i in 1..=40u8 {
        a.send(&frame(i)).await;
        accepted(&mut a, i).await;
    }
    for i in 41..=80u8 {
        a.send(&frame(i)).await;
    }
    one.child.kill().unwrap();
    one.child.wait().unwrap();
    let (frames, _) = a.frames_until_close().await;
    let mut answered = 40u8;
    for f in &frames {
        if *f
            == (ServerFrame::Accepted {
                id: [answered + 1; 16],
            })
        {
            answered += 1;
        }
    }

    // Alice comes back on node 2 and resends from the first unanswered.
    let (mut a, _) = Ws::connect(&two.base, &alice.token).await;
    for i in answered + 1..=N {
        a.send(&frame(i)).await;
        accepted(&mut a, i).await;
    }
    let mut got = Vec::new();
    while got.len() < usize::from(N) {
        let (id, _, _) = delivered(&mut b, Duration::from_secs(5)).await;
        got.push(id[0]);
        b.send(&ClientFrame::Ack { from: a_id, id }).await;
    }
    assert_eq!(got, (1..=N).collect::<Vec<_>>(), "each once, in order");
    assert!(b.silent_for(500).await, "no duplicate afterwards");
}

/// PIN slot probing is counted across nodes: a device spreading its lookups
/// over both nodes is refused after the one budget, not after one per node.
#[tokio::test]
async fn pin_lookups_are_limited_across_nodes() {
    use parley_shared::protocol::rendezvous::PIN_LOOKUPS_PER_MINUTE;
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, _)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let [mallory] = Api::new(&one).devices().await;
    let http = own_network();
    let lookup = |base: &str, n: u32| {
        http.get(format!("{base}/api/v1/rendezvous/pin/{n}"))
            .header("authorization", format!("Bearer {}", mallory.token))
            .send()
    };
    not_at_the_end_of(60_000).await;
    for n in 0..PIN_LOOKUPS_PER_MINUTE {
        let node = if n % 2 == 0 { &one } else { &two };
        let st = lookup(&node.base, n).await.unwrap().status();
        assert_eq!(st, 404, "lookup {n}: no such slot, but counted");
    }
    for node in [&one, &two] {
        let st = lookup(&node.base, 9_999).await.unwrap().status();
        assert_eq!(st, 429, "the budget is spent on both nodes");
    }
}

/// A quiet link is pinged (every 10 s), and the answer of a subscribed
/// connection is taken as one: nodes with connected devices stay connected.
#[tokio::test]
async fn a_quiet_link_to_redis_stays_up() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, _)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let [alice, bob] = Api::new(&one).devices().await;
    let (mut a, _) = Ws::connect(&one.base, &alice.token).await;
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    tokio::time::sleep(Duration::from_secs(12)).await;
    for node in [&one, &two] {
        let logs = node.logs();
        assert!(!logs.contains("lost Redis"), "{logs}");
        assert_eq!(logs.matches("connected to Redis").count(), 1, "{logs}");
    }
    a.send(&send(1, bob.identity.device_id(), false, b"still live"))
        .await;
    accepted(&mut a, 1).await;
    assert_eq!(delivered(&mut b, Duration::from_secs(3)).await.0, [1; 16]);
}

/// A client on a loopback address of its own (any 127.x works), so no other
/// test's or run's counters are shared with it.
fn own_network() -> reqwest::Client {
    let n = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .subsec_nanos()
        .to_be_bytes();
    common::api::client_from([127, n[1], n[2], n[3] | 1])
}

/// Counters run in windows aligned to the clock: do not start a test of one
/// in the last seconds of a window.
async fn not_at_the_end_of(window_ms: i64) {
    let into = common::now_ms().rem_euclid(window_ms);
    if into > window_ms - 5_000 {
        let wait = u64::try_from(window_ms - into + 500).unwrap();
        tokio::time::sleep(Duration::from_millis(wait)).await;
    }
}

/// One client asking for registration codes through both nodes is refused
/// after the one hourly budget, not after one per node.
#[tokio::test]
async fn email_codes_per_client_are_limited_across_nodes() {
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let email_otp = [
        ("PARLEY_REGISTRATION", "email-otp"),
        ("PARLEY_SMTP_URL", "log"),
    ];
    let Some((one, two, _)) = two_nodes_with(&redis, &redis, NO_POLL, &email_otp).await else {
        return;
    };
    let http = own_network();
    not_at_the_end_of(3_600_000).await;
    let mut statuses = Vec::new();
    for i in 0..12u32 {
        let node = if i % 2 == 0 { &one } else { &two };
        let r = http
            .post(node.url("/api/v1/registration/email"))
            .header("content-type", "application/json")
            .body(format!("{{\"email\":\"victim{i}@example.org\"}}"))
            .send()
            .await
            .unwrap();
        statuses.push(r.status().as_u16());
    }
    assert_eq!(&statuses[..10], &[202; 10], "{statuses:?}");
    assert_eq!(&statuses[10..], &[429, 429], "{statuses:?}");
}

/// The account publishes, through node 1, a device list without the phone,
/// whose socket is on node 2: the relay erases it and node 2 closes the
/// socket with 4007.
#[tokio::test]
async fn a_device_removed_from_its_account_is_closed_on_the_other_node() {
    use parley_shared::crypto::account::{AccountKeyPair, DeviceEntry, DeviceList};
    use parley_shared::protocol::api::{Endpoint as _, PutDeviceList};
    let Some(redis) = common::service_env("PARLEY_TEST_REDIS_URL") else {
        return;
    };
    let Some((one, two, _)) = two_nodes(&redis, NO_POLL).await else {
        return;
    };
    let api = Api::new(&one);
    let [laptop, phone] = api.devices().await;
    let account = AccountKeyPair::generate(&mut parley_shared::crypto::os_rng());
    let t0 = parley_shared::time::UnixMs::from_millis(1_780_000_000_000);
    let publish = |counter: u64, devices: &[&Device]| {
        let entries = devices
            .iter()
            .map(|d| DeviceEntry::link(&d.identity, &account.public(), t0))
            .collect();
        let list = account
            .sign(&DeviceList::new(account.public(), counter, entries).unwrap())
            .unwrap();
        let path = PutDeviceList {
            account: account.public().id(),
        }
        .path();
        let api = &api;
        let token = laptop.token.clone();
        async move {
            api.send_bytes("PUT", &path, Some(&token), Some(list.to_bytes()))
                .await
                .0
        }
    };
    assert_eq!(publish(1, &[&laptop, &phone]).await, 204);
    let (mut p, _) = Ws::connect(&two.base, &phone.token).await;
    assert_eq!(publish(2, &[&laptop]).await, 204);
    let start = Instant::now();
    let (frames, code) = p.frames_until_close().await;
    assert_eq!(code, Some(close::REMOVED), "{frames:?}");
    assert!(start.elapsed() < Duration::from_secs(3), "through Redis");
}
