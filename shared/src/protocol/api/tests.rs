use super::*;
use crate::protocol::rendezvous::{self, Message};

/// Fills a route template's `{…}` parameters in order.
fn fill(route: &str, args: &[&str]) -> String {
    let mut out = String::from(API_PREFIX);
    let mut args = args.iter();
    for seg in route.split('/').skip(1) {
        out.push('/');
        if seg.starts_with('{') {
            out.push_str(args.next().expect("one argument per parameter"));
        } else {
            out.push_str(seg);
        }
    }
    out
}

#[test]
fn paths_follow_their_route_templates() {
    let dev = crate::protocol::DeviceId::new([7u8; 32]);
    let b64 = crate::protocol::auth::encode_b64(dev.as_bytes());
    let cases = [
        (GetInfo.path(), fill(GetInfo::ROUTE, &[])),
        (
            GetBundle { device: dev }.path(),
            fill(GetBundle::ROUTE, &[&b64]),
        ),
        (
            FindPinSlot { slot: 42 }.path(),
            fill(FindPinSlot::ROUTE, &["42"]),
        ),
        (
            PutMessage {
                id: "slot".into(),
                msg: Message::A2,
            }
            .path(),
            fill(PutMessage::ROUTE, &["slot", "a2"]),
        ),
        (
            StartDownload { id: "obj".into() }.path(),
            fill(StartDownload::ROUTE, &["obj"]),
        ),
    ];
    for (built, expected) in cases {
        assert_eq!(built, expected);
    }
    assert_eq!(GetInfo.path(), "/api/v1/info");
}

#[test]
fn requests_carry_method_auth_and_body() {
    let r = RejectReply { id: "s".into() }.request(&Bytes(vec![1, 2]));
    assert_eq!(r.method, Method::Post);
    assert!(r.auth);
    assert_eq!(r.body, Body::Bytes(vec![1, 2]));
    assert_eq!(r.body.content_type(), Some("application/octet-stream"));
    let r = GetChallenge.request(&());
    assert!(!r.auth);
    assert_eq!(r.body.content_type(), None);
    let r = OpenSlot.request(&Json(rendezvous::CreateRendezvous {
        pin: true,
        ttl_ms: None,
    }));
    assert_eq!(
        r.body,
        Body::Json(br#"{"pin":true,"ttl_ms":null}"#.to_vec())
    );
}

#[test]
fn answers_decode_to_types_or_typed_failures() {
    let ok = GetPreKeyStatus::decode(200, br#"{"one_time_prekeys":3,"refill":true}"#);
    assert_eq!(ok.map(|Json(s)| s.one_time_prekeys), Ok(3));
    let refused = GetPreKeyStatus::decode(429, br#"{"code":"rate_limited","message":"slow"}"#);
    assert_eq!(
        refused,
        Err(Failure::Refused {
            code: ErrorCode::RateLimited,
            message: "slow".into()
        })
    );
    assert!(refused.unwrap_err().is_transient());
    // A proxy's HTML error page: unreachable relay, not a refusal.
    assert_eq!(
        GetPreKeyStatus::decode(502, b"<html>"),
        Err(Failure::Unreachable)
    );
    assert_eq!(
        GetPreKeyStatus::decode(404, b"<html>"),
        Err(Failure::Unexpected { status: 404 })
    );
    assert_eq!(
        GetPreKeyStatus::decode(200, b"{}"),
        Err(Failure::Unexpected { status: 200 })
    );
    assert_eq!(Logout::decode(204, b""), Ok(NoContent));
    assert_eq!(GetMessage::decode(204, b""), Ok(MaybeBytes(None)));
    assert_eq!(
        GetMessage::decode(200, b"ab"),
        Ok(MaybeBytes(Some(b"ab".to_vec())))
    );
    let nf = CloseSlot::decode(404, br#"{"code":"not_found","message":"gone"}"#).unwrap_err();
    assert!(nf.is(ErrorCode::NotFound) && !nf.is_transient());
    assert_eq!(nf.to_string(), "gone");
}
