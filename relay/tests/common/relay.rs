//! Runs the real `parley-relay` binary on a free port.

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_parley-relay");

pub(crate) fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A running relay; killed on drop.
pub(crate) struct Relay {
    pub child: Child,
    pub log: PathBuf,
    pub base: String,
    pub data_dir: PathBuf,
    builder: RelayBuilder,
}

#[derive(Clone)]
pub(crate) struct RelayBuilder {
    env: HashMap<String, String>,
    tmp: std::sync::Arc<tempfile::TempDir>,
}

impl RelayBuilder {
    pub(crate) fn new() -> Self {
        let tmp = tempfile::tempdir().unwrap();
        let mut env = HashMap::new();
        env.insert(
            "PARLEY_DATA_DIR".into(),
            tmp.path().join("data").display().to_string(),
        );
        env.insert(
            "PARLEY_STATIC_DIR".into(),
            tmp.path().join("no-dist").display().to_string(),
        );
        env.insert("PARLEY_LOG".into(), "info".into());
        Self {
            env,
            tmp: std::sync::Arc::new(tmp),
        }
    }

    pub(crate) fn env(mut self, k: &str, v: impl Into<String>) -> Self {
        self.env.insert(k.into(), v.into());
        self
    }

    pub(crate) fn tmp_path(&self) -> PathBuf {
        self.tmp.path().to_path_buf()
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(BIN);
        cmd.args(args)
            .env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default());
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs a one-shot subcommand (e.g. `migrate`) and returns its output.
    pub(crate) fn run(&self, args: &[&str]) -> Output {
        self.command(args).output().unwrap()
    }

    /// Starts `serve` on a free port and waits until `/healthz` answers.
    pub(crate) async fn start(&self) -> Relay {
        self.start_on(free_port()).await
    }

    /// Starts `serve` on `port` (the same data each time: restarts keep state).
    pub(crate) async fn start_on(&self, port: u16) -> Relay {
        let builder = self.clone();
        let mut this = self.clone();
        this.env
            .insert("PARLEY_BIND".into(), format!("127.0.0.1:{port}"));
        let data_dir = PathBuf::from(&this.env["PARLEY_DATA_DIR"]);
        // A file, not a pipe: a pipe nobody drains would block the relay.
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let log = this.tmp.path().join(format!("relay-{port}-{stamp}.log"));
        let child = this
            .command(&["serve"])
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        let mut relay = Relay {
            child,
            log,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            builder,
        };
        relay.wait_healthy().await;
        relay
    }
}

impl Relay {
    async fn wait_healthy(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let client = reqwest::Client::new();
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!("relay exited early ({status}): {}", self.logs());
            }
            if let Ok(r) = client.get(format!("{}/healthz", self.base)).send().await
                && r.status() == 200
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("relay did not become healthy");
    }

    /// SIGKILL (no shutdown at all), then start again on the same port and data.
    pub(crate) async fn crash_and_restart(mut self) -> Relay {
        let port: u16 = self.base.rsplit(':').next().unwrap().parse().unwrap();
        self.child.kill().unwrap();
        self.child.wait().unwrap();
        let builder = self.builder.clone();
        drop(self);
        builder.start_on(port).await
    }

    pub(crate) fn logs(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// A connection to the relay's database (`pg`: its PostgreSQL URL;
    /// `None`: the SQLite file in its data directory).
    #[allow(dead_code)] // not every test file uses it
    pub(crate) fn store(&self, pg: &Option<String>) -> parley_relay::db::Store {
        use parley_relay::config::DatabaseTarget;
        let target = match pg {
            Some(url) => DatabaseTarget::parse(url).unwrap(),
            None => DatabaseTarget::Sqlite(self.data_dir.join("parley.db")),
        };
        parley_relay::db::Store::connect(&target, 2).unwrap()
    }

    pub(crate) fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// A metric's value from `/metrics` (0 when it was never recorded).
    #[allow(dead_code)] // not every test file uses it
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        let text = reqwest::get(self.url("/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().last())
            .map_or(0.0, |v| v.parse().unwrap())
    }

    /// Sends SIGTERM and waits for the exit status and everything it logged.
    pub(crate) fn terminate(mut self) -> (std::process::ExitStatus, String) {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        let status = self.child.wait().unwrap();
        (status, self.logs())
    }
}

impl Drop for Relay {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
