//! `callbot dialplan check [DIR]`: validate a dialplan, with file:line:col for each problem.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};

use crate::dialplan::Dialplan;

#[derive(Args)]
pub struct DialplanArgs {
    #[command(subcommand)]
    command: DialplanCommand,
}

#[derive(Subcommand)]
enum DialplanCommand {
    /// Validate a dialplan directory [default: the demo dialplan]
    Check { dir: Option<PathBuf> },
}

/// The dialplan in `dir`, or the demo one.
pub fn load(dir: Option<&Path>) -> anyhow::Result<Dialplan> {
    Ok(match dir {
        Some(d) => Dialplan::load(d)?,
        None => Dialplan::demo()?,
    })
}

pub fn run(args: DialplanArgs) -> anyhow::Result<ExitCode> {
    match args.command {
        DialplanCommand::Check { dir } => {
            let dir = dir.unwrap_or_else(|| PathBuf::from(crate::dialplan::DEMO_DIR));
            match Dialplan::load(&dir) {
                Ok(plan) => {
                    let examples: usize = plan.intents.iter().flat_map(|i| i.examples.values()).map(Vec::len).sum();
                    println!(
                        "{}: ok ({} intents, {} examples, {} concepts, {} rules, {} queues)",
                        dir.display(),
                        plan.intents.len(),
                        examples,
                        plan.concepts.len(),
                        plan.rules.len(),
                        plan.queues.len()
                    );
                    Ok(ExitCode::SUCCESS)
                }
                Err(e) => {
                    for d in &e.diagnostics {
                        eprintln!("{d}");
                    }
                    eprintln!("{}: {} problem(s)", dir.display(), e.diagnostics.len());
                    Ok(ExitCode::FAILURE)
                }
            }
        }
    }
}
