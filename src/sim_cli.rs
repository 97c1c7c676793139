//! `jirafed sim`: serve the simulator in the foreground until Ctrl-C.

use std::fmt::Write as _;

use crate::cli::SimArgs;
use crate::sim::world::{SYNC_BOT_EMAIL, SYNC_BOT_PASSWORD, SYNC_BOT_PAT, SYNC_BOT_TOKEN};
use crate::sim::{Simulator, WorldConfig, default_world};

/// Loads the world `jirafed sim` should serve.
pub fn world(args: &SimArgs) -> anyhow::Result<WorldConfig> {
    match &args.config {
        None => Ok(default_world(args.port_base)),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("world file {}: cannot read: {e}", path.display()))?;
            WorldConfig::from_toml(&text).map_err(|e| anyhow::anyhow!("world file {}: {e}", path.display()))
        }
    }
}

/// The banner printed once the sites listen.
pub fn banner(sim: &Simulator) -> String {
    let mut out = String::from("jirafed simulator: serving\n");
    for s in &sim.sites {
        let _ = writeln!(out, "  {:<8} {:<10} {}", s.name, s.flavour.as_str(), s.base_url);
    }
    let _ = writeln!(
        out,
        "technical user: cloud {SYNC_BOT_EMAIL} / API token {SYNC_BOT_TOKEN}; datacenter PAT {SYNC_BOT_PAT} (or sync-bot / {SYNC_BOT_PASSWORD})"
    );
    let _ = writeln!(
        out,
        "control: GET /_sim/stats, POST /_sim/faults, POST /_sim/webhooks, POST /_sim/reset (see docs/simulator.md)"
    );
    out
}

pub async fn run(args: SimArgs) -> anyhow::Result<()> {
    let world = world(&args)?;
    if args.print_config {
        print!("{}", world.to_toml());
        return Ok(());
    }
    let sim = Simulator::start(&world).await.map_err(anyhow::Error::msg)?;
    print!("{}", banner(&sim));
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
