//! `jirafed completions SHELL` and `jirafed man`: the shell completions and
//! the man page, generated from the clap definitions (so they never drift
//! from the commands), printed for the package or an admin to install.

use std::io::Write;

use clap::CommandFactory;
use clap_complete::Shell;

use super::Cli;

/// The completion script for `shell`.
pub fn completions(shell: Shell) -> anyhow::Result<()> {
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "jirafed", &mut out);
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// The man page, `jirafed(1)`, in roff: the synopsis, every command with its
/// description, and the global options.
pub fn man() -> anyhow::Result<()> {
    let mut out = Vec::new();
    let command = Cli::command();
    let page = clap_mangen::Man::new(command.clone());
    page.render_title(&mut out)?;
    page.render_name_section(&mut out)?;
    page.render_synopsis_section(&mut out)?;
    page.render_description_section(&mut out)?;
    page.render_options_section(&mut out)?;
    page.render_subcommands_section(&mut out)?;
    render_files(&mut out)?;
    page.render_version_section(&mut out)?;
    std::io::stdout().write_all(&out)?;
    Ok(())
}

/// Where the config lives, which the generated sections do not say.
fn render_files(out: &mut Vec<u8>) -> std::io::Result<()> {
    writeln!(out, ".SH FILES")?;
    writeln!(out, ".TP")?;
    writeln!(out, "\\fI{}\\fR", super::DEFAULT_CONFIG)?;
    writeln!(out, "The config file, unless --config or ${} names another.", super::CONFIG_ENV)?;
    Ok(())
}
