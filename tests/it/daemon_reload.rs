//! Reloads and supervision through the public face: the real `jirafed run`
//! process, SIGHUP (and `jirafed reload`), `/status`, `/metrics` and the
//! simulator. A reload never loses the daemon: an open HTTP request, an
//! invalid file or an unreachable site leave it running; a panicked engine
//! task is restarted and sync goes on.

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::AsyncWriteExt;

use super::support::process::Jirafed;
use super::support::workload::{Created, converged, create, create_with_edits};
use super::support::world::World;
use super::support::{Sim, wait_until};

const WITHIN: Duration = Duration::from_secs(60);

/// Waits until `/status` reports `attempts` reloads; returns that status.
async fn reloaded(sim: &Sim, daemon: &Jirafed, attempts: u64) -> Value {
    wait_until(WITHIN, &format!("reload {attempts} to be reported"), || async move {
        let s = daemon.status(&sim.http).await;
        (s["reload"]["attempts"].as_u64() >= Some(attempts)).then_some(s)
    })
    .await
}

/// The config file with `line` added to `[instances.hub]`.
fn with_hub_setting(daemon: &Jirafed, line: &str) {
    let text = std::fs::read_to_string(&daemon.config).expect("config");
    let changed = text.replacen("[instances.hub]\n", &format!("[instances.hub]\n{line}\n"), 1);
    assert_ne!(text, changed, "the config has an [instances.hub] table");
    std::fs::write(&daemon.config, changed).expect("config written");
}

fn hub_max_in_flight(status: &Value) -> Option<u64> {
    status["instances"]["hub"]["rate_limit"]["max_in_flight"].as_u64()
}

/// `jirafed reload` against the daemon whose state folder is `state`.
async fn jirafed_reload(state: &std::path::Path) -> std::process::Output {
    let socket = state.join("admin.sock");
    let mut cmd = tokio::process::Command::new(env!("CARGO_BIN_EXE_jirafed"));
    cmd.arg("reload").arg("--socket").arg(&socket);
    cmd.output().await.expect("jirafed reload runs")
}

/// One more issue on emea, made by alice; converged proves it mirrored.
async fn one_more_issue(sim: &Sim, n: usize) {
    create(sim, n * 2).await;
}

/// A client holding a half-sent request does not hold up a reload: the
/// daemon stays up and the new config (a hub `max_in_flight`) is in force.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sighup_with_a_half_sent_request_reloads_and_stays_up() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Jirafed::start(&sim, state.path(), None).await;
    let mut held = tokio::net::TcpStream::connect(&daemon.addr).await.expect("connect");
    let head = "POST /webhooks/hub HTTP/1.1\r\nHost: jirafed\r\nContent-Type: application/json\r\nContent-Length: 1000\r\n\r\n{\"webhookEvent\":";
    held.write_all(head.as_bytes()).await.expect("half a request");
    assert_ne!(hub_max_in_flight(&daemon.status(&sim.http).await), Some(7));

    with_hub_setting(&daemon, "max_in_flight = 7");
    daemon.hup();
    let status = reloaded(&sim, &daemon, 1).await;
    assert_eq!(status["reload"]["outcome"], "applied", "{}", status["reload"]);
    assert_eq!(status["reload"]["errors"], json!([]));
    assert_eq!(hub_max_in_flight(&status), Some(7), "{}", status["instances"]["hub"]);
    assert!(daemon.exited().is_none(), "the daemon exited on a reload");

    // `jirafed reload` does the same and answers once it is done.
    let out = jirafed_reload(state.path()).await;
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "reload applied\n");
    assert_eq!(daemon.status(&sim.http).await["reload"]["attempts"], 2);

    // Sync still works on the reloaded engine, with the request still open.
    one_more_issue(&sim, 1).await;
    converged(&sim, &daemon, WITHIN).await;
    assert!(daemon.exited().is_none());
    drop(held);
}

/// An invalid file is refused: the old config runs on, `/status` and
/// `jirafed reload` say why, sync goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_invalid_config_is_refused_and_the_old_one_keeps_running() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Jirafed::start(&sim, state.path(), None).await;
    with_hub_setting(&daemon, "max_in_flight = 7\nno_such_setting = 1");
    daemon.hup();
    let status = reloaded(&sim, &daemon, 1).await;
    assert_eq!(status["reload"]["outcome"], "refused", "{}", status["reload"]);
    let errors = status["reload"]["errors"].to_string();
    assert!(errors.contains("no_such_setting"), "{errors}");
    assert_ne!(hub_max_in_flight(&status), Some(7), "the refused config is not in force");
    assert!(status["reload"]["last_attempt"].is_string() && status["reload"]["last_applied"].is_null());

    // The same through the admin socket: refused, exit 1, the reason named.
    let out = jirafed_reload(state.path()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(stderr.contains("reload refused") && stderr.contains("no_such_setting"), "{stderr}");
    assert_eq!(reloaded(&sim, &daemon, 2).await["reload"]["outcome"], "refused");

    one_more_issue(&sim, 2).await;
    converged(&sim, &daemon, WITHIN).await;
    assert!(daemon.exited().is_none(), "the daemon exited on a refused reload");
}

/// A setting that needs a restart keeps its running value; the rest of the
/// new config applies and the reload says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_setting_that_needs_a_restart_is_kept_and_reported() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Jirafed::start(&sim, state.path(), None).await;
    let text = std::fs::read_to_string(&daemon.config).expect("config");
    std::fs::write(&daemon.config, text.replacen("[daemon]\n", "[daemon]\nwebhook_body_limit = 4096\n", 1))
        .expect("config written");
    with_hub_setting(&daemon, "max_in_flight = 7");
    daemon.hup();
    let status = reloaded(&sim, &daemon, 1).await;
    assert_eq!(status["reload"]["outcome"], "partial", "{}", status["reload"]);
    let errors = status["reload"]["errors"].to_string();
    assert!(errors.contains("daemon.webhook_body_limit changed") && errors.contains("needs a restart"), "{errors}");
    assert_eq!(hub_max_in_flight(&status), Some(7), "the rest of the new config applies");
    // Still the running limit: a 5,000-byte body is not refused for its size.
    let body = format!("{{\"pad\": \"{}\"}}", "x".repeat(5_000));
    let r = sim.http.post(format!("http://{}/webhooks/hub", daemon.addr)).body(body).send().await.expect("POST");
    assert_ne!(r.status(), 413);
    assert!(daemon.exited().is_none());
}

/// A site unreachable at reload keeps its running client: the rest of the
/// new config applies, the instance is reported, and once the site answers
/// again its issues sync through the kept client.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_site_unreachable_at_reload_keeps_its_client() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Jirafed::start(&sim, state.path(), None).await;
    converged(&sim, &daemon, WITHIN).await;
    let down = sim.control("apac", "POST", "/_sim/faults", Some(&json!({"reset_rate": 1.0}))).await;
    assert_eq!(down.status, 200, "{}", down.body);

    with_hub_setting(&daemon, "max_in_flight = 7");
    daemon.hup();
    let status = reloaded(&sim, &daemon, 1).await;
    assert_eq!(status["reload"]["outcome"], "partial", "{}", status["reload"]);
    let errors = status["reload"]["errors"].to_string();
    assert!(errors.contains("instance apac") && errors.contains("running client is kept"), "{errors}");
    assert_eq!(hub_max_in_flight(&status), Some(7), "the rest of the new config applies");
    assert!(daemon.exited().is_none(), "the daemon exited on a reload with a site down");

    assert_eq!(sim.control("apac", "DELETE", "/_sim/faults", None).await.status, 204);
    create(&sim, 1).await; // on apac
    converged(&sim, &daemon, WITHIN).await;
    assert!(daemon.exited().is_none());
}

/// Issues created and edited on the secondaries, by alice.
const ISSUES: usize = 20;
const EDITS_PER_CREATE: usize = 4;
const SIGNALS: u64 = 20;

/// SIGHUP about every second (each one sent once the one before is
/// reported) during a burst of creates and edits: no exit, nothing lost.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_sighups_during_a_burst_lose_nothing() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let mut daemon = Jirafed::start(&sim, state.path(), None).await;
    let burst = async {
        let mut issues: Vec<Created> = Vec::new();
        let mut edits = 0;
        for n in 0..ISSUES {
            create_with_edits(&sim, &mut issues, n, &mut edits, EDITS_PER_CREATE).await;
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    };
    let hups = async {
        for n in 1..=SIGNALS {
            daemon.hup();
            let s = reloaded(&sim, &daemon, n).await;
            assert_eq!(s["reload"]["outcome"], "applied", "reload {n}: {}", s["reload"]);
        }
    };
    tokio::join!(burst, hups);
    assert!(daemon.exited().is_none(), "the daemon exited during the reloads");
    let status = converged(&sim, &daemon, WITHIN).await;
    assert_eq!(status["reload"]["attempts"], SIGNALS);
    assert_eq!(status["dead_letters"], 0, "{status}");
    assert!(daemon.exited().is_none());
}

/// A planner and a writer that panic once (the test hook) are restarted,
/// logged with the cause and counted; sync goes on.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_panicked_task_is_restarted_and_sync_goes_on() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let env = [(jirafed::sync::supervise::PANIC_ONCE_VAR, "planner,writer.hub")];
    let mut daemon = Jirafed::start_with_env(&sim, state.path(), None, &env).await;
    let (sim_ref, daemon_ref) = (&sim, &daemon);
    wait_until(WITHIN, "both restarts counted", || async move {
        let m = daemon_ref.metrics(&sim_ref.http).await;
        let counted = |task: &str| m.contains(&format!("jirafed_task_restarts_total{{task=\"{task}\"}} 1\n"));
        (counted("planner") && counted("writer.hub")).then_some(())
    })
    .await;
    // The log line is read from the process's stderr a moment later.
    wait_until(WITHIN, "both restarts logged with their cause", || async move {
        let logged = daemon_ref.log_lines("engine task failed");
        let cause =
            |t: &str| logged.iter().any(|l| l.contains(&format!("\"{t}\"")) && l.contains("panicked: injected"));
        (cause("planner") && cause("writer.hub")).then_some(())
    })
    .await;
    one_more_issue(&sim, 3).await;
    converged(&sim, &daemon, WITHIN).await;
    let ready = sim.http.get(format!("http://{}/readyz", daemon.addr)).send().await.expect("GET /readyz");
    assert_eq!(ready.status(), 200);
    assert!(daemon.exited().is_none());
}

/// What systemd hears on `NOTIFY_SOCKET`: READY=1 at start, WATCHDOG=1 at
/// half of `WATCHDOG_USEC` while the parts beat, RELOADING=1 (with
/// MONOTONIC_USEC) then READY=1 around a reload, and pings after it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn systemd_hears_ready_reloading_and_watchdog_pings() {
    let sim = Sim::start_as("alice").await;
    let state = tempfile::tempdir().expect("tempdir");
    let path = state.path().join("notify.sock");
    let socket = tokio::net::UnixDatagram::bind(&path).expect("notify socket");
    let heard = std::sync::Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let kept = heard.clone();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        while let Ok(n) = socket.recv(&mut buf).await {
            let text = String::from_utf8_lossy(&buf[..n]).to_string();
            kept.lock().expect("heard").extend(text.lines().map(String::from));
        }
    });
    let socket_var = path.display().to_string();
    let env = [("NOTIFY_SOCKET", socket_var.as_str()), ("WATCHDOG_USEC", "400000")];
    let daemon = Jirafed::start_with_env(&sim, state.path(), None, &env).await;
    let position = |from: usize, line: &str| {
        let heard = heard.lock().expect("heard");
        heard.iter().skip(from).position(|l| l == line).map(|i| i + from)
    };
    let ready = wait_until(WITHIN, "READY=1 then two pings", || async {
        let ready = position(0, "READY=1")?;
        let ping = position(ready, "WATCHDOG=1")?;
        position(ping + 1, "WATCHDOG=1").map(|_| ready)
    })
    .await;

    daemon.hup();
    reloaded(&sim, &daemon, 1).await;
    wait_until(WITHIN, "RELOADING=1, READY=1, then a ping", || async {
        let reloading = position(ready + 1, "RELOADING=1")?;
        let ready = position(reloading, "READY=1")?;
        position(ready, "WATCHDOG=1")
    })
    .await;
    let lines = heard.lock().expect("heard").clone();
    assert!(lines.iter().any(|l| l.starts_with("MONOTONIC_USEC=")), "{lines:?}");
    assert!(lines.iter().any(|l| l == "STATUS=reloading"), "{lines:?}");
}

/// A daemon embedded without `jirafed run`'s loop (the demo, tests) refuses
/// an admin reload at once instead of leaving the caller waiting.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_embedded_daemon_refuses_an_admin_reload_at_once() {
    let world = World::start("1s").await;
    let socket = world.daemon().config().daemon.admin_socket.clone();
    let asked = jirafed::admin::call(&socket, &jirafed::admin::Request::Reload);
    let answer = tokio::time::timeout(Duration::from_secs(5), asked).await.expect("answered at once");
    let err = answer.expect_err("refused");
    assert!(err.to_string().contains("only `jirafed run`"), "{err}");
}
