//! `parley-loadgen`: drive a relay (or the `--bare` baseline) with N devices.
//!
//! parley-loadgen --url http://127.0.0.1:8080 --devices 50 --messages 200 --size 1024
//! parley-loadgen --bare --devices 50 --messages 200 --size 1024
//! parley-loadgen --url http://127.0.0.1:8080 --devices 10 --messages 250 --rate 500
//! parley-loadgen --url http://127.0.0.1:8080 --idle 50000 --sources 3 --relay-pid PID
//! parley-loadgen --serve-bare 127.0.0.1:9000   # the baseline as its own process

use std::process::ExitCode;

use clap::Parser;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use parley_loadgen::{BareForwarder, Plan, closed, connect_all, percentile, rss_kib, run, tokens};

#[derive(Debug, Parser)]
#[command(
    version,
    about = "Parley load generator: messages/s and send→deliver latency"
)]
struct Args {
    /// Relay base URL (default http://127.0.0.1:8080); repeat it for
    /// several relay nodes: devices alternate between them, so every
    /// envelope crosses. With --bare: a forwarder started with --serve-bare
    /// (so its CPU is its own); without it one is started in-process.
    #[arg(long)]
    url: Vec<String>,
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
    /// Envelopes per second over all devices, each device sending on a
    /// fixed schedule (still window-limited); the output adds how late
    /// sends left against it. Without it devices send as fast as the
    /// window allows.
    #[arg(long)]
    rate: Option<f64>,
    /// Drive the minimal forwarder instead of a relay: in-process, or the
    /// one at --url (started with --serve-bare).
    #[arg(long)]
    bare: bool,
    /// Instead of traffic: hold this many idle authenticated connections and
    /// report the relay's memory per connection (needs --relay-pid).
    #[arg(long, default_value_t = 0)]
    idle: usize,
    /// The relay's process id, for --idle.
    #[arg(long)]
    relay_pid: Option<u32>,
    /// With --idle: bind connections round-robin to 127.0.0.2 … 127.0.0.(K+1)
    /// (one source address has ~28,000 ports towards one listener).
    #[arg(long, default_value_t = 0)]
    sources: u8,
    /// With --idle: seconds to hold the connections before counting the
    /// ones the server closed and reading its memory again.
    #[arg(long, default_value_t = 5)]
    hold: u64,
    /// Run only the bare forwarder, on this address, until killed (so --idle
    /// can measure it as a process of its own).
    #[arg(long)]
    serve_bare: Option<SocketAddr>,
    /// With --serve-bare: tungstenite's read and write buffer sizes in bytes
    /// (its defaults: 128 KiB each).
    #[arg(long)]
    bare_buffers: Option<usize>,
}

#[tokio::main]
#[allow(clippy::print_stdout)]
async fn main() -> ExitCode {
    let args = Args::parse();
    if let Some(addr) = args.serve_bare {
        return serve_bare(addr, args.bare_buffers).await;
    }
    if args.idle > 0 {
        return idle(&args).await;
    }
    let urls = if args.url.is_empty() {
        vec!["http://127.0.0.1:8080".to_owned()]
    } else {
        args.url
            .iter()
            .map(|u| u.trim_end_matches('/').to_owned())
            .collect()
    };
    let urls = if args.bare && args.url.is_empty() {
        match BareForwarder::start().await {
            Ok(f) => vec![format!("http://{}", f.addr)],
            Err(e) => {
                eprintln!("parley-loadgen: cannot start the bare forwarder: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        urls
    };
    let plan = Plan {
        urls,
        devices: args.devices,
        messages: args.messages,
        size: args.size,
        window: args.window.max(1),
        bare: args.bare,
        rate: args.rate,
    };
    match run(plan.clone()).await {
        Ok(r) => {
            println!(
                "{} devices x {} envelopes x {} B ({}): {} delivered in {:.2} s = {:.0} msg/s, latency p50 {:.2} ms, p99 {:.2} ms{}",
                plan.devices,
                plan.messages,
                plan.size,
                match (plan.bare, plan.urls.len()) {
                    (true, _) => "bare forwarder".to_owned(),
                    (false, 1) => "relay".to_owned(),
                    (false, n) => format!("{n} relay nodes"),
                },
                r.delivered,
                r.elapsed.as_secs_f64(),
                r.rate(),
                percentile(&r.latencies, 0.50).as_secs_f64() * 1e3,
                percentile(&r.latencies, 0.99).as_secs_f64() * 1e3,
                if r.lags.is_empty() {
                    String::new()
                } else {
                    format!(
                        ", sends behind schedule p50 {:.2} ms, p99 {:.2} ms",
                        percentile(&r.lags, 0.50).as_secs_f64() * 1e3,
                        percentile(&r.lags, 0.99).as_secs_f64() * 1e3,
                    )
                },
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
async fn serve_bare(addr: SocketAddr, buffers: Option<usize>) -> ExitCode {
    match BareForwarder::start_on(addr, buffers).await {
        Ok(f) => {
            println!("bare forwarder on {} (pid {})", f.addr, std::process::id());
            std::future::pending::<()>().await;
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("parley-loadgen: cannot start the bare forwarder: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Holds `--idle` connections and reports the server's RSS: before
/// registering, once the devices are registered (so their rows and caches
/// are not counted as connections), with every connection open, and after
/// holding them; then closes them all and exits.
#[allow(clippy::print_stdout)]
async fn idle(args: &Args) -> ExitCode {
    let Some(pid) = args.relay_pid else {
        eprintln!("parley-loadgen: --idle needs --relay-pid");
        return ExitCode::FAILURE;
    };
    let Some(url) = args.url.first().map(|u| u.trim_end_matches('/')) else {
        eprintln!("parley-loadgen: --idle needs --url");
        return ExitCode::FAILURE;
    };
    let sources: Vec<IpAddr> = (0..args.sources)
        .map(|k| IpAddr::V4(Ipv4Addr::new(127, 0, 0, k.saturating_add(2))))
        .collect();
    let rss = || rss_kib(pid).unwrap_or(0);
    let start = rss();
    let tokens = match tokens(url, args.idle, args.bare).await {
        Ok(t) => t,
        Err(e) => {
            eprintln!("parley-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let registered = rss();
    let mut conns = match connect_all(url, tokens, &sources).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("parley-loadgen: {e}");
            return ExitCode::FAILURE;
        }
    };
    tokio::time::sleep(Duration::from_secs(2)).await;
    let connected = rss();
    tokio::time::sleep(Duration::from_secs(args.hold)).await;
    let held = rss();
    let gone = closed(&mut conns).await;
    let n = conns.len();
    println!(
        "{n} idle authenticated connections from {} source address(es); server RSS {start} KiB at start, \
         {registered} KiB registered, {connected} KiB connected, {held} KiB after {} s = {:.1} KiB per connection; \
         closed by the server: {gone}",
        sources.len().max(1),
        args.hold,
        held.saturating_sub(registered) as f64 / n.max(1) as f64
    );
    drop(conns);
    if gone == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
