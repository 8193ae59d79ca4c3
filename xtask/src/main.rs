//! `cargo xtask`: the workspace's generator. `cargo xtask --help` lists the commands;
//! `cargo xtask <command> --help` explains one.

mod codegen;
mod commands;
mod normalize;
mod paths;
mod spec_diff;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Result;
use clap::{Parser, Subcommand};

/// The workspace's generator: the raw client from the vendored OpenAPI spec, spec bumps, and
/// the published releases as a test corpus.
#[derive(Parser)]
#[command(name = "xtask", bin_name = "cargo xtask", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Regenerate pandadoc-api/src/generated.rs from the vendored spec and verify it compiles.
    Generate {
        /// Compare only: exit 1 with a diff when the committed file is stale.
        #[arg(long, conflicts_with = "out")]
        check: bool,
        /// Do not `cargo check` the result.
        #[arg(long)]
        no_verify: bool,
        /// Generate a standalone crate from this spec instead (with --out).
        #[arg(long, requires = "out", value_name = "PATH")]
        spec: Option<PathBuf>,
        /// Where the standalone crate goes (with --spec).
        #[arg(long, requires = "spec", value_name = "DIR")]
        out: Option<PathBuf>,
    },
    /// Vendor a new spec (byte for byte), regenerate, and report the changes.
    Bump {
        /// The new spec file.
        path: PathBuf,
        /// Do not `cargo check` the result.
        #[arg(long)]
        no_verify: bool,
    },
    /// Print a spec of these operations of FULL and everything they reach.
    Cut {
        /// A full release.
        full: PathBuf,
        /// The operationIds to keep.
        #[arg(required = true)]
        ids: Vec<String>,
    },
    /// Run published releases: one Markdown row each, then `corpus: P/N releases pass`.
    ///
    /// By default each release is generated, built with -D warnings and run through the contract
    /// suite (minutes each). Exit 1 when any release fails; a failure is a row, never the end of
    /// the run.
    Corpus {
        /// Release files, or directories whose `*full*.json` files are releases
        /// [default: ../shared/specs and ../shared/specs/releases].
        inputs: Vec<PathBuf>,
        /// Only these versions: `7.2.0`, ranges `6.3.0..7.6.0` / `7.2.0..`, `oldest`, `newest`,
        /// comma-separated.
        #[arg(long, value_name = "VERSIONS")]
        only: Option<String>,
        /// Generate and type-check only (seconds a release).
        #[arg(long)]
        check_only: bool,
        /// Bump a copy of this workspace to the vendored operations cut out of each release
        /// that has them, then `cargo test --workspace` (`cargo check` with --check-only).
        #[arg(long, conflicts_with = "reports")]
        fragments: bool,
        /// Print the bump report of each step from one release to the next, as a changelog.
        #[arg(long)]
        reports: bool,
    },
    /// Run the test suite N times under load: `soak: G/N runs green`.
    SoakTests {
        /// How many runs.
        runs: u32,
    },
    /// Cold build time of pandadoc-api-ext against its plain stack.
    BuildCost,
}

fn main() -> ExitCode {
    // `cargo xtask ARGS` runs this binary with ARGS (the alias in .cargo/config.toml).
    let cli = Cli::parse();
    match run(cli.command) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn success(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(command: Command) -> Result<ExitCode> {
    use codegen::generate;
    use commands::{build_cost, bump, corpus, cut, soak};
    let root = paths::workspace_root();
    match command {
        Command::Generate {
            check,
            no_verify,
            spec,
            out,
        } => match (spec, out) {
            (Some(spec), Some(out)) => {
                let spec = generate::load(&spec)?;
                let code = generate::render(&spec, &spec.path.display().to_string())?;
                generate::write_crate(&spec, &out, &code.client, true)?;
                println!(
                    "wrote a crate for {} {} to {}",
                    spec.title,
                    spec.version,
                    out.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            _ => commands::generate::workspace_generate(&root, check, !no_verify),
        },
        Command::Bump { path, no_verify } => {
            let (report, report_path) = bump::bump_workspace(&root, &path)?;
            println!("{report}");
            println!("report written to {}", report_path.display());
            if !no_verify {
                commands::generate::verify_compiles(&root)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cut { full, ids } => {
            let spec = generate::load(&full)?;
            let cut = cut::cut(&spec.json, &ids)?;
            println!("{}", serde_json::to_string_pretty(&cut)?);
            Ok(ExitCode::SUCCESS)
        }
        Command::Corpus {
            inputs,
            only,
            check_only,
            fragments,
            reports,
        } => {
            let options = corpus::Options {
                inputs,
                only,
                check_only,
                fragments,
                reports,
            };
            corpus::corpus(&root, &options).map(success)
        }
        Command::SoakTests { runs } => soak::soak(&root, runs).map(success),
        Command::BuildCost => build_cost::build_cost(&root).map(|()| ExitCode::SUCCESS),
    }
}

#[cfg(test)]
mod tests;
