//! `jirafed import FLOW`: mirrors a flow's existing issues. Through the
//! running daemon's admin socket when one answers (one writer per site),
//! otherwise on the state file with the planner and writers run here until
//! the import is written. Shows a progress bar on a terminal and plain
//! progress lines otherwise (on stderr), and ends with a summary table (on
//! stdout).

use std::fmt::Write as _;
use std::io::IsTerminal;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressStyle};
use tokio_util::sync::CancellationToken;

use super::ImportArgs;
use super::pairing::{ask_daemon, standalone};
use crate::admin::{Request, call};
use crate::sync::Engine;
use crate::sync::import::{self, Entry, ImportRequest, Plan, Progress, Verdict};

/// How often progress is looked at.
const POLL: Duration = Duration::from_millis(250);
/// How often a plain progress line is printed.
const LINE_EVERY: Duration = Duration::from_secs(2);
/// A standalone import waits this long for writes that make no progress
/// (a site down) before it leaves them to `jirafed run`.
const DRAIN_PATIENCE: Duration = Duration::from_secs(30);

/// Runs `jirafed import`; returns what to print.
pub async fn run(config: &Path, args: ImportArgs) -> anyhow::Result<String> {
    let req = ImportRequest {
        flow: args.flow,
        jql: args.jql,
        dry_run: args.dry_run,
        limit: args.limit,
        match_field: args.match_field,
    };
    let socket = args.socket.as_deref();
    if let Some(answer) =
        ask_daemon::<serde_json::Value>(config, socket, &Request::Import(req.clone()), "import").await?
    {
        let plan: Plan = serde_json::from_value(answer["plan"].clone())?;
        let Some(id) = answer["id"].as_u64() else { return Ok(render_plan(&plan, true)) };
        eprint!("{}", render_plan(&plan, false));
        let path = super::admin_socket(config, socket)?;
        let progress = watch(|| async {
            let reply = call(&path, &Request::ImportProgress { id }).await?;
            Ok(serde_json::from_value(reply["progress"].clone())?)
        })
        .await?;
        return finished(&plan, &progress, "the daemon writes what is left of it");
    }
    standalone(config, |engine| async move { run_here(engine, req).await }).await
}

/// The import on the state file, with the planner and writers run here.
async fn run_here(engine: Arc<Engine>, req: ImportRequest) -> anyhow::Result<String> {
    let plan = import::plan(&engine, &req).await?;
    if req.dry_run {
        return Ok(render_plan(&plan, true));
    }
    eprint!("{}", render_plan(&plan, false));
    let cancel = CancellationToken::new();
    let mut tasks = engine.spawn_writing(&cancel);
    let shared = Arc::new(Mutex::new(Progress::default()));
    tokio::spawn(import::execute(engine.clone(), plan.clone(), shared.clone()));
    let progress = watch(|| async { Ok(shared.lock().expect("import progress").clone()) }).await?;
    // Links and statuses of what was made are written before stopping.
    let left = drain(&engine).await;
    cancel.cancel();
    while tasks.join_next().await.is_some() {}
    let after = match left {
        0 => "everything is written".to_string(),
        n => format!("{n} write(s) still queued: `jirafed run` makes them"),
    };
    finished(&plan, &progress, &after)
}

/// The summary table; an error (exit 1) when the import stopped or some
/// issues were not mirrored.
fn finished(plan: &Plan, progress: &Progress, after: &str) -> anyhow::Result<String> {
    let text = render_done(plan, progress, after);
    if progress.error.is_some() || !progress.failed.is_empty() {
        anyhow::bail!("{text}");
    }
    Ok(text)
}

/// Shows progress until the import is finished; its last progress.
async fn watch<F, Fut>(mut read: F) -> anyhow::Result<Progress>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<Progress>>,
{
    let bar = std::io::stderr().is_terminal().then(|| {
        let bar = ProgressBar::new(0);
        let style = ProgressStyle::with_template("{bar:40} {pos}/{len} issues  {per_sec}  ETA {eta}  {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar());
        bar.set_style(style);
        bar
    });
    let started = Instant::now();
    let mut last_line: Option<Instant> = None;
    loop {
        let p = read().await?;
        match &bar {
            Some(bar) => {
                bar.set_length(p.total() as u64);
                bar.set_position(p.done() as u64);
                bar.set_message(format!("{} failed", p.failed.len()));
            }
            None if last_line.is_none_or(|t| t.elapsed() >= LINE_EVERY) || p.finished => {
                eprintln!("{}", progress_line(&p, started.elapsed()));
                last_line = Some(Instant::now());
            }
            None => {}
        }
        if p.finished {
            if let Some(bar) = &bar {
                bar.finish();
            }
            return Ok(p);
        }
        tokio::time::sleep(POLL).await;
    }
}

/// `import: 500/2000 issues (25%), 41.7/s, about 36 s left, 0 failed`.
fn progress_line(p: &Progress, elapsed: Duration) -> String {
    let (done, total) = (p.done(), p.total());
    let percent = (done * 100).checked_div(total).unwrap_or(100);
    let rate = done as f64 / elapsed.as_secs_f64().max(0.001);
    let left = if rate > 0.0 && done < total {
        format!(", about {} s left", ((total - done) as f64 / rate).ceil())
    } else {
        String::new()
    };
    format!("import: {done}/{total} issues ({percent}%), {rate:.1}/s{left}, {} failed", p.failed.len())
}

/// Waits until nothing is queued to plan or write, or nothing has moved
/// for [`DRAIN_PATIENCE`]; the writes still queued.
async fn drain(engine: &Engine) -> u64 {
    let queued = || {
        let inbox = engine.store.inbox_depth().unwrap_or(0);
        let outbox: u64 =
            engine.config.instances.keys().map(|i| engine.store.outbox_depth(i.as_str()).unwrap_or(0)).sum();
        inbox + outbox
    };
    let mut last = queued();
    let mut since = Instant::now();
    while last > 0 && since.elapsed() < DRAIN_PATIENCE {
        tokio::time::sleep(POLL).await;
        let now = queued();
        if now != last {
            since = Instant::now();
        }
        last = now;
    }
    last
}

/// The plan: every entry (`all`), or the pairs and skips only (the creates
/// are counted), then the counts.
fn render_plan(plan: &Plan, all: bool) -> String {
    let mut out = String::new();
    let what = if plan.dry_run { " (dry run: nothing is written)" } else { "" };
    let _ = writeln!(out, "import of flow {}{what}", plan.flow);
    for e in plan.entries.iter().filter(|e| all || e.verdict != Verdict::Create) {
        let _ = writeln!(out, "  {}", entry_line(e));
    }
    let rows = [
        ("to create", plan.count(Verdict::Create).to_string()),
        ("to pair", pairs_count(plan)),
        ("to skip", plan.count(Verdict::Skip).to_string()),
        ("beyond --limit", plan.beyond_limit.to_string()),
    ];
    out.push_str(&table(&rows));
    out
}

fn pairs_count(plan: &Plan) -> String {
    let guesses = plan.entries.iter().filter(|e| e.guess).count();
    match guesses {
        0 => plan.count(Verdict::Pair).to_string(),
        n => format!("{} ({n} by equal summaries: guesses to review)", plan.count(Verdict::Pair)),
    }
}

/// `create  EMEA-12 (emea)  "Payments"`, `pair  EMEA-5 (emea)  with PORT-9: provenance mark`.
fn entry_line(e: &Entry) -> String {
    let verdict = match (e.verdict, e.guess) {
        (Verdict::Create, _) => "create",
        (Verdict::Pair, false) => "pair",
        (Verdict::Pair, true) => "guess",
        (Verdict::Skip, _) => "skip",
    };
    let issue = format!("{} ({})", e.key, e.instance);
    let mut line = format!("{verdict:<7}{issue:<24}");
    match (&e.with, e.verdict) {
        (Some(w), Verdict::Pair) => {
            let _ = write!(line, "with {w}: {}", e.why);
        }
        (Some(w), _) => {
            let _ = write!(line, "{w}: {}", e.why);
        }
        (None, _) if !e.why.is_empty() => line.push_str(&e.why),
        (None, _) => {
            let _ = write!(line, "{:?}", e.summary);
        }
    }
    line.trim_end().to_string()
}

/// The summary table at the end, the failures above it.
fn render_done(plan: &Plan, p: &Progress, after: &str) -> String {
    let mut out = String::new();
    for f in &p.failed {
        let _ = writeln!(out, "failed {}: {}", f.key, f.error);
    }
    match &p.error {
        Some(e) => {
            let _ = writeln!(out, "import of flow {} stopped: {e}; run it again to go on", plan.flow);
        }
        None => {
            let _ = writeln!(out, "import of flow {} done; {after}", plan.flow);
        }
    }
    let rows = [
        ("created", format!("{} of {}", p.created, p.to_create)),
        ("paired", format!("{} of {}", p.paired, p.to_pair)),
        ("skipped", plan.count(Verdict::Skip).to_string()),
        ("failed", p.failed.len().to_string()),
        ("beyond --limit", plan.beyond_limit.to_string()),
    ];
    out.push_str(&table(&rows));
    out
}

fn table(rows: &[(&str, String)]) -> String {
    let width = rows.iter().map(|(k, _)| k.len()).max().unwrap_or(0);
    let mut out = String::new();
    for (k, v) in rows {
        let _ = writeln!(out, "  {k:<width$}  {v}");
    }
    out
}
