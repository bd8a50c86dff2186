#![allow(clippy::unwrap_used)]

use parley_shared::crypto::codec::b64url;
use web_push_native::jwt_simple::algorithms::ES256KeyPair;
use web_push_native::jwt_simple::prelude::{ECDSAP256PublicKeyLike as _, NoCustomClaims};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint as _;

use super::*;

fn b(s: &str) -> Vec<u8> {
    b64url::decode(s).unwrap()
}

/// RFC 8291 Appendix A: the user agent's keys and secret decrypt the
/// example message. Encryption and decryption share the key derivation
/// (ECDH, then HKDF with "WebPush: info"), so a wrong derivation in the
/// crate fails here.
#[test]
fn rfc8291_appendix_a_vector() {
    // RFC 8291 Appendix A's public key.
    const UA_PUBLIC: &str =
        "BCVxsr7N_eNgVRqvHtD0zTZsEc6-VV-JvLexhqUzORcxaOzi6-AYWXvTBHm4bjyPjs7Vd8pZGH6SRpkNtoIAiw4"; // pragma: allowlist secret
    let ciphertext = b(
        // pragma: allowlist nextline secret (RFC 8291 Appendix A)
        "DGv6ra1nlYgDCS1FRnbzlwAAEABBBP4z9KsN6nGRTbVYI_c7VJSPQTBtkgcy27mlmlMoZIIgDll6e3vCYLocInmYWAmS6TlzAC8wEqKK6PBru3jl7A_yl95bQpu6cVPTpK4Mqgkf1CXztLVBSt2Ks3oZwbuwXPXLWyouBWLVWGNWQexSgSxsj_Qulcy4a-fN",
    );
    let ua_private =
        // pragma: allowlist nextline secret (RFC 8291 Appendix A)
        p256::SecretKey::from_slice(&b("q1dXpw3UpT5VOmu_cf_v6ih07Aems3njxI-JWgLcM94")).unwrap();
    assert_eq!(
        ua_private.public_key().to_encoded_point(false).as_bytes(),
        b(UA_PUBLIC)
    );
    let auth = Auth::clone_from_slice(&b("BTBZMqHH6r4Tts7J_aSIgg"));
    let plain = web_push_native::decrypt(ciphertext.clone(), &ua_private, &auth).unwrap();
    assert_eq!(plain, b"When I grow up, I want to be a watermelon");
    // A different secret does not decrypt it.
    let wrong = Auth::clone_from_slice(&[0u8; 16]);
    assert!(web_push_native::decrypt(ciphertext, &ua_private, &wrong).is_err());
}

fn subscription(ua: &p256::SecretKey, auth: [u8; 16]) -> PushSubscriptionRow {
    PushSubscriptionRow {
        endpoint: "https://push.example:8443/sub/1".into(),
        device_id: vec![1; 32],
        token_hash: vec![2; 32],
        p256dh: ua.public_key().to_encoded_point(false).as_bytes().to_vec(),
        auth: auth.to_vec(),
        created_at: 0,
    }
}

/// The request carries only the fixed payload (decryptable by the
/// subscription's keys), VAPID for the endpoint's origin, and the headers
/// that collapse and expire it.
#[test]
fn request_is_encrypted_signed_and_collapsible() {
    let ua = p256::SecretKey::from_slice(&[7u8; 32]).unwrap();
    let vapid = ES256KeyPair::generate();
    let req = build(
        &subscription(&ua, [3; 16]),
        &vapid,
        "mailto:ops@relay.example",
        Options {
            ttl: Duration::from_secs(600),
        },
    )
    .unwrap();
    let h = req.headers();
    assert_eq!(req.uri(), "https://push.example:8443/sub/1");
    assert_eq!(h["ttl"], "600");
    assert_eq!(h["topic"], TOPIC);
    assert_eq!(h["urgency"], "high");
    assert_eq!(h["content-encoding"], "aes128gcm");
    let auth = h["authorization"].to_str().unwrap();
    let (token, key) = auth
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .unwrap();
    let public = ES256KeyPair::from_bytes(&vapid.to_bytes())
        .unwrap()
        .public_key();
    assert_eq!(b(key), public.public_key().to_bytes_uncompressed());
    let claims = public.verify_token::<NoCustomClaims>(token, None).unwrap();
    assert_eq!(
        claims.audiences.unwrap().into_string().unwrap(),
        "https://push.example:8443"
    );
    assert_eq!(claims.subject.as_deref(), Some("mailto:ops@relay.example"));
    let plain =
        web_push_native::decrypt(req.body().clone(), &ua, &Auth::clone_from_slice(&[3; 16]))
            .unwrap();
    assert_eq!(plain, WAKE_PAYLOAD);
}

#[test]
fn answers_map_to_outcomes() {
    assert_eq!(outcome(201, None), Outcome::Sent);
    assert_eq!(outcome(410, None), Outcome::Gone);
    assert_eq!(outcome(404, None), Outcome::Gone);
    assert_eq!(
        outcome(429, Some("7")),
        Outcome::Backoff(Duration::from_secs(7))
    );
    assert_eq!(
        outcome(429, Some("a date")),
        Outcome::Backoff(DEFAULT_BACKOFF)
    );
    assert_eq!(outcome(503, Some("999999")), Outcome::Backoff(MAX_BACKOFF));
    assert_eq!(outcome(400, None), Outcome::Failed);
}
