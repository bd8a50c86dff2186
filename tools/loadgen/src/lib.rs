//! Load generator: N authenticated devices over real WebSockets, each sending
//! M envelopes of S bytes to the next device, measuring messages/s and
//! send→deliver latency. `bare` runs the same traffic through a minimal
//! in-process forwarder (no auth, no storage), so the relay's cost is a ratio.

mod bare;
mod client;
mod idle;

use std::time::Duration;

pub use bare::BareForwarder;
pub use client::{LoadError, Plan, Report, register, run};
pub use idle::{closed, connect_all, tokens};

/// Percentile of sorted latencies.
pub fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let i = ((sorted.len() - 1) as f64 * p).round() as usize;
    sorted[i.min(sorted.len() - 1)]
}

/// Resident set size of a process, in KiB (Linux `/proc`).
pub fn rss_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find(|l| l.starts_with("VmRSS:"))?
        .split_whitespace()
        .nth(1)?
        .parse()
        .ok()
}
