//! The hub on its own: which connections get which frames and notes.

use super::*;

fn frame() -> ServerFrame {
    ServerFrame::Ready { queued: 0 }
}

#[tokio::test]
async fn ending_by_token_or_device_takes_exactly_those_connections_out() {
    let hub = Hub::default();
    let (alice, bob) = (DeviceId::new([1; 32]), DeviceId::new([2; 32]));
    let a1 = hub.register(alice, [10; 32], 5).unwrap();
    let a2 = hub.register(alice, [11; 32], 5).unwrap();
    // Same token hash on another device: a revoke names the device too.
    let b = hub.register(bob, [10; 32], 5).unwrap();

    assert_eq!(hub.end_token(&alice, &[10; 32]), 1);
    // Signalled before end_token returned; the task's wait sees it.
    assert_eq!(a1.end.ended(), Some(Ended::Revoked));
    assert_eq!(a1.end.wait().await, Ended::Revoked);
    assert_eq!((a2.end.ended(), b.end.ended()), (None, None));
    assert_eq!(hub.deliver(&alice, &frame()), 1, "ended: no more frames");

    assert_eq!(hub.end_device(&alice, Ended::Erased), 1);
    assert_eq!(a2.end.ended(), Some(Ended::Erased));
    assert_eq!(hub.deliver(&alice, &frame()), 0);
    // The task's own cleanup afterwards changes nothing.
    hub.unregister(&alice, a2.id);
    assert_eq!(b.end.ended(), None);
    assert_eq!(hub.deliver(&bob, &frame()), 1);
    // An ended device can connect again at once (its slots are free).
    assert!(hub.register(alice, [12; 32], 1).is_ok());
}

/// With other nodes, the hub tells them what they must act on: the
/// device's channel while it is connected, wake-ups (not payloads) for
/// durable envelopes, ephemeral frames whole, presence changes to the
/// watchers named, and ends.
#[tokio::test]
async fn with_other_nodes_the_hub_publishes_what_they_act_on() {
    let (tx, mut rx) = mpsc::unbounded_channel();
    let hub = Hub::new(Remote::Redis(tx));
    let (alice, bob) = (DeviceId::new([1; 32]), DeviceId::new([2; 32]));
    let mut a = hub.register(alice, [10; 32], 5).unwrap();
    assert_eq!(rx.try_recv(), Ok(Note::Touch(alice)));
    hub.set_presence(&alice, a.id, true, vec![bob]);
    // Alice may be seen by Bob wherever he is, and asks about him.
    let mut notes = vec![rx.try_recv().unwrap(), rx.try_recv().unwrap()];
    notes.sort_by_key(|n| format!("{n:?}"));
    assert_eq!(
        notes,
        [
            Note::Publish {
                to: bob,
                signal: Signal::Presence {
                    device: alice,
                    online: true
                }
            },
            Note::Publish {
                to: bob,
                signal: Signal::Query { watcher: alice }
            },
        ]
    );
    while a.frames.try_recv().is_ok() {}

    let durable = ServerFrame::Deliver {
        from: bob,
        id: [3; 16],
        sent_at: parley_shared::time::UnixMs::EPOCH,
        ephemeral: false,
        payload: b"secret".to_vec(),
    };
    assert_eq!(hub.deliver(&alice, &durable), 1);
    assert_eq!(
        rx.try_recv(),
        Ok(Note::Publish {
            to: alice,
            signal: Signal::Wake
        })
    );
    assert!(
        a.frames.try_recv().is_err(),
        "read from the mailbox instead"
    );
    assert!(a.backlog.take_overflow(), "told to re-read");

    hub.receive(&alice, Signal::Frame(b"ring".to_vec().into()));
    assert_eq!(&a.frames.try_recv().unwrap().bytes()[..], b"ring");
    assert!(rx.try_recv().is_err(), "nothing published back");

    hub.end_token(&alice, &[10; 32]);
    assert_eq!(
        rx.try_recv(),
        Ok(Note::Publish {
            to: alice,
            signal: Signal::End {
                why: Ended::Revoked,
                token: Some([10; 32])
            }
        })
    );
    // Gone from this node: Bob no longer sees her, the channel goes.
    let rest: Vec<Note> = std::iter::from_fn(|| rx.try_recv().ok()).collect();
    assert!(rest.contains(&Note::Touch(alice)), "{rest:?}");
    assert!(
        rest.contains(&Note::Publish {
            to: bob,
            signal: Signal::Presence {
                device: alice,
                online: false
            }
        }),
        "{rest:?}"
    );
}
