//! Every command line shown in `README.md` and `docs/*.md` is run, and must
//! not fail (the project's acceptance rule). The docs are read when the test
//! runs, so a command added to a doc later is run too.
//!
//! **Which lines.** The commands of every ```` ```sh ````, ```` ```bash ````
//! and ```` ```console ```` block, read as `sh` would (see [`shell`]):
//! `\` continuations joined, comments dropped, a `for ... done` loop kept
//! whole. Blocks of other languages are not commands; an unlabelled block
//! that looks like commands fails the test, so that none escapes it by
//! missing its label. The synopses of `docs/operations.md`'s command table
//! are expanded into every variant they stand for and parsed with
//! [`Cli`] (see [`synopsis`]).
//!
//! **Where.** Each block gets a fresh folder holding a symlink to every
//! top-level entry of the repository, and its commands run there, in
//! order, through `sh -c`: paths such as `config/jirafed.example.toml` and
//! `tests/it/fixtures/...` resolve as in a checkout, and what a line writes
//! (`> world.toml`) lands in the folder, not in the repository. What the
//! test itself needs (the demo config, state, credentials, `TMPDIR`, the
//! output logs) lives in a second folder the commands are not run in.
//!
//! **How.** The built binary is `jirafed` on `PATH`. The substitutions, each
//! justified where it is made, are in [`Folders::substitute`]. A long-running
//! command (`jirafed run`, `jirafed sim`, `jirafed demo` without `--once`)
//! must print its ready line within [`READY_WITHIN`]; it keeps running while
//! the rest of its block runs (so `jirafed dead-letters list` talks to the
//! `jirafed run` above it) and must still be running at the block's end,
//! when it gets SIGTERM. Every other command must exit 0 within
//! [`EXIT_WITHIN`]. `cargo test` is this suite; `cargo bench` is checked
//! without being run (see [`check_bench`]).

mod rewrite;
mod shell;
mod synopsis;

use std::collections::BTreeMap;
use std::fs::File;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use clap::Parser;
use jirafed::cli::Cli;
use jirafed::harness::{self, Settings};
use jirafed::sim::world::DEFAULT_PORT_BASE;
use jirafed::sim::{Simulator, default_world};
use tempfile::TempDir;

use self::rewrite::{curl_fails_on_errors, free_ports_for_sim, port_base_zero};
use self::shell::{Command, Simple};
use super::support::Sim;

/// How long a long-running command may take to print its ready line (the
/// demo's story takes a few seconds).
const READY_WITHIN: Duration = Duration::from_secs(60);
/// How long any other command may take to exit.
const EXIT_WITHIN: Duration = Duration::from_secs(60);
/// How long a long-running command may take to stop on SIGTERM (the
/// daemon drains within `daemon.shutdown_timeout`).
const STOP_WITHIN: Duration = Duration::from_secs(30);
/// How often a running command is looked at.
const POLL: Duration = Duration::from_millis(20);
/// The config path the docs show; the test puts the demo config in its place.
const ETC_CONFIG: &str = "/etc/jirafed/jirafed.toml";
/// The credentials folder the README's example check creates.
const TMP_CREDS: &str = "/tmp/creds";
/// The doc whose table synopses are parsed.
const COMMAND_TABLE: &str = "docs/operations.md";

#[test]
fn every_command_line_in_the_docs_runs() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().expect("runtime");
    let sim = rt.block_on(Sim::start());
    let bin = TempDir::new().expect("tempdir");
    std::os::unix::fs::symlink(env!("CARGO_BIN_EXE_jirafed"), bin.path().join("jirafed")).expect("symlink");
    let path = std::env::join_paths(
        std::iter::once(bin.path().to_path_buf())
            .chain(std::env::var_os("PATH").iter().flat_map(std::env::split_paths)),
    )
    .expect("PATH");
    let run = Run { root, sim: &sim.sim, path: path.into_string().expect("PATH is UTF-8"), report: Report::default() };
    let report = run.all_docs();
    rt.block_on(sim.sim.shutdown());
    for (kind, n) in &report.counts {
        eprintln!("{n:>3}  {kind}");
    }
    assert!(
        report.failures.is_empty(),
        "{} doc command(s) failed:\n\n{}",
        report.failures.len(),
        report.failures.join("\n\n")
    );
}

/// What was run, per kind, and what failed, each failure a paragraph.
#[derive(Default)]
struct Report {
    counts: BTreeMap<String, usize>,
    failures: Vec<String>,
}

impl Report {
    fn count(&mut self, kind: impl Into<String>) {
        *self.counts.entry(kind.into()).or_default() += 1;
    }

    /// A failure naming the doc's line as written, the command as run, the
    /// problem and the output.
    fn fail(&mut self, doc: &str, cmd: &Command, ran: Option<&str>, problem: &str, output: &str) {
        let mut s = format!("{doc}:{}: {problem}\n  as written: {}", cmd.line, cmd.written.trim());
        if let Some(ran) = ran {
            s.push_str(&format!("\n  as run:     {ran}"));
        }
        if !output.trim().is_empty() {
            s.push_str(&format!("\n  output:\n{}", indent(output)));
        }
        self.failures.push(s);
    }
}

fn indent(text: &str) -> String {
    text.lines().map(|l| format!("    | {l}")).collect::<Vec<_>>().join("\n")
}

struct Run<'a> {
    root: &'a Path,
    sim: &'a Simulator,
    /// `PATH` with the built binary first.
    path: String,
    report: Report,
}

impl Run<'_> {
    fn all_docs(mut self) -> Report {
        let mut docs = vec!["README.md".to_string()];
        let mut more: Vec<String> = std::fs::read_dir(self.root.join("docs"))
            .expect("docs/")
            .filter_map(|e| e.ok()?.file_name().into_string().ok())
            .filter(|n| n.ends_with(".md"))
            .map(|n| format!("docs/{n}"))
            .collect();
        more.sort();
        docs.extend(more);
        let mut shell_blocks = 0;
        for doc in &docs {
            let text = std::fs::read_to_string(self.root.join(doc)).unwrap_or_else(|e| panic!("{doc}: {e}"));
            for block in shell::blocks(doc, &text) {
                if block.is_shell() {
                    shell_blocks += 1;
                    self.block(&block);
                } else if block.lang.is_empty() && looks_like_commands(&block) {
                    let problem = "an unlabelled code block that looks like commands: label it ```sh (run by this test) or ```text";
                    let first = Command { line: block.line, written: block.lines.join("\n"), text: String::new() };
                    self.report.fail(doc, &first, None, problem, "");
                }
            }
        }
        assert!(shell_blocks > 0, "no ```sh block found in {docs:?}");
        self.synopses();
        self.report
    }

    /// Runs a block's commands in order in a fresh folder; the long-running
    /// ones are stopped at its end.
    fn block(&mut self, block: &shell::Block) {
        let dir = Folders::new(self);
        let mut running: Vec<(Command, String, Proc)> = Vec::new();
        for (n, cmd) in shell::commands(block).into_iter().enumerate() {
            let (ran, demo_config) = dir.substitute(self, &cmd.text);
            let simple = shell::simple_commands(&ran);
            if let Some(cargo) = simple.iter().find(|s| s.program() == "cargo") {
                self.cargo(&block.doc, &cmd, cargo);
                continue;
            }
            let log = dir.own.path().join(format!("output-{n}.log"));
            let mut proc = match dir.spawn(self, &ran, demo_config, &log) {
                Ok(p) => p,
                Err(e) => {
                    self.report.fail(&block.doc, &cmd, Some(&ran), &format!("cannot start sh: {e}"), "");
                    continue;
                }
            };
            match simple.iter().rev().find_map(ready_line) {
                Some((what, marker)) => match proc.wait_ready(marker) {
                    Ok(()) => {
                        self.report.count(format!("long-running until ready, then stopped: {what}"));
                        running.push((cmd, ran, proc));
                    }
                    Err(problem) => self.report.fail(&block.doc, &cmd, Some(&ran), &problem, &proc.output()),
                },
                None => match proc.wait_exit() {
                    Ok(()) => {
                        self.report.count(format!("ran to exit 0: {}", simple.first().map_or("", Simple::program)))
                    }
                    Err(problem) => self.report.fail(&block.doc, &cmd, Some(&ran), &problem, &proc.output()),
                },
            }
        }
        for (cmd, ran, mut proc) in running.into_iter().rev() {
            if let Err(problem) = proc.stop() {
                self.report.fail(&block.doc, &cmd, Some(&ran), &problem, &proc.output());
            }
        }
    }

    /// `cargo test` is this suite; `cargo bench` is checked statically;
    /// any other cargo command is not known to this test.
    fn cargo(&mut self, doc: &str, cmd: &Command, cargo: &Simple) {
        match cargo.args().first().map(String::as_str) {
            // The suite itself: running it here would run this test again.
            Some("test") => self.report.count("cargo test: the suite itself, counted as run"),
            Some("bench") => match check_bench(self.root, cargo) {
                Ok(()) => self.report.count("cargo bench: checked (a [[bench]], its variables read), not run"),
                Err(problem) => self.report.fail(doc, cmd, None, &problem, ""),
            },
            _ => self.report.fail(doc, cmd, None, "a cargo command this test does not know how to run: teach it", ""),
        }
    }

    /// Every variant of every synopsis in the command table parses.
    fn synopses(&mut self) {
        let text = std::fs::read_to_string(self.root.join(COMMAND_TABLE)).expect(COMMAND_TABLE);
        let found = synopsis::in_tables(&text, "jirafed");
        assert!(!found.is_empty(), "no `jirafed ...` synopsis in the tables of {COMMAND_TABLE}");
        for s in found {
            let as_command = Command { line: s.line, written: s.text.clone(), text: s.text.clone() };
            let lines = match synopsis::expand(&s.text) {
                Ok(lines) => lines,
                Err(problem) => {
                    self.report.fail(COMMAND_TABLE, &as_command, None, &problem, "");
                    continue;
                }
            };
            for line in lines {
                match Cli::try_parse_from(&line) {
                    Ok(_) => self.report.count("synopsis variant parsed"),
                    Err(e)
                        if matches!(
                            e.kind(),
                            clap::error::ErrorKind::DisplayHelp | clap::error::ErrorKind::DisplayVersion
                        ) =>
                    {
                        self.report.count("synopsis variant parsed")
                    }
                    Err(e) => {
                        let ran = line.join(" ");
                        self.report.fail(
                            COMMAND_TABLE,
                            &as_command,
                            Some(&ran),
                            "a usage error",
                            &e.render().to_string(),
                        );
                    }
                }
            }
        }
    }
}

/// An unlabelled block with a line that starts like a command.
fn looks_like_commands(block: &shell::Block) -> bool {
    block
        .lines
        .iter()
        .map(|l| l.trim_start())
        .any(|l| l == "jirafed" || ["jirafed ", "cargo ", "curl ", "$ "].iter().any(|p| l.starts_with(p)))
}

/// For a long-running `jirafed` command: what it is, and the line it prints
/// once it serves.
fn ready_line(s: &Simple) -> Option<(String, &'static str)> {
    let args = s.args();
    let has = |flag: &str| args.iter().any(|a| a == flag);
    if s.program() != "jirafed" || has("--help") || has("-h") {
        return None;
    }
    let mut rest = args.iter().map(String::as_str);
    let sub = loop {
        match rest.next()? {
            "--config" | "-c" | "--log-format" | "--log-level" => {
                rest.next();
            }
            a if a.starts_with('-') => {}
            a => break a,
        }
    };
    let marker = match sub {
        "run" => "jirafed running",
        "sim" if !has("--print-config") => "jirafed simulator: serving",
        "demo" if !has("--once") => "Ctrl-C to stop",
        _ => return None,
    };
    Some((format!("jirafed {sub}"), marker))
}

/// A benchmark takes minutes, too long for the suite: the line must name a
/// `[[bench]]` of Cargo.toml, and every variable it sets must be read by
/// that benchmark's source.
fn check_bench(root: &Path, cargo: &Simple) -> Result<(), String> {
    let args = cargo.args();
    let name = args
        .iter()
        .position(|a| a == "--bench")
        .and_then(|i| args.get(i + 1).cloned())
        .or_else(|| args.iter().find_map(|a| a.strip_prefix("--bench=").map(String::from)))
        .ok_or("no `--bench NAME`: it would run every benchmark")?;
    let manifest: toml::Table = std::fs::read_to_string(root.join("Cargo.toml"))
        .map_err(|e| e.to_string())?
        .parse()
        .map_err(|e| format!("Cargo.toml: {e}"))?;
    let benches = manifest.get("bench").and_then(|b| b.as_array()).cloned().unwrap_or_default();
    let bench = benches
        .iter()
        .find(|b| b.get("name").and_then(|n| n.as_str()) == Some(name.as_str()))
        .ok_or_else(|| format!("no [[bench]] named {name} in Cargo.toml"))?;
    let path = bench.get("path").and_then(|p| p.as_str()).map_or_else(|| format!("benches/{name}.rs"), String::from);
    let source = std::fs::read_to_string(root.join(&path)).map_err(|e| format!("{path}: {e}"))?;
    for var in cargo.assignments.iter().filter_map(|a| a.split_once('=').map(|(v, _)| v)) {
        if !source.contains(var) {
            return Err(format!("{var} is set, but {path} never names it"));
        }
    }
    Ok(())
}

/// The folders of one block: `work` where its commands run (the
/// repository's entries linked in), `own` for what the test provides.
struct Folders {
    work: TempDir,
    own: TempDir,
    /// The demo config standing in for [`ETC_CONFIG`], and its overrides.
    config: PathBuf,
    overrides: Vec<(String, String)>,
}

impl Folders {
    fn new(run: &Run) -> Folders {
        let work = TempDir::new().expect("tempdir");
        for entry in std::fs::read_dir(run.root).expect("repository root").flatten() {
            std::os::unix::fs::symlink(entry.path(), work.path().join(entry.file_name())).expect("symlink");
        }
        let own = TempDir::new().expect("tempdir");
        std::fs::create_dir(own.path().join("tmp")).expect("tmp");
        let config = harness::write_config(&own.path().join("etc")).expect("demo config");
        let overrides = harness::overrides(run.sim, &own.path().join("state"), &Settings::poll("5s"));
        Folders { work, own, config, overrides }
    }

    /// The command as run, and whether it uses the demo config.
    fn substitute(&self, run: &Run, text: &str) -> (String, bool) {
        // No cargo inside `cargo test`: the binary cargo would build is the
        // one this test was built with.
        let mut s = text.replace("cargo run --release -- ", "jirafed ").replace("cargo run -- ", "jirafed ");
        // The docs' install path: the demo config, pointed at the test's
        // simulator by its overrides (set in the command's environment).
        let demo_config = s.contains(ETC_CONFIG);
        s = s.replace(ETC_CONFIG, &self.config.display().to_string());
        // A private folder instead of a shared one in /tmp.
        s = s.replace(TMP_CREDS, &self.own.path().join("creds").display().to_string());
        // The simulator's default ports are fixed; the test's simulator
        // serves the same sites on free ones.
        for (site, port) in default_world(DEFAULT_PORT_BASE).sites.iter().map(|s| (&s.name, s.port)) {
            let base = run.sim.site(site).map(|s| s.base_url.clone()).expect("default site");
            s = s.replace(&format!("http://127.0.0.1:{port}"), &base);
        }
        // Fixed ports may be taken; tests use free ones.
        s = free_ports_for_sim(&port_base_zero(&s));
        // curl exits 0 on an HTTP error; the docs' calls are meant to work.
        s = curl_fails_on_errors(&s);
        (s, demo_config)
    }

    fn spawn(&self, run: &Run, text: &str, demo_config: bool, log: &Path) -> std::io::Result<Proc> {
        let out = File::create(log)?;
        let mut cmd = std::process::Command::new("sh");
        cmd.arg("-c").arg(text).current_dir(self.work.path());
        // The test's own environment must not leak into the docs' commands.
        for (key, _) in std::env::vars_os() {
            if key.to_str().is_some_and(|k| k.starts_with("JIRAFED_")) {
                cmd.env_remove(key);
            }
        }
        cmd.env_remove("RUST_LOG").env_remove("CREDENTIALS_DIRECTORY");
        // The demo's world folder goes to the temp dir; a demo stopped by
        // SIGTERM leaves it behind, so here, where it is removed.
        cmd.env("PATH", &run.path).env("TMPDIR", self.own.path().join("tmp"));
        if demo_config {
            cmd.envs(self.overrides.iter().map(|(k, v)| (k, v)));
        }
        cmd.stdin(Stdio::null()).stdout(out.try_clone()?).stderr(out).process_group(0);
        Ok(Proc { child: cmd.spawn()?, log: log.to_path_buf() })
    }
}

/// A command running in its own process group, its output in a file;
/// dropping it kills the group if it still runs.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    /// The output so far, its end when long.
    fn output(&self) -> String {
        const KEEP: usize = 6000;
        let text = String::from_utf8_lossy(&std::fs::read(&self.log).unwrap_or_default()).into_owned();
        match text.char_indices().rev().nth(KEEP) {
            Some((i, _)) => format!("...\n{}", &text[i..]),
            None => text,
        }
    }

    fn exited(&mut self) -> Option<std::process::ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// Waits until `until` holds or `within` has passed.
    fn poll(&mut self, within: Duration, mut until: impl FnMut(&mut Proc) -> bool) -> bool {
        let end = Instant::now() + within;
        loop {
            if until(self) {
                return true;
            }
            if Instant::now() > end {
                return false;
            }
            std::thread::sleep(POLL);
        }
    }

    fn wait_exit(&mut self) -> Result<(), String> {
        if !self.poll(EXIT_WITHIN, |p| p.exited().is_some()) {
            return Err(format!("still running after {} s", EXIT_WITHIN.as_secs()));
        }
        let status = self.exited().expect("exited");
        if status.success() {
            Ok(())
        } else if status.code() == Some(2) && self.output().contains("Usage:") {
            Err(format!("a usage error ({status})"))
        } else {
            Err(format!("failed ({status})"))
        }
    }

    fn wait_ready(&mut self, marker: &str) -> Result<(), String> {
        if self.poll(READY_WITHIN, |p| p.output().contains(marker) || p.exited().is_some()) {
            if self.output().contains(marker) {
                return Ok(());
            }
            let status = self.exited().expect("exited");
            let usage =
                if status.code() == Some(2) && self.output().contains("Usage:") { ": a usage error" } else { "" };
            return Err(format!("exited ({status}) before printing {marker:?}{usage}"));
        }
        Err(format!("no {marker:?} within {} s", READY_WITHIN.as_secs()))
    }

    /// SIGTERM to the group, once the block's other commands have run.
    fn stop(&mut self) -> Result<(), String> {
        if let Some(status) = self.exited() {
            return Err(format!("exited ({status}) before the rest of its block had run"));
        }
        self.signal("TERM");
        if self.poll(STOP_WITHIN, |p| p.exited().is_some()) {
            Ok(())
        } else {
            Err(format!("still running {} s after SIGTERM", STOP_WITHIN.as_secs()))
        }
    }

    /// Signals the process group (std has no killpg; sh's `kill` does it).
    fn signal(&self, sig: &str) {
        let _ = std::process::Command::new("sh").arg("-c").arg(format!("kill -{sig} -{}", self.child.id())).status();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        if self.exited().is_none() {
            self.signal("KILL");
            let _ = self.child.wait();
        }
    }
}
