//! `parley-loadgen`: drive a relay (or the `--bare` baseline) with N devices.
//!
//! parley-loadgen --url http://127.0.0.1:8080 --devices 50 --messages 200 --size 1024
//! parley-loadgen --bare --devices 50 --messages 200 --size 1024

use std::process::ExitCode;

use clap::Parser;
use parley_loadgen::{BareForwarder, Plan, hold_idle, percentile, rss_kib, run};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Parley load generator: messages/s and send→deliver latency"
)]
struct Args {
    /// Relay base URL (ignored with --bare).
    #[arg(long, default_value = "http://127.0.0.1:8080")]
    url: String,
    /// Devices (each sends to the next one).
    #[arg(long, default_value_t = 20)]
    devices: usize,
    /// Envelopes per device.
    #[arg(long, default_value_t = 100)]
    messages: usize,
    /// Payload bytes per envelope.
    #[arg(long, default_value_t = 1024)]
    size: usize,
    /// Unacknowledged sends per device.
    #[arg(long, default_value_t = 32)]
    window: usize,
    /// Run the in-process minimal forwarder instead of a relay.
    #[arg(long)]
    bare: bool,
    /// Instead of traffic: hold this many idle authenticated connections and
    /// report the relay's memory per connection (needs --relay-pid).
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// The relay's process id, for --idle.
    #[arg(long)]
    relay_pid: Option<u32>,
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> ExitCode {
    let args = Args::parse();
    if args.idle > 0 {
        return idle(&args).await;
    }
    let url = if args.bare {
        match BareForwarder::start().await {
            Ok(f) => format!("http://{}", f.addr),
            Err(e) => {
                eprintln!("parley-loadgen: cannot start the bare forwarder: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        args.url.trim_end_matches('/').to_owned()
    };
    let plan = Plan {
        url,
        devices: args.devices,
        messages: args.messages,
        size: args.size,
        window: args.window.max(1),
        bare: args.bare,
    };
    match run(plan.clone()).await {
        Ok(r) => {
            println!(
                "{} devices x {} envelopes x {} B ({}): {} delivered in {:.2} s = {:.0} msg/s, latency p50 {:.2} ms, p99 {:.2} ms",
                plan.devices,
                plan.messages,
                plan.size,
                if plan.bare { "bare forwarder" } else { "relay" },
                r.delivered,
                r.elapsed.as_secs_f64(),
                r.rate(),
                percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parley-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

#[allow(clippy::print_stdout)]
async fn idle(args: &Args) -> ExitCode {
    let Some(pid) = args.relay_pid else {
        eprintln!("parley-loadgen: --idle needs --relay-pid");
        return ExitCode::FAILURE;
    };
    let url = args.url.trim_end_matches('/');
    let before = rss_kib(pid).unwrap_or(0);
    match hold_idle(url, args.idle).await {
        Ok(conns) => {
            tokio::time::sleep(std::time::Duration::from_secs(2)).await;
            let after = rss_kib(pid).unwrap_or(0);
            println!(
                "{} idle authenticated connections held; relay RSS {} KiB -> {} KiB = {:.1} KiB per connection",
                conns.len(),
                before,
                after,
                after.saturating_sub(before) as f64 / conns.len() as f64
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parley-loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}
