//! `jirafed sim`: serve the simulator in the foreground until Ctrl-C.

use std::fmt::Write as _;

use std::path::Path;

use super::SimArgs;
use crate::sim::world::{DEFAULT_PORT_BASE, SimFlavour, SiteConfig};
use crate::sim::{Simulator, WorldConfig, default_world};

/// Loads the world `jirafed sim` should serve: the default one, or the
/// `--config` file's; `--port-base`, when given, moves either's sites.
pub fn world(file: Option<&Path>, args: &SimArgs) -> anyhow::Result<WorldConfig> {
    match file {
        None => Ok(default_world(args.port_base.unwrap_or(DEFAULT_PORT_BASE))),
        Some(path) => {
            let text = std::fs::read_to_string(path)
                .map_err(|e| anyhow::anyhow!("world file {}: cannot read: {e}", path.display()))?;
            let world =
                WorldConfig::from_toml(&text).map_err(|e| anyhow::anyhow!("world file {}: {e}", path.display()))?;
            Ok(match args.port_base {
                Some(base) => world.with_port_base(base),
                None => world,
            })
        }
    }
}

/// How the first user of a site signs in (the technical user, by the
/// world file's convention).
fn credentials(site: &SiteConfig) -> String {
    let Some(u) = site.users.first() else { return "no users".into() };
    let or_none = |s: &Option<String>| s.clone().unwrap_or_else(|| "(none)".into());
    match site.flavour {
        SimFlavour::Cloud => format!("{} / API token {}", u.email, or_none(&u.token)),
        SimFlavour::Datacenter => {
            format!("PAT {} (or {} / {})", or_none(&u.pat), u.name, or_none(&u.password))
        }
    }
}

/// The banner printed once the sites listen: each site's URL, then the
/// credentials of its first user, from the world actually served.
pub fn banner(sim: &Simulator, world: &WorldConfig) -> String {
    let mut out = String::from("jirafed simulator: serving\n");
    for s in &sim.sites {
        let _ = writeln!(out, "  {:<8} {:<10} {}", s.name, s.flavour.as_str(), s.base_url);
    }
    out.push_str("technical users (each site's first user):\n");
    for site in &world.sites {
        let _ = writeln!(out, "  {:<8} {}", site.name, credentials(site));
    }
    let _ = writeln!(
        out,
        "control: GET /_sim/stats, POST /_sim/faults, POST /_sim/webhooks, POST /_sim/reset (see docs/simulator.md)"
    );
    out
}

pub async fn run(file: Option<&Path>, args: SimArgs) -> anyhow::Result<()> {
    let world = world(file, &args)?;
    if args.print_config {
        print!("{}", world.to_toml());
        return Ok(());
    }
    let sim = Simulator::start(&world).await.map_err(anyhow::Error::msg)?;
    print!("{}", banner(&sim, &world));
    tokio::signal::ctrl_c().await?;
    sim.shutdown().await;
    Ok(())
}
