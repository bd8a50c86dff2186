//! Linking a new device into an account through the engine's flows (used
//! by the linking and rooms tests).

use parley_shared::crypto::os_rng;
use parley_shared::engine::link::LinkError;
use parley_shared::engine::link::handover::{HandoverReceive, HandoverSend};
use parley_shared::engine::pairing::{InviteEvent, InviteFlow, JoinFlow};
use parley_shared::testing::{Progress, Transport as _};

use super::device::{Client, until_joined};

/// The new device shows its code (the link, or a PIN).
pub(crate) async fn show_code(
    new: &mut Client,
    pin: bool,
) -> (InviteFlow, Vec<InviteEvent>, String) {
    let mut invite = InviteFlow::for_link(&new.io.base);
    if pin {
        invite.ask_pin();
    }
    let mut events = Vec::new();
    let Progress::Waiting(_) = new.invite(&mut invite, &mut events).await else {
        panic!("the code waits for the other device");
    };
    let code = events
        .iter()
        .rev()
        .find_map(|e| match e {
            InviteEvent::Pin(p) if pin => Some(p.clone()),
            InviteEvent::Shown { link, .. } if !pin => Some(link.clone()),
            _ => None,
        })
        .expect("the code is shown");
    (invite, events, code)
}

/// Links `new` from `old` by link or PIN, then hands the history over.
pub(crate) async fn link(old: &mut Client, new: &mut Client, pin: bool) {
    let (mut invite, mut events, code) = show_code(new, pin).await;
    let mut join = if pin {
        JoinFlow::link_device_pin(&old.engine, &code).unwrap()
    } else {
        let now = old.io.now();
        JoinFlow::link_device(&mut os_rng(), &old.engine, &code, &old.io.base, now).unwrap()
    };
    let (joined, invited) = until_joined(new, &mut invite, &mut events, old, &mut join).await;
    let new_id = new.engine.device_id();
    assert_eq!(joined, Ok(new_id));
    assert_eq!(invited, Some(Ok(old.engine.device_id())));
    assert!(new.engine.link_pinned());
    old.drain().await;
    assert!(old.engine.own_devices().contains(&new_id));
    assert!(old.engine.own_list_published());

    let mut send = HandoverSend::new(&mut os_rng(), &old.engine, new_id).unwrap();
    old.handover_send(&mut send).await.unwrap();
    old.pump(200).await;
    new.pump(300).await;
    let offer = new
        .engine
        .handover_offer()
        .expect("the archive is announced");
    let mut receive = HandoverReceive::new(offer.clone());
    new.handover_receive(&mut receive).await.unwrap();
    new.drain().await;
    assert_eq!(new.engine.restore_result(), Some(&Ok(())));
    assert_eq!(new.engine.account_public(), old.engine.account_public());
    // Fetched once, then deleted.
    let mut again = HandoverReceive::new(offer);
    assert_eq!(new.handover_receive(&mut again).await, Err(LinkError::Gone));
}
