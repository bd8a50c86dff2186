//! The mismatched-devices check stays exact across relay nodes (ADR 0030):
//! a single node remembers device memberships, but a node of several must
//! not, because a list stored through another node would not reach its
//! memory. Bob sends through node 2 (which would remember Alice's list),
//! Alice adds a device through node 1, and Bob's next send with the old
//! counter is refused with the new list. Real relay processes, PostgreSQL
//! and Redis (`make test`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::api::{Api, Ws, put_list, signed_list};
use common::relay::RelayBuilder;
use parley_shared::crypto::account::AccountKeyPair;
use parley_shared::crypto::os_rng;
use parley_shared::protocol::ws::{ClientFrame, DeviceId, ServerFrame};
use parley_shared::time::UnixMs;

const T0: UnixMs = UnixMs::from_millis(1_780_000_000_000);
/// 32 bytes, base64.
const SIGNING_KEY: &str = "cGFybGV5LW11bHRpbm9kZS10ZXN0LXNpZ25pbmcta2V5IQ=="; // pragma: allowlist secret (a test key)

fn send(id: u8, to: DeviceId, list: u64) -> ClientFrame {
    ClientFrame::Send {
        id: [id; 16],
        to,
        ephemeral: false,
        payload: vec![id; 8],
        list: Some(list),
    }
}

/// A builder for relay nodes sharing a fresh PostgreSQL database and the
/// test Redis; `None` without the services of `make test`.
fn nodes() -> Option<impl Fn() -> RelayBuilder> {
    let redis = common::service_env("PARLEY_TEST_REDIS_URL")?;
    let pg = common::fresh_pg_database()?;
    Some(move || {
        RelayBuilder::new()
            .env("DATABASE_URL", pg.clone())
            .env("PARLEY_REDIS_URL", redis.clone())
            .env("PARLEY_URL_SIGNING_KEY", SIGNING_KEY)
    })
}

#[tokio::test]
async fn a_list_stored_through_one_node_is_checked_at_once_on_the_other() {
    let Some(node) = nodes() else { return };
    let one = node().start().await;
    let two = node().start().await;
    let api = Api::new(&one);
    let [laptop, phone, bob] = api.devices::<3>().await;
    let laptop_id = laptop.identity.device_id();
    let alice = AccountKeyPair::generate(&mut os_rng());
    assert_eq!(
        put_list(
            &api,
            &laptop,
            &alice,
            &signed_list(&alice, 1, &[&laptop], T0)
        )
        .await,
        204
    );
    let (mut b, _) = Ws::connect(&two.base, &bob.token).await;
    // Node 2 reads Alice's membership for these (and, were it to remember
    // it, would keep counter 1).
    for id in 1..=3 {
        b.send(&send(id, laptop_id, 1)).await;
        assert_eq!(b.recv().await, ServerFrame::Accepted { id: [id; 16] });
    }

    // Through node 1: Alice adds her phone.
    let two_devices = signed_list(&alice, 2, &[&laptop, &phone], T0);
    assert_eq!(put_list(&api, &laptop, &alice, &two_devices).await, 204);

    b.send(&send(4, laptop_id, 1)).await;
    assert_eq!(
        b.recv().await,
        ServerFrame::Stale {
            id: [4; 16],
            list: Some(two_devices.clone())
        },
        "node 2 checked the list node 1 stored"
    );
    b.send(&send(5, laptop_id, 2)).await;
    assert_eq!(b.recv().await, ServerFrame::Accepted { id: [5; 16] });
}

/// On a node of several, a chain of pipelined sends to several accounts
/// has its recipients' memberships read once for the chain; each send is
/// still answered by its own recipient's list: stale counters refused with
/// that account's list, current ones accepted.
#[tokio::test]
async fn a_chain_to_several_accounts_is_checked_send_by_send() {
    let Some(nodes) = nodes() else { return };
    let node = nodes()
        .env("PARLEY_RATE_LIMIT_DEVICE_PER_SEC", "100000")
        .start()
        .await;
    let api = Api::new(&node);
    let [laptop, phone, carol, bob] = api.devices::<4>().await;
    let (alice, carols) = (
        AccountKeyPair::generate(&mut os_rng()),
        AccountKeyPair::generate(&mut os_rng()),
    );
    let alice_list = signed_list(&alice, 2, &[&laptop, &phone], T0);
    assert_eq!(put_list(&api, &laptop, &alice, &alice_list).await, 204);
    let carol_list = signed_list(&carols, 1, &[&carol], T0);
    assert_eq!(put_list(&api, &carol, &carols, &carol_list).await, 204);
    let (laptop_id, phone_id, carol_id) = (
        laptop.identity.device_id(),
        phone.identity.device_id(),
        carol.identity.device_id(),
    );
    let (mut b, _) = Ws::connect(&node.base, &bob.token).await;
    let mut expected = Vec::new();
    for round in 0..8u8 {
        let base = round * 5;
        // The first runs alone while the others queue behind it.
        let sends = [
            (send(base + 1, carol_id, 1), true),
            (send(base + 2, laptop_id, 1), false),
            (send(base + 3, carol_id, 1), true),
            (send(base + 4, phone_id, 2), true),
            (send(base + 5, carol_id, 7), false),
        ];
        for (frame, _) in &sends {
            b.send(frame).await;
        }
        for (i, (_, accepted)) in sends.iter().enumerate() {
            let id = [base + 1 + i as u8; 16];
            expected.push(match (accepted, i) {
                (true, _) => ServerFrame::Accepted { id },
                (false, 1) => ServerFrame::Stale {
                    id,
                    list: Some(alice_list.clone()),
                },
                (false, _) => ServerFrame::Stale {
                    id,
                    list: Some(carol_list.clone()),
                },
            });
        }
    }
    // Refusals are answered at admission, acceptances after the commit:
    // matched by id, as the client does.
    let id_of = |f: &ServerFrame| match f {
        ServerFrame::Accepted { id } | ServerFrame::Stale { id, .. } => *id,
        other => panic!("{other:?}"),
    };
    let mut got = Vec::new();
    while got.len() < expected.len() {
        got.push(b.recv().await);
    }
    got.sort_by_key(id_of);
    assert_eq!(got, expected);
    assert!(
        node.metric("parley_chain_membership_reads_total").await >= 1.0,
        "no chain had its memberships read at once"
    );
}
