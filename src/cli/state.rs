//! `jirafed state check|backup`: the state file checked offline, or checked
//! and backed up by the running daemon through its admin socket.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use super::{EXIT_DATA_ERROR, StateAction, StateArgs};
use crate::admin::{Request, call};
use crate::store::{BackupReport, CheckError, CheckReport, DB_FILE_NAME, check_file};

/// Runs the command; prints the report, or `error: ...` and exits 1 (65 for
/// a damaged, missing or empty file).
pub fn run(config: &Path, args: StateArgs) -> ExitCode {
    let result = match args.action {
        StateAction::Check { file } => check(config, args.socket, file),
        StateAction::Backup { file, force } => backup(config, args.socket, &file, force).map(|()| ExitCode::SUCCESS),
    };
    result.unwrap_or_else(|e| {
        eprintln!("error: {e:#}");
        ExitCode::from(1)
    })
}

fn check(config: &Path, socket: Option<PathBuf>, file: Option<PathBuf>) -> anyhow::Result<ExitCode> {
    if let Some(socket) = socket {
        return ask_daemon(&socket, file.as_deref());
    }
    let file = match file {
        Some(file) => file,
        None => load(config)?.daemon.state_dir.join(DB_FILE_NAME),
    };
    match check_file(&file) {
        Ok(report) => Ok(print_check(&report)),
        Err(CheckError::InUse { .. }) => {
            let socket = load(config)
                .map_err(|e| anyhow::anyhow!("{} is held by a running jirafed; pass --socket ({e:#})", file.display()))?
                .daemon
                .admin_socket;
            ask_daemon(&socket, Some(&file))
        }
        Err(CheckError::Store(e)) => {
            eprintln!("error: {e}");
            Ok(ExitCode::from(if e.is_data_error() { EXIT_DATA_ERROR } else { 1 }))
        }
    }
}

fn ask_daemon(socket: &Path, file: Option<&Path>) -> anyhow::Result<ExitCode> {
    let reply = block_on(call(socket, &Request::StateCheck))?;
    let report: CheckReport = serde_json::from_value(reply["check"].clone())?;
    if let Some(file) = file
        && !same_file(file, &report.file)
    {
        anyhow::bail!("the daemon at {} holds {}, not {}", socket.display(), report.file.display(), file.display());
    }
    Ok(print_check(&report))
}

fn print_check(report: &CheckReport) -> ExitCode {
    print!("{report}");
    if report.schema_version > report.supported_version {
        eprintln!("error: the file was written by a newer jirafed (schema {})", report.schema_version);
        return ExitCode::from(1);
    }
    println!("ok");
    ExitCode::SUCCESS
}

fn backup(config: &Path, socket: Option<PathBuf>, file: &Path, force: bool) -> anyhow::Result<()> {
    let socket = match socket {
        Some(socket) => socket,
        None => load(config)?.daemon.admin_socket,
    };
    // The daemon resolves paths from its own working directory.
    let file = std::path::absolute(file)?;
    let reply = block_on(call(&socket, &Request::StateBackup { file, force }))?;
    let report: BackupReport = serde_json::from_value(reply["backup"].clone())?;
    println!(
        "backup written: {} ({} bytes, schema version {})",
        report.file.display(),
        report.bytes,
        report.schema_version
    );
    for (kind, n) in &report.counts {
        println!("{kind}: {n}");
    }
    Ok(())
}

fn load(config: &Path) -> anyhow::Result<crate::config::Config> {
    crate::config::load(config).map_err(|e| anyhow::anyhow!("{e}"))
}

fn block_on<T>(f: impl std::future::Future<Output = anyhow::Result<T>>) -> anyhow::Result<T> {
    tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(f)
}

fn same_file(a: &Path, b: &Path) -> bool {
    match (a.canonicalize(), b.canonicalize()) {
        (Ok(a), Ok(b)) => a == b,
        _ => a == b,
    }
}
