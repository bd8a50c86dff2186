//! The baseline forwarder carries the same traffic the relay is measured with.

use parley_loadgen::{BareForwarder, Plan, percentile, run};
use std::time::Duration;

#[tokio::test]
async fn bare_forwarder_baseline_runs_the_same_traffic() {
    let bare = BareForwarder::start().await.unwrap();
    let plan = Plan {
        urls: vec![format!("http://{}", bare.addr)],
        devices: 4,
        messages: 50,
        size: 128,
        window: 8,
        bare: true,
    };
    let report = run(plan).await.unwrap();
    assert_eq!(report.delivered, 200);
    assert_eq!(report.latencies.len(), 200);
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
