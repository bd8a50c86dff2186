//! The baseline forwarder carries the same traffic the relay is measured with.
#![allow(clippy::unwrap_used)]

use parley_loadgen::{BareForwarder, LoadError, Plan, Report, percentile, run};
use std::time::Duration;

/// 4 devices sending 50 envelopes each through a fresh bare forwarder.
async fn run_bare(rate: Option<f64>, window: usize) -> Result<Report, LoadError> {
    let bare = BareForwarder::start().await.unwrap();
    let plan = Plan {
        urls: vec![format!("http://{}", bare.addr)],
        devices: 4,
        messages: 50,
        size: 128,
        window,
        bare: true,
        rate,
    };
    run(plan).await
}

#[tokio::test]
async fn bare_forwarder_baseline_runs_the_same_traffic() {
    let report = run_bare(None, 8).await.unwrap();
    assert_eq!(report.delivered, 200);
    assert_eq!(report.latencies.len(), 200);
    assert!(report.lags.is_empty(), "no schedule, no lags");
}

#[tokio::test]
async fn a_fixed_rate_spreads_the_sends_over_their_schedule() {
    // 4 devices at 400 msg/s: each sends every 10 ms, the last device's
    // 50th send is due at 7.5 + 49 × 10 ms, so nothing can finish sooner;
    // unpaced, the same traffic takes a few milliseconds.
    let report = run_bare(Some(400.0), 8).await.unwrap();
    assert_eq!(report.delivered, 200);
    assert!(
        report.elapsed >= Duration::from_micros(497_500),
        "{:?}",
        report.elapsed
    );
    // Every send's lag behind its schedule is kept, and this light load
    // keeps up with it.
    assert_eq!(report.lags.len(), 200);
    let lag = percentile(&report.lags, 0.5);
    assert!(lag < Duration::from_millis(100), "lag p50 {lag:?}");
}

#[tokio::test]
async fn sends_held_back_by_the_window_show_as_lag_not_latency() {
    // Everything is due at once, but one envelope per device may be
    // unacknowledged: send k leaves k round trips late (the median about
    // 25), while its latency, counted from the send, is one delivery.
    // Counted from the schedule, latency would be the lag and more.
    let report = run_bare(Some(1e9), 1).await.unwrap();
    assert_eq!(report.delivered, 200);
    assert_eq!(report.lags.len(), 200);
    let (lag, latency) = (
        percentile(&report.lags, 0.5),
        percentile(&report.latencies, 0.5),
    );
    assert!(
        lag > latency * 5,
        "lag p50 {lag:?}, latency p50 {latency:?}"
    );
}

#[tokio::test]
async fn a_rate_that_schedules_nothing_is_refused() {
    for rate in [0.0, -1.0, f64::NAN, f64::INFINITY, 1e-300] {
        let e = run_bare(Some(rate), 8).await.err();
        assert!(e.is_some_and(|e| e.0.contains("rate")), "rate {rate}");
    }
}

#[test]
fn percentile_picks_from_sorted_latencies() {
    let ms = |n| Duration::from_millis(n);
    let sorted: Vec<_> = (1..=100).map(ms).collect();
    assert_eq!(percentile(&sorted, 0.0), ms(1));
    assert_eq!(percentile(&sorted, 0.5), ms(51));
    assert_eq!(percentile(&sorted, 1.0), ms(100));
    assert_eq!(percentile(&[], 0.99), Duration::ZERO);
}
