//! The `jirafed` binary: parse the command line, start telemetry, call the
//! library, map the outcome to an exit code.

use std::process::ExitCode;

use clap::Parser;
use jirafed::cli::{Cli, Command};
use jirafed::config::ProcessEnv;
use jirafed::{admin_cli, check, demo, run_cli, sim_cli, telemetry};

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo prints its own story; the daemon's routine lines would drown it.
    let quiet_demo = matches!(cli.command, Command::Demo(_)) && cli.log_level == "info";
    telemetry::init(telemetry::pick_format(cli.log_format), if quiet_demo { "warn" } else { &cli.log_level });
    match cli.command {
        Command::Check(args) => {
            let vars: Vec<(String, String)> = std::env::vars().collect();
            let report = check::check_config(&args.config.config, &vars, &ProcessEnv, args.offline);
            print!("{}", report.text);
            let mut ok = report.ok;
            if ok && !args.offline {
                let online = runtime().and_then(|rt| {
                    let cfg = jirafed::config::load_with(&args.config.config, &vars, &ProcessEnv)
                        .map_err(|e| anyhow::anyhow!("{e}"))?;
                    Ok(rt.block_on(jirafed::check_sites::check_sites(&cfg)))
                });
                match online {
                    Ok((text, sites_ok)) => {
                        print!("{text}");
                        println!("{}", if sites_ok { "OK" } else { "FAILED" });
                        ok = sites_ok;
                    }
                    Err(e) => {
                        println!("sites: cannot check: {e:#}");
                        ok = false;
                    }
                }
            }
            if ok { ExitCode::SUCCESS } else { ExitCode::from(1) }
        }
        Command::Sim(args) => exit(runtime().and_then(|rt| rt.block_on(sim_cli::run(args)))),
        Command::Run(args) => exit(runtime().and_then(|rt| rt.block_on(run_cli::run(&args.config)))),
        Command::Demo(args) => exit(runtime().and_then(|rt| rt.block_on(demo::run(args)))),
        Command::DeadLetters(args) => exit(runtime().and_then(|rt| {
            let text = rt.block_on(admin_cli::run(args))?;
            print!("{text}");
            Ok(())
        })),
    }
}

fn runtime() -> anyhow::Result<tokio::runtime::Runtime> {
    Ok(tokio::runtime::Builder::new_multi_thread().enable_all().build()?)
}

fn exit(result: anyhow::Result<()>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::from(1)
        }
    }
}
