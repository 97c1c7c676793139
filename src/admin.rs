//! Mutating admin actions over a Unix socket (`daemon.admin_socket`), which
//! the CLI uses: list, retry and drop dead letters; check the state file and
//! back it up while the daemon holds it; reload the configuration (answered
//! once the reload is done); pair two issues by hand and sever a pair;
//! reconcile now. One JSON request per
//! connection, one JSON answer. The socket is made 0600: whoever can reach
//! it can change what the daemon does. A request is one line of at most
//! [`MAX_REQUEST_BYTES`], sent within `daemon.admin_timeout`; otherwise the
//! answer is an error and the connection is closed.

use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;

use crate::current::Current;
use crate::observe::parts::ReloadRecord;
use crate::observe::status::rfc3339;
use crate::store::{Op, OpResult};
use crate::sync::Engine;
use crate::sync::import::{self, ImportRequest, Imports};
use crate::sync::job::Job;
use crate::sync::pairing::{self, LinkRequest};
use crate::sync::reconcile::{self, Only};

/// The largest admin request read; the requests are a few dozen bytes.
pub const MAX_REQUEST_BYTES: u64 = 64 * 1024;

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum Request {
    DeadLetters,
    Retry {
        id: u64,
    },
    RetryAll,
    Drop {
        id: u64,
    },
    /// Check the open state file (`jirafed state check`).
    StateCheck,
    /// Write a consistent copy of the state file (`jirafed state backup`).
    StateBackup {
        file: std::path::PathBuf,
        force: bool,
    },
    /// Reads the config file again and applies it, as SIGHUP does.
    Reload,
    /// Pair two existing issues (`jirafed link`).
    Link(LinkRequest),
    /// Sever the pair holding an issue key (`jirafed unlink`).
    Unlink {
        key: String,
    },
    /// Check pairs against both sites now (`jirafed resync`): every pair,
    /// a flow's (`target` names a flow), or one pair (an issue key).
    Resync {
        target: Option<String>,
    },
    /// Plan an import of a flow's existing issues and, unless a dry run,
    /// start it (`jirafed import`); answers the plan and the import's id.
    Import(ImportRequest),
    /// How far import `id` has got.
    ImportProgress {
        id: u64,
    },
    /// The `/status` document (`jirafed status`).
    Status,
    /// Writes to `instance` wait from now, across restarts (`jirafed pause`).
    Pause {
        instance: String,
    },
    /// Writes to `instance` go on (`jirafed resume`).
    Resume {
        instance: String,
    },
    /// The audit log, newest first (`jirafed audit`): at most `limit`
    /// records, of the last `since_seconds` when given, about `issue` (a
    /// key of either side, or of the change that caused the write) and in
    /// `flow` when given.
    Audit {
        #[serde(default)]
        issue: Option<String>,
        #[serde(default)]
        flow: Option<String>,
        #[serde(default)]
        since_seconds: Option<u64>,
        limit: usize,
    },
}

/// Where a reload asked over the socket is answered, by `jirafed run`.
pub type ReloadReply = oneshot::Sender<ReloadRecord>;

/// How the socket hands reloads over: to whoever takes them, once someone
/// does (`jirafed run`'s loop; a daemon embedded in the demo or a test takes
/// none, and a reload asked of it is refused at once).
#[derive(Clone)]
pub struct ReloadAsks {
    pub sender: mpsc::Sender<ReloadReply>,
    /// Set once a loop waits for reloads.
    pub taken: Arc<AtomicBool>,
}

/// How long a reload request waits for its answer (connecting every site
/// and draining the running writes).
const RELOAD_ANSWER_WITHIN: Duration = Duration::from_secs(300);

/// Binds the socket (replacing a stale one) and serves until cancelled.
pub fn bind(path: &Path) -> anyhow::Result<UnixListener> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| anyhow::anyhow!("admin socket folder {}: {e}", dir.display()))?;
    }
    if path.exists() {
        std::fs::remove_file(path).map_err(|e| anyhow::anyhow!("stale admin socket {}: {e}", path.display()))?;
    }
    let listener = UnixListener::bind(path).map_err(|e| anyhow::anyhow!("admin socket {}: {e}", path.display()))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))?;
    }
    Ok(listener)
}

/// Serves until cancelled. Requests act on the engine running when they
/// arrive; a reload is handed to `jirafed run` through `reloads`.
pub async fn serve(
    listener: UnixListener,
    engine: Arc<Current<Engine>>,
    reloads: ReloadAsks,
    cancel: CancellationToken,
) {
    // Imports started over the socket, for their progress to be asked.
    let imports = Arc::new(Imports::default());
    loop {
        let stream = tokio::select! {
            _ = cancel.cancelled() => return,
            accepted = listener.accept() => match accepted {
                Ok((s, _)) => s,
                Err(e) => {
                    tracing::warn!(error = %e, "admin socket accept failed");
                    continue;
                }
            },
        };
        let (engine, reloads, imports) = (engine.get(), reloads.clone(), imports.clone());
        let timeout = engine.config.daemon.admin_timeout;
        tokio::spawn(async move {
            if let Err(e) = answer(stream, &engine, &reloads, &imports, timeout).await {
                tracing::warn!(error = %e, "admin request failed");
            }
        });
    }
}

async fn answer(
    stream: UnixStream,
    engine: &Arc<Engine>,
    reloads: &ReloadAsks,
    imports: &Imports,
    timeout: Duration,
) -> anyhow::Result<()> {
    let (read, mut write) = stream.into_split();
    let reply = match read_request(read, timeout).await {
        Ok(line) => match serde_json::from_str::<Request>(&line) {
            Ok(Request::Reload) => reload(reloads).await.unwrap_or_else(|e| json!({"error": format!("{e:#}")})),
            Ok(Request::Import(req)) => {
                start_import(engine, imports, &req).await.unwrap_or_else(|e| json!({"error": format!("{e:#}")}))
            }
            Ok(Request::ImportProgress { id }) => match imports.progress(id) {
                Some(p) => json!({"progress": p}),
                None => json!({"error": format!("no import {id} is known to this daemon")}),
            },
            Ok(req) => handle(engine, req).await.unwrap_or_else(|e| json!({"error": format!("{e:#}")})),
            Err(e) => json!({"error": format!("bad request: {e}")}),
        },
        Err(refused) => {
            tracing::warn!(reason = %refused, "admin request refused");
            json!({"error": refused})
        }
    };
    write.write_all(format!("{reply}\n").as_bytes()).await?;
    Ok(())
}

/// One request line, or why it was refused: too large, too slow, unreadable.
async fn read_request(read: impl tokio::io::AsyncRead + Unpin, timeout: Duration) -> Result<String, String> {
    let mut line = Vec::new();
    let mut bounded = BufReader::new(read.take(MAX_REQUEST_BYTES + 1));
    match tokio::time::timeout(timeout, bounded.read_until(b'\n', &mut line)).await {
        Err(_) => return Err(format!("request not received within {}", humantime::format_duration(timeout))),
        Ok(Err(e)) => return Err(format!("request could not be read: {e}")),
        Ok(Ok(_)) => {}
    }
    if line.len() as u64 > MAX_REQUEST_BYTES {
        return Err(format!("request larger than {MAX_REQUEST_BYTES} bytes"));
    }
    String::from_utf8(line).map_err(|_| "request is not UTF-8".to_string())
}

/// Plans an import and, unless a dry run, starts it beside the engine.
async fn start_import(engine: &Arc<Engine>, imports: &Imports, req: &ImportRequest) -> anyhow::Result<Value> {
    let plan = import::plan(engine, req).await?;
    let id = if req.dry_run { None } else { Some(imports.start(engine.clone(), plan.clone())?) };
    Ok(json!({"import": {"id": id, "plan": plan}}))
}

async fn reload(reloads: &ReloadAsks) -> anyhow::Result<Value> {
    if !reloads.taken.load(Ordering::Relaxed) {
        anyhow::bail!("this daemon does not take reloads (only `jirafed run` does)");
    }
    let (reply, answer) = oneshot::channel();
    reloads.sender.send(reply).await.map_err(|_| anyhow::anyhow!("this daemon does not take reloads"))?;
    let record = tokio::time::timeout(RELOAD_ANSWER_WITHIN, answer)
        .await
        .map_err(|_| anyhow::anyhow!("the reload did not finish within {} s", RELOAD_ANSWER_WITHIN.as_secs()))?
        .map_err(|_| anyhow::anyhow!("this daemon does not take reloads"))?;
    Ok(json!({"outcome": record.outcome.as_str(), "errors": record.errors, "at": rfc3339(record.at_ms)}))
}

fn describe(d: &crate::store::DeadLetter) -> Value {
    let job = Job::from_bytes(&d.entry.payload);
    json!({
        "id": d.id,
        "instance": d.entry.instance,
        "target": job.as_ref().and_then(|j| j.target_key.clone()).unwrap_or_else(|| d.entry.target.clone()),
        "flow": job.as_ref().map(|j| j.flow.clone()),
        "op": job.as_ref().map(|j| j.action.name()),
        "error": d.error,
        "at": chrono::DateTime::from_timestamp_millis(d.at_ms).map(|t| t.to_rfc3339()),
    })
}

async fn handle(engine: &Engine, req: Request) -> anyhow::Result<Value> {
    let store = &engine.store;
    let now_ms = || engine.now_ms();
    let result = match req {
        Request::Status => {
            let doc = crate::observe::status::snapshot(&engine.observer.board, store, now_ms());
            return Ok(json!({"status": doc}));
        }
        Request::Audit { issue, flow, since_seconds, limit } => {
            let since_ms = since_seconds.map_or(i64::MIN, |s| {
                now_ms().saturating_sub(i64::try_from(s).unwrap_or(i64::MAX).saturating_mul(1000))
            });
            let keep = |e: &crate::store::AuditEntry| {
                crate::observe::audit::matches(&e.payload, issue.as_deref(), flow.as_deref())
            };
            let found = store.audit_newest(since_ms, limit, &keep)?;
            let records: Vec<Value> = found
                .iter()
                .map(|e| {
                    let record = serde_json::from_slice::<Value>(&e.payload).unwrap_or(Value::Null);
                    json!({"seq": e.seq, "at": rfc3339(e.at_ms), "record": record})
                })
                .collect();
            return Ok(json!({"audit": records, "kept": store.audit_len()?}));
        }
        Request::Pause { instance } => return pause(engine, &instance, true).await,
        Request::Resume { instance } => return pause(engine, &instance, false).await,
        Request::DeadLetters => {
            return Ok(json!({"dead_letters": store.dead_letters()?.iter().map(describe).collect::<Vec<_>>()}));
        }
        Request::Retry { id } => store.commit(vec![Op::DeadLetterRetry { id, now_ms: now_ms() }]).await?,
        Request::RetryAll => {
            let ops: Vec<Op> =
                store.dead_letters()?.iter().map(|d| Op::DeadLetterRetry { id: d.id, now_ms: now_ms() }).collect();
            let n = ops.len();
            store.commit(ops).await?;
            engine.wake.all_writers();
            return Ok(json!({"retried": n}));
        }
        Request::Drop { id } => store.commit(vec![Op::DeadLetterDrop { id }]).await?,
        Request::StateCheck => {
            let store = store.clone();
            let report = tokio::task::spawn_blocking(move || store.check_live()).await??;
            return Ok(json!({"check": serde_json::to_value(report)?}));
        }
        Request::StateBackup { file, force } => {
            let store = store.clone();
            // The copy reads a snapshot and writes a file: off the runtime.
            let report = tokio::task::spawn_blocking(move || store.backup(&file, force)).await??;
            tracing::info!(file = %report.file.display(), bytes = report.bytes, "state backup written");
            return Ok(json!({"backup": serde_json::to_value(report)?}));
        }
        Request::Reload | Request::Import(_) | Request::ImportProgress { .. } => {
            anyhow::bail!("answered before the engine's requests")
        }
        Request::Link(req) => return Ok(json!({"linked": pairing::link(engine, &req).await?})),
        Request::Unlink { key } => return Ok(json!({"unlinked": pairing::unlink(engine, &key).await?})),
        Request::Resync { target } => return Ok(json!({"resync": resync(engine, target.as_deref()).await?})),
    };
    engine.wake.all_writers();
    match result.first() {
        Some(OpResult::NotFound) => anyhow::bail!("no such dead letter"),
        _ => Ok(json!({"ok": true})),
    }
}

async fn resync(engine: &Engine, target: Option<&str>) -> anyhow::Result<reconcile::Report> {
    match target {
        None => reconcile::pass(engine, &Only::All, true).await,
        Some(flow) if engine.flows.get(flow).is_some() => reconcile::pass(engine, &Only::Flow(flow.into()), true).await,
        Some(key) => {
            let pair = pairing::pair_holding(engine, key)
                .map_err(|e| anyhow::anyhow!("{key} is not a flow of the config, and {e}"))?;
            reconcile::resync_pair(engine, &pair).await
        }
    }
}

/// Sends one request to a running daemon.
pub async fn call(path: &Path, req: &Request) -> anyhow::Result<Value> {
    let stream = UnixStream::connect(path).await.map_err(|e| {
        anyhow::anyhow!("cannot reach the daemon at {}: {e} (is `jirafed run` running?)", path.display())
    })?;
    let (read, mut write) = stream.into_split();
    write.write_all(format!("{}\n", serde_json::to_string(req)?).as_bytes()).await?;
    let mut line = String::new();
    BufReader::new(read).read_line(&mut line).await?;
    let v: Value = serde_json::from_str(&line)?;
    if let Some(e) = v.get("error").and_then(Value::as_str) {
        anyhow::bail!("{e}");
    }
    Ok(v)
}

/// Pauses or resumes writes to `instance`; what it is now and what waits.
async fn pause(engine: &Engine, instance: &str, pause: bool) -> anyhow::Result<Value> {
    if engine.config.instance(instance).is_none() {
        let names: Vec<&str> = engine.config.instances.keys().map(|i| i.as_str()).collect();
        anyhow::bail!("no instance named {instance:?} in the config (instances: {})", names.join(", "));
    }
    let store = &engine.store;
    let was = store.paused_since(instance)?;
    let op = if pause {
        Op::PauseSet { instance: instance.to_string(), since_ms: engine.now_ms() }
    } else {
        Op::PauseClear { instance: instance.to_string() }
    };
    store.commit(vec![op]).await?;
    if pause {
        tracing::warn!(instance, "writes paused by hand (jirafed pause); changes queue until jirafed resume");
    } else {
        tracing::info!(instance, "writes resumed (jirafed resume)");
        engine.wake.writer(instance);
    }
    let since = store.paused_since(instance)?;
    Ok(json!({"pause": {
        "instance": instance,
        "paused": since.is_some(),
        "was_paused": was.is_some(),
        "since": since.and_then(crate::observe::status::rfc3339),
        "queued": store.outbox_depth(instance)?,
    }}))
}

#[cfg(test)]
mod tests {
    use super::*;

    const WAIT: Duration = Duration::from_secs(5);

    async fn read(bytes: &[u8], close: bool) -> Result<String, String> {
        let (mut client, server) = tokio::io::duplex(256 * 1024);
        client.write_all(bytes).await.unwrap();
        if close {
            drop(client);
            read_request(server, WAIT).await
        } else {
            // The client stays connected and silent.
            let got = read_request(server, WAIT).await;
            drop(client);
            got
        }
    }

    #[tokio::test]
    async fn a_request_line_is_read_up_to_the_limit() {
        assert_eq!(read(b"{\"op\":\"dead_letters\"}\n", false).await.unwrap(), "{\"op\":\"dead_letters\"}\n");
        let just = vec![b' '; usize::try_from(MAX_REQUEST_BYTES).unwrap()];
        assert_eq!(read(&just, true).await.unwrap().len(), just.len());
        let over = vec![b' '; usize::try_from(MAX_REQUEST_BYTES).unwrap() + 1];
        assert_eq!(read(&over, false).await.unwrap_err(), "request larger than 65536 bytes");
        assert_eq!(read(&[0xff, b'\n'], false).await.unwrap_err(), "request is not UTF-8");
    }

    #[tokio::test(start_paused = true)]
    async fn a_silent_client_is_given_up_after_the_timeout() {
        let (_client, server) = tokio::io::duplex(1024);
        let got = read_request(server, Duration::from_secs(5)).await;
        assert_eq!(got.unwrap_err(), "request not received within 5s");
    }
}
