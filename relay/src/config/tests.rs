//! Unit tests of the configuration parser (kept apart so config.rs stays readable).

use super::*;
use std::collections::HashMap;

fn cfg(pairs: &[(&'static str, &'static str)]) -> Result<Config, ConfigError> {
    let map: HashMap<&str, &str> = pairs.iter().copied().collect();
    Config::from_env(&map)
}

#[test]
fn defaults_are_embedded_sqlite_and_local_blobs() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.bind.to_string(), "127.0.0.1:8080");
    assert_eq!(c.public_url.as_str(), "http://127.0.0.1:8080/");
    assert_eq!(
        c.database,
        DatabaseTarget::Sqlite(PathBuf::from("data/parley.db"))
    );
    assert!(
        matches!(c.blobs, BlobBackend::Local { ref dir } if dir == &PathBuf::from("data/blobs"))
    );
}

#[test]
fn workers_and_write_stall_default_and_parse() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.workers, None, "one per core");
    assert_eq!(c.ws_write_stall, Duration::from_secs(60));
    let c = cfg(&[("PARLEY_WORKERS", "0")]).unwrap();
    assert_eq!(c.workers, None);
    let c = cfg(&[("PARLEY_WORKERS", "3"), ("PARLEY_WS_WRITE_STALL_SECS", "5")]).unwrap();
    assert_eq!(c.workers, Some(3));
    assert_eq!(c.ws_write_stall, Duration::from_secs(5));
}

#[test]
fn trusted_proxies_take_addresses_and_networks() {
    assert!(cfg(&[]).unwrap().trusted_proxies.is_empty());
    let c = cfg(&[("PARLEY_TRUSTED_PROXIES", "127.0.0.1, 10.0.0.0/8 ::1")]).unwrap();
    let nets: Vec<String> = c.trusted_proxies.iter().map(ToString::to_string).collect();
    assert_eq!(nets, ["127.0.0.1/32", "10.0.0.0/8", "::1/128"]);
    let err = cfg(&[("PARLEY_TRUSTED_PROXIES", "10.0.0.0/33")]).unwrap_err();
    assert_eq!(err.var, "PARLEY_TRUSTED_PROXIES");
    assert!(err.to_string().contains("10.0.0.0/33"), "{err}");
}

#[test]
fn database_url_schemes() {
    assert_eq!(
        DatabaseTarget::parse("postgres://u@h:5/db")
            .unwrap()
            .backend(),
        "postgres"
    );
    assert_eq!(
        DatabaseTarget::parse("sqlite:///tmp/x.db").unwrap(),
        DatabaseTarget::Sqlite(PathBuf::from("/tmp/x.db"))
    );
    let err = DatabaseTarget::parse("mysql://x").unwrap_err();
    assert_eq!(err.var, "DATABASE_URL");
    assert!(err.to_string().contains("\"mysql\""), "{err}");
    assert_eq!(
        DatabaseTarget::parse("sqlite://").unwrap_err().var,
        "DATABASE_URL"
    );
    assert_eq!(
        DatabaseTarget::parse("postgres://[broken").unwrap_err().var,
        "DATABASE_URL"
    );
}

#[test]
fn each_bad_variable_is_named() {
    for (pairs, var) in [
        (vec![("PARLEY_BIND", "nope")], "PARLEY_BIND"),
        (vec![("PARLEY_BLOB_BACKEND", "ftp")], "PARLEY_BLOB_BACKEND"),
        (vec![("PARLEY_BLOB_BACKEND", "s3")], "S3_ENDPOINT"),
        (vec![("PARLEY_TURN_URLS", "http://x")], "PARLEY_TURN_URLS"),
        (
            vec![("PARLEY_TURN_URLS", "turn:h:3478")],
            "PARLEY_TURN_SECRET",
        ),
        (
            vec![
                ("PARLEY_TURN_URLS", "turn:h:3478"),
                ("PARLEY_TURN_SECRET", "short"),
            ],
            "PARLEY_TURN_SECRET",
        ),
        (
            vec![("PARLEY_BLOB_BACKEND", "s3"), ("S3_ENDPOINT", "http://x")],
            "S3_BUCKET",
        ),
        (vec![("PARLEY_DB_POOL_SIZE", "0")], "PARLEY_DB_POOL_SIZE"),
        (vec![("PARLEY_WORKERS", "two")], "PARLEY_WORKERS"),
        (vec![("PARLEY_WORKERS", "5000")], "PARLEY_WORKERS"),
        (
            vec![("PARLEY_WS_WRITE_STALL_SECS", "18446744073709551615")],
            "PARLEY_WS_WRITE_STALL_SECS",
        ),
        (
            vec![("PARLEY_WS_WRITE_STALL_SECS", "0")],
            "PARLEY_WS_WRITE_STALL_SECS",
        ),
        (
            vec![("PARLEY_MAX_BLOB_BYTES", "lots")],
            "PARLEY_MAX_BLOB_BYTES",
        ),
        (
            vec![("PARLEY_URL_SIGNING_KEY", "c2hvcnQ=")],
            "PARLEY_URL_SIGNING_KEY",
        ),
        (vec![("PARLEY_LOG_FORMAT", "xml")], "PARLEY_LOG_FORMAT"),
        (vec![("PARLEY_PUBLIC_URL", "ftp://x")], "PARLEY_PUBLIC_URL"),
        (
            vec![("PARLEY_REGISTRATION", "email")],
            "PARLEY_REGISTRATION",
        ),
        (
            vec![("PARLEY_TOKEN_TTL_SECS", "5")],
            "PARLEY_TOKEN_TTL_SECS",
        ),
    ] {
        let err = cfg(&pairs).unwrap_err();
        assert_eq!(err.var, var, "{pairs:?} -> {err}");
    }
}

#[test]
fn dotenv_lines_are_parsed() {
    let m = parse_dotenv("# c\nA=1\n\nB = \"two words\"\nbroken\n");
    assert_eq!(m.get("A").map(String::as_str), Some("1"));
    assert_eq!(m.get("B").map(String::as_str), Some("two words"));
    assert_eq!(m.len(), 2);
}

#[test]
fn s3_secret_is_not_in_debug_output() {
    let c = cfg(&[
        ("PARLEY_BLOB_BACKEND", "s3"),
        ("S3_ENDPOINT", "http://127.0.0.1:1"),
        ("S3_BUCKET", "b"),
        ("S3_ACCESS_KEY", "ak"),
        ("S3_SECRET_KEY", "very-secret-value"),
    ])
    .unwrap();
    assert!(!format!("{c:?}").contains("very-secret-value"));
}

#[test]
fn turn_is_optional_and_its_secret_is_not_in_debug_output() {
    assert!(cfg(&[]).unwrap().turn.is_none());
    let c = cfg(&[
        (
            "PARLEY_TURN_URLS",
            "turn:t.example:3478?transport=udp, turns:t.example:5349",
        ),
        ("PARLEY_TURN_SECRET", "turn-secret-0123456789"),
        ("PARLEY_TURN_RELAY_ONLY", "true"),
    ])
    .unwrap();
    let t = c.turn.as_ref().unwrap();
    assert_eq!(t.urls.len(), 2);
    assert!(t.relay_only);
    assert_eq!(t.ttl, Duration::from_secs(3600));
    assert!(!format!("{c:?}").contains("turn-secret-0123456789"));
}

#[test]
fn attachment_byte_quota_defaults_to_a_gib_and_never_undercuts_the_largest_object() {
    assert_eq!(cfg(&[]).unwrap().max_attachment_bytes_per_device, 1 << 30);
    let big = cfg(&[("PARLEY_MAX_BLOB_BYTES", "2147483648")]).unwrap();
    assert_eq!(big.max_attachment_bytes_per_device, 2_147_483_648);
    let set = cfg(&[
        ("PARLEY_MAX_BLOB_BYTES", "1000"),
        ("PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE", "5000"),
    ])
    .unwrap();
    assert_eq!(set.max_attachment_bytes_per_device, 5000);
    for bad in ["999", "0", "lots", "-1"] {
        let err = cfg(&[
            ("PARLEY_MAX_BLOB_BYTES", "1000"),
            ("PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE", bad),
        ])
        .unwrap_err();
        assert_eq!(
            err.var, "PARLEY_MAX_ATTACHMENT_BYTES_PER_DEVICE",
            "{bad}: {err}"
        );
    }
}

#[test]
fn s3_prefix_is_normalised_and_restricted() {
    let s3 = |prefix: &'static str| {
        cfg(&[
            ("PARLEY_BLOB_BACKEND", "s3"),
            ("S3_ENDPOINT", "http://127.0.0.1:1"),
            ("S3_BUCKET", "b"),
            ("S3_ACCESS_KEY", "ak"),
            ("S3_SECRET_KEY", "sk"),
            ("S3_PREFIX", prefix),
        ])
        .map(|c| match c.blobs {
            BlobBackend::S3(s3) => s3.prefix,
            BlobBackend::Local { .. } => unreachable!(),
        })
    };
    assert_eq!(s3("").unwrap(), "");
    assert_eq!(s3("parley").unwrap(), "parley/");
    assert_eq!(s3("a/b-c_9/").unwrap(), "a/b-c_9/");
    for bad in ["../x", "a//b", "/a", "a b", "a.b", "é"] {
        assert_eq!(s3(bad).unwrap_err().var, "S3_PREFIX", "{bad}");
    }
}

#[test]
fn redis_is_optional_and_turns_the_mailbox_poll_on() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.scale_out, ScaleOut::default(), "one process, no poll");
    let c = cfg(&[("PARLEY_REDIS_URL", "redis://:hunter2@10.0.0.5:6379/0")]).unwrap();
    assert_eq!(c.scale_out.mailbox_poll, Some(Duration::from_secs(5)));
    let shown = format!("{c:?}");
    assert!(
        !shown.contains("hunter2") && shown.contains("10.0.0.5"),
        "{shown}"
    );
    let c = cfg(&[
        ("PARLEY_REDIS_URL", "redis://127.0.0.1:6379"),
        ("PARLEY_MAILBOX_POLL_SECS", "0"),
    ])
    .unwrap();
    assert_eq!(c.scale_out.mailbox_poll, None, "0 turns it off");
    for bad in ["rediss://h:6380", "127.0.0.1:6379"] {
        let err = cfg(&[("PARLEY_REDIS_URL", bad)]).unwrap_err();
        assert_eq!(err.var, "PARLEY_REDIS_URL", "{bad}");
    }
}

#[test]
fn push_settings_default_and_are_checked() {
    let c = cfg(&[]).unwrap();
    assert_eq!(c.push.subject, c.public_url.as_str());
    assert_eq!(c.push.min_interval, Duration::from_secs(30));
    assert_eq!(c.push.ttl, Duration::from_secs(86_400));
    assert!(c.push.vapid_private_key.is_none());
    assert!(!c.push.allow_loopback_http);
    // base64url of 32 bytes of 9.
    let key = "CQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQkJCQk";
    assert_eq!(
        parley_shared::crypto::codec::b64url::decode(key),
        Some(vec![9u8; 32])
    );
    let set = cfg(&[
        ("PARLEY_VAPID_PRIVATE_KEY", key),
        ("PARLEY_VAPID_SUBJECT", "mailto:ops@relay.example"),
    ])
    .unwrap();
    assert_eq!(set.push.vapid_private_key, Some([9u8; 32]));
    assert!(!format!("{set:?}").contains(key));
    for (var, value) in [
        ("PARLEY_VAPID_PRIVATE_KEY", "c2hvcnQ"),
        ("PARLEY_VAPID_SUBJECT", "ops@relay.example"),
        ("PARLEY_PUSH_TTL_SECS", "99999999"),
        ("PARLEY_PUSH_INTERVAL_SECS", "0"),
        ("PARLEY_PUSH_ALLOW_LOOPBACK_HTTP", "maybe"),
    ] {
        assert_eq!(cfg(&[(var, value)]).unwrap_err().var, var, "{value}");
    }
}

#[test]
fn the_recipient_budget_fits_the_largest_send() {
    assert_eq!(cfg(&[]).unwrap().rate_limit_recipients_per_sec, 4_096);
    let c = cfg(&[("PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC", "1024")]).unwrap();
    assert_eq!(c.rate_limit_recipients_per_sec, 1_024);
    // A smaller budget would refuse every legal 1,024-recipient send.
    let err = cfg(&[("PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC", "1023")]).unwrap_err();
    assert_eq!(err.var, "PARLEY_RATE_LIMIT_RECIPIENTS_PER_SEC");
}
