//! An RFC 8030 push service for the tests, in this process: it takes push
//! requests on `POST /push/{id}`, checks the VAPID token (RFC 8292) and
//! decrypts the `aes128gcm` body (RFC 8291) with the subscription's private
//! keys, which only it and the test hold, and answers as scripted.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use actix_web::{App, HttpRequest, HttpResponse, HttpServer, web};
use parley_shared::crypto::codec::b64url;
use web_push_native::jwt_simple::prelude::{
    ECDSAP256PublicKeyLike as _, ES256PublicKey, NoCustomClaims,
};
use web_push_native::p256::elliptic_curve::sec1::ToEncodedPoint as _;
use web_push_native::{Auth, p256};

/// One push request as the service saw it.
#[derive(Debug, Clone)]
pub(crate) struct Push {
    pub id: String,
    pub topic: Option<String>,
    pub urgency: Option<String>,
    pub ttl: Option<String>,
    /// The VAPID public key the request was signed with (verified).
    pub vapid_key: Vec<u8>,
    /// The decrypted body.
    pub plaintext: Vec<u8>,
    /// What the service answered.
    pub status: u16,
}

/// Scripted answers: status and `Retry-After` seconds.
type Answers = VecDeque<(u16, Option<u64>)>;

#[derive(Default)]
struct Shared {
    origin: String,
    keys: Mutex<HashMap<String, (p256::SecretKey, [u8; 16])>>,
    script: Mutex<HashMap<String, Answers>>,
    got: Mutex<Vec<Push>>,
    /// Requests that failed a check, with why.
    bad: Mutex<Vec<String>>,
}

pub(crate) struct PushService {
    shared: Arc<Shared>,
    handle: actix_web::dev::ServerHandle,
}

/// A subscription as a browser would hand it to the app.
pub(crate) struct Subscription {
    pub endpoint: String,
    pub p256dh: String,
    pub auth: String,
}

impl Subscription {
    pub(crate) fn json(&self) -> String {
        serde_json::json!({"endpoint": self.endpoint, "p256dh": self.p256dh, "auth": self.auth})
            .to_string()
    }
}

fn random<const N: usize>() -> [u8; N] {
    let mut b = [0u8; N];
    getrandom::fill(&mut b).unwrap();
    b
}

impl PushService {
    pub(crate) fn start() -> Self {
        let port = super::relay::free_port();
        let shared = Arc::new(Shared {
            origin: format!("http://127.0.0.1:{port}"),
            ..Shared::default()
        });
        let (tx, rx) = std::sync::mpsc::channel();
        let state = shared.clone();
        std::thread::spawn(move || {
            actix_web::rt::System::new().block_on(async move {
                let server = HttpServer::new(move || {
                    App::new()
                        .app_data(web::Data::new(state.clone()))
                        .route("/push/{id}", web::post().to(receive))
                })
                .workers(1)
                .bind(("127.0.0.1", port))
                .unwrap()
                .run();
                tx.send(server.handle()).unwrap();
                let _ = server.await;
            });
        });
        let handle = rx.recv().unwrap();
        Self { shared, handle }
    }

    /// A new subscription whose keys only this service (and the test) hold.
    pub(crate) fn subscribe(&self, id: &str) -> Subscription {
        let secret = p256::SecretKey::from_slice(&random::<32>()).unwrap();
        let auth = random::<16>();
        let p256dh = b64url::encode(secret.public_key().to_encoded_point(false).as_bytes());
        self.shared
            .keys
            .lock()
            .unwrap()
            .insert(id.to_owned(), (secret, auth));
        Subscription {
            endpoint: format!("{}/push/{id}", self.shared.origin),
            p256dh,
            auth: b64url::encode(&auth),
        }
    }

    /// The next answer for `id` (after these, `201 Created`).
    pub(crate) fn answer(&self, id: &str, status: u16, retry_after: Option<u64>) {
        self.shared
            .script
            .lock()
            .unwrap()
            .entry(id.to_owned())
            .or_default()
            .push_back((status, retry_after));
    }

    /// Every push received so far; panics if any request failed a check.
    pub(crate) fn received(&self) -> Vec<Push> {
        let bad = self.shared.bad.lock().unwrap().clone();
        assert!(bad.is_empty(), "invalid push requests: {bad:?}");
        self.shared.got.lock().unwrap().clone()
    }

    /// Waits up to `ms` for the `n`th push.
    pub(crate) async fn wait_for(&self, n: usize, ms: u64) -> Vec<Push> {
        let deadline = Instant::now() + Duration::from_millis(ms);
        loop {
            let got = self.received();
            if got.len() >= n || Instant::now() > deadline {
                return got;
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }
}

impl Drop for PushService {
    fn drop(&mut self) {
        drop(self.handle.stop(false));
    }
}

/// The VAPID token must be signed by the key it names, for this origin,
/// expire within 24 hours, and name a contact.
fn check_vapid(origin: &str, header: &str) -> Result<Vec<u8>, String> {
    let (token, key) = header
        .strip_prefix("vapid t=")
        .and_then(|r| r.split_once(", k="))
        .ok_or("not a vapid authorization")?;
    let key = b64url::decode(key).ok_or("k is not base64url")?;
    let public = ES256PublicKey::from_bytes(&key).map_err(|e| e.to_string())?;
    let claims = public
        .verify_token::<NoCustomClaims>(token, None)
        .map_err(|e| format!("signature: {e}"))?;
    let aud = claims
        .audiences
        .and_then(|a| a.into_string().ok())
        .ok_or("no aud")?;
    if aud != origin {
        return Err(format!("aud {aud} is not {origin}"));
    }
    let exp = claims.expires_at.ok_or("no exp")?.as_secs();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    if exp <= now || exp > now + 24 * 3600 {
        return Err("exp is not within 24 hours".into());
    }
    if claims.subject.is_none() {
        return Err("no sub".into());
    }
    Ok(key)
}

async fn receive(
    state: web::Data<Arc<Shared>>,
    id: web::Path<String>,
    req: HttpRequest,
    body: web::Bytes,
) -> HttpResponse {
    let header = |name: &str| {
        req.headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let id = id.into_inner();
    let checked = (|| {
        if header("content-encoding").as_deref() != Some("aes128gcm") {
            return Err("content-encoding is not aes128gcm".to_owned());
        }
        header("ttl").ok_or("no TTL")?;
        let vapid_key = check_vapid(&state.origin, &header("authorization").ok_or("no VAPID")?)?;
        let (secret, auth) = state
            .keys
            .lock()
            .unwrap()
            .get(&id)
            .cloned()
            .ok_or("unknown subscription")?;
        let plaintext =
            web_push_native::decrypt(body.to_vec(), &secret, &Auth::clone_from_slice(&auth))
                .map_err(|e| format!("decrypt: {e}"))?;
        Ok((vapid_key, plaintext))
    })();
    let (vapid_key, plaintext) = match checked {
        Ok(ok) => ok,
        Err(why) => {
            state.bad.lock().unwrap().push(why);
            return HttpResponse::BadRequest().finish();
        }
    };
    let (status, retry_after) = state
        .script
        .lock()
        .unwrap()
        .get_mut(&id)
        .and_then(VecDeque::pop_front)
        .unwrap_or((201, None));
    state.got.lock().unwrap().push(Push {
        id,
        topic: header("topic"),
        urgency: header("urgency"),
        ttl: header("ttl"),
        vapid_key,
        plaintext,
        status,
    });
    let mut resp = HttpResponse::build(actix_web::http::StatusCode::from_u16(status).unwrap());
    if let Some(secs) = retry_after {
        resp.insert_header(("retry-after", secs.to_string()));
    }
    resp.finish()
}
