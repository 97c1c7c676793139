//! `jirafed run` as a child process, for tests that kill it.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use jirafed::harness::{self, Settings};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};

use super::Sim;

/// `jirafed run` as a child process; dropping it kills it (also on panic).
pub struct Jirafed {
    child: Child,
    /// Where its HTTP face listens (from its "jirafed running" line).
    pub addr: String,
    /// The config file it runs with (a test may change it and reload).
    pub config: PathBuf,
    /// Its log lines so far.
    log: Arc<Mutex<Vec<String>>>,
}

impl Jirafed {
    /// Starts the daemon on `config/demo.toml` (its text changed by `edit`)
    /// pointed at the simulator and `state`, and waits for its "jirafed
    /// running" line.
    pub async fn start(sim: &Sim, state: &Path, edit: Option<&dyn Fn(&str) -> String>) -> Jirafed {
        Jirafed::start_full(sim, state, edit, &[], &[]).await
    }

    /// [`Jirafed::start`], then every site's webhooks registered to it.
    pub async fn start_with_webhooks(sim: &Sim, state: &Path) -> Jirafed {
        let daemon = Jirafed::start(sim, state, None).await;
        let addr = daemon.addr.parse().expect("daemon address");
        harness::register_webhooks(&sim.sim, addr).await.expect("webhooks registered");
        daemon
    }

    /// [`Jirafed::start`] with more arguments after `run` (e.g. `--init`).
    pub async fn start_args(sim: &Sim, state: &Path, edit: Option<&dyn Fn(&str) -> String>, extra: &[&str]) -> Jirafed {
        Jirafed::start_full(sim, state, edit, extra, &[]).await
    }

    /// As [`Jirafed::start`], with more environment variables.
    pub async fn start_with_env(
        sim: &Sim,
        state: &Path,
        edit: Option<&dyn Fn(&str) -> String>,
        env: &[(&str, &str)],
    ) -> Jirafed {
        Jirafed::start_full(sim, state, edit, &[], env).await
    }

    async fn start_full(
        sim: &Sim,
        state: &Path,
        edit: Option<&dyn Fn(&str) -> String>,
        extra: &[&str],
        env: &[(&str, &str)],
    ) -> Jirafed {
        let (mut cmd, config) = command_and_config(sim, state, edit, &["run"]);
        cmd.args(extra);
        cmd.envs(env.iter().copied());
        cmd.stdin(Stdio::null()).stdout(Stdio::null()).stderr(Stdio::piped()).kill_on_drop(true);
        let mut child = cmd.spawn().expect("jirafed run starts");
        let stderr = child.stderr.take().expect("piped stderr");
        let (ready, running) = tokio::sync::oneshot::channel::<String>();
        let log = Arc::new(Mutex::new(Vec::new()));
        let kept = log.clone();
        tokio::spawn(async move {
            let mut ready = Some(ready);
            let mut lines = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = lines.next_line().await {
                kept.lock().expect("log").push(line.clone());
                if line.contains("jirafed running") {
                    let listen =
                        serde_json::from_str::<Value>(&line).ok().and_then(|v| v["listen"].as_str().map(String::from));
                    ready.take().map(|r| r.send(listen.unwrap_or_default()));
                } else {
                    eprintln!("jirafed: {line}");
                }
            }
        });
        let started = tokio::time::timeout(Duration::from_secs(20), running).await;
        let Ok(Ok(addr)) = started else { panic!("jirafed run did not start: {:?}", child.try_wait()) };
        Jirafed { child, addr, config, log }
    }

    /// Sends SIGHUP (what `systemctl reload` does).
    pub fn hup(&self) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill").args(["-HUP", &pid]).status().expect("kill -HUP");
        assert!(ok.success(), "kill -HUP {pid}");
    }

    /// Whether the process has exited (and how).
    pub fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().expect("try_wait")
    }

    /// The log lines so far that contain `text`.
    pub fn log_lines(&self, text: &str) -> Vec<String> {
        self.log.lock().expect("log").iter().filter(|l| l.contains(text)).cloned().collect()
    }

    /// Its `/metrics` text.
    pub async fn metrics(&self, http: &reqwest::Client) -> String {
        let r = http.get(format!("http://{}/metrics", self.addr)).send().await.expect("GET /metrics");
        r.text().await.expect("metrics text")
    }

    /// Its `/status`.
    pub async fn status(&self, http: &reqwest::Client) -> Value {
        let r = http.get(format!("http://{}/status", self.addr)).send().await.expect("GET /status");
        r.json().await.expect("status JSON")
    }

    /// Whether the process still runs (it has not exited or been restarted).
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM (what `systemctl stop` does), and waits until it has exited.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let ok = std::process::Command::new("kill").args(["-TERM", &pid]).status().expect("kill -TERM");
        assert!(ok.success(), "kill -TERM {pid}");
        let exited = tokio::time::timeout(Duration::from_secs(30), self.child.wait()).await;
        let status = exited.expect("jirafed stops within 30 s of SIGTERM").expect("wait");
        assert!(status.success(), "jirafed stopped with {status}");
    }

    /// `kill -9`, and waits until the process is gone (its store is closed).
    pub async fn kill(mut self) {
        self.child.kill().await.expect("SIGKILL");
    }
}

/// `jirafed ARGS --config <the demo config>` with the test daemon's
/// environment (state folder, admin socket, the simulator's URLs).
pub fn command(sim: &Sim, state: &Path, edit: Option<&dyn Fn(&str) -> String>, args: &[&str]) -> Command {
    command_and_config(sim, state, edit, args).0
}

/// [`command`] and the config file it names.
fn command_and_config(
    sim: &Sim,
    state: &Path,
    edit: Option<&dyn Fn(&str) -> String>,
    args: &[&str],
) -> (Command, PathBuf) {
    let config = harness::write_config(state).expect("demo config written");
    if let Some(edit) = edit {
        let text = std::fs::read_to_string(&config).expect("demo config");
        std::fs::write(&config, edit(&text)).expect("edited config");
    }
    let settings = Settings { poll_overlap: Some("2m".into()), ..Settings::poll("1s") }
        .with("WRITES_PER_SECOND", "200")
        .with("BURST", "100")
        .with("READS_PER_SECOND", "400");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_jirafed"));
    // `TEST_JIRAFED_LOG` (a RUST_LOG filter) shows more of the daemon's log.
    let log = std::env::var("TEST_JIRAFED_LOG").unwrap_or_else(|_| "warn,jirafed::daemon=info".into());
    cmd.args(args).arg("--config").arg(&config).env("RUST_LOG", log);
    cmd.envs(harness::overrides(&sim.sim, state, &settings));
    (cmd, config)
}

/// Runs `jirafed ARGS` (with the test daemon's config and environment) to its
/// end, within 60 s; returns its exit code, stdout and stderr.
pub async fn jirafed_once(sim: &Sim, state: &Path, args: &[&str]) -> (i32, String, String) {
    jirafed_once_env(sim, state, &[], args).await
}

/// [`jirafed_once`] with more environment variables (config overrides).
pub async fn jirafed_once_env(sim: &Sim, state: &Path, env: &[(&str, &str)], args: &[&str]) -> (i32, String, String) {
    let mut cmd = command(sim, state, None, args);
    cmd.envs(env.iter().copied());
    cmd.stdin(Stdio::null()).kill_on_drop(true);
    let out = tokio::time::timeout(Duration::from_secs(60), cmd.output())
        .await
        .unwrap_or_else(|_| panic!("jirafed {args:?} did not end"))
        .expect("jirafed runs");
    let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    (out.status.code().unwrap_or(-1), text(&out.stdout), text(&out.stderr))
}
