//! `cargo xtask`: the workspace's generator. `cargo xtask --help` lists the commands;
//! `cargo xtask <command> --help` explains one.

mod build_cost;
mod bump;
mod corpus;
mod features;
mod forms;
mod fragment;
mod generate;
mod harness;
mod normalize;
mod soak;
mod unions;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};
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

/// The cargo that runs the xtask (`$CARGO`), else `cargo` from `PATH`.
fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

fn success(ok: bool) -> ExitCode {
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn run(command: Command) -> Result<ExitCode> {
    let root = workspace_root();
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
                generate::write_crate(&spec, &out, &code, true)?;
                println!(
                    "wrote a crate for {} {} to {}",
                    spec.title,
                    spec.version,
                    out.display()
                );
                Ok(ExitCode::SUCCESS)
            }
            _ => workspace_generate(&root, check, !no_verify),
        },
        Command::Bump { path, no_verify } => {
            let (report, report_path) = bump_workspace(&root, &path)?;
            println!("{report}");
            println!("report written to {}", report_path.display());
            if !no_verify {
                verify_compiles(&root)?;
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Cut { full, ids } => {
            let spec = generate::load(&full)?;
            let cut = fragment::cut(&spec.json, &ids)?;
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

/// What the vendored spec under `root` produces, and how the committed generated file and
/// manifest differ from it.
fn workspace_drift(root: &Path) -> Result<(generate::Spec, String, generate::Drift)> {
    let spec = generate::load(&root.join(generate::VENDORED_SPEC))?;
    let code = generate::render(&spec, generate::VENDORED_SPEC)?;
    let mut drift = generate::drift(&root.join(generate::GENERATED_FILE), &code, 60);
    let manifest = read_manifest(root)?;
    if features::sync_manifest(&manifest, &code)? != manifest {
        let note = format!(
            "{}: the optional dependencies are not those the generated code uses ({:?})",
            generate::MANIFEST,
            features::used_dependencies(&code)
        );
        drift = match drift {
            generate::Drift::Same => generate::Drift::Differs(note),
            generate::Drift::Differs(diff) => generate::Drift::Differs(format!("{diff}\n{note}")),
            missing => missing,
        };
    }
    Ok((spec, code, drift))
}

fn read_manifest(root: &Path) -> Result<String> {
    let path = root.join(generate::MANIFEST);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes the generated file and brings the manifest's optional dependencies in step with it.
fn write_generated(root: &Path, code: &str) -> Result<()> {
    let target = root.join(generate::GENERATED_FILE);
    std::fs::write(&target, code).with_context(|| format!("cannot write {}", target.display()))?;
    let manifest = read_manifest(root)?;
    let synced = features::sync_manifest(&manifest, code)?;
    if synced != manifest {
        std::fs::write(root.join(generate::MANIFEST), synced)?;
    }
    Ok(())
}

/// Generates from the vendored spec into `pandadoc-api`, or (`check`) compares only.
fn workspace_generate(root: &Path, check: bool, verify: bool) -> Result<ExitCode> {
    let (spec, code, drift) = workspace_drift(root)?;
    if check {
        return Ok(match drift {
            generate::Drift::Same => {
                println!(
                    "{} is up to date with {} ({})",
                    generate::GENERATED_FILE,
                    generate::VENDORED_SPEC,
                    spec.version
                );
                ExitCode::SUCCESS
            }
            generate::Drift::Missing => {
                eprintln!(
                    "{} is missing; run `cargo xtask generate`",
                    generate::GENERATED_FILE
                );
                ExitCode::FAILURE
            }
            generate::Drift::Differs(diff) => {
                eprintln!("{diff}");
                eprintln!(
                    "{} is not what {} produces; run `cargo xtask generate` and commit the result",
                    generate::GENERATED_FILE,
                    generate::VENDORED_SPEC
                );
                ExitCode::FAILURE
            }
        });
    }
    match drift {
        generate::Drift::Same => println!(
            "{} unchanged ({} {})",
            generate::GENERATED_FILE,
            spec.title,
            spec.version
        ),
        _ => {
            write_generated(root, &code)?;
            println!(
                "wrote {} ({} {})",
                generate::GENERATED_FILE,
                spec.title,
                spec.version
            );
        }
    }
    if verify {
        verify_compiles(root)?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests;

/// The generated client is only done when it compiles without warnings, with its default
/// features (what users get) and with all of them (what the contract tests use).
fn verify_compiles(root: &Path) -> Result<()> {
    for features in ["--all-features", "--no-default-features"] {
        check_once(root, features)?;
    }
    println!("verified: pandadoc-api compiles without warnings");
    Ok(())
}

fn check_once(root: &Path, features: &str) -> Result<()> {
    let output = std::process::Command::new(cargo_path())
        .args([
            "check",
            "-p",
            "pandadoc-api",
            features,
            "--message-format",
            "short",
        ])
        .current_dir(root)
        .output()
        .context("cannot run cargo check")?;
    let stderr = String::from_utf8_lossy(&output.stderr);
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("warning") || l.contains("error"))
        .collect();
    if !output.status.success() || !warnings.is_empty() {
        bail!(
            "the generated client does not compile cleanly (cargo check -p pandadoc-api {features}):\n{}",
            warnings.join("\n")
        );
    }
    Ok(())
}

/// The raw client's changelog, to which `bump` adds each report.
const CHANGELOG: &str = "pandadoc-api/CHANGELOG.md";

/// Puts `entry` (a `## ...` section) first among the changelog's sections, under its title.
fn add_to_changelog(path: &Path, entry: &str) -> Result<()> {
    let text = std::fs::read_to_string(path).unwrap_or_else(|_| "# Changelog\n\n".into());
    let at = text.find("\n## ").map_or(text.len(), |i| i + 1);
    let mut updated = text[..at].to_string();
    if !updated.ends_with("\n\n") {
        updated.push('\n');
    }
    updated.push_str(entry.trim_end());
    updated.push_str("\n\n");
    updated.push_str(&text[at..]);
    std::fs::write(path, updated).with_context(|| format!("cannot write {}", path.display()))
}

/// Replaces the vendored spec under `root` with `path` (byte for byte), regenerates, and writes
/// the change report to `target/spec-bump/<old>-to-<new>.md` and to the top of
/// `pandadoc-api/CHANGELOG.md`. Nothing is replaced unless the new spec loads and generates.
fn bump_workspace(root: &Path, path: &Path) -> Result<(String, PathBuf)> {
    let new = generate::load(path)?;
    let vendored = root.join(generate::VENDORED_SPEC);
    let old = generate::load(&vendored)?;
    let code = generate::render(&new, generate::VENDORED_SPEC)?;
    let changes = bump::changes(&old.json, &new.json);
    let report = bump::report(&old.json, &new.json, &changes);
    std::fs::copy(path, &vendored)
        .with_context(|| format!("cannot replace {}", vendored.display()))?;
    write_generated(root, &code)?;
    add_to_changelog(&root.join(CHANGELOG), &report)?;
    let dir = root.join("target/spec-bump");
    std::fs::create_dir_all(&dir)?;
    let file = |v: &str| v.replace(|c: char| !c.is_ascii_alphanumeric() && c != '.', "_");
    let report_path = dir.join(format!(
        "{}-to-{}.md",
        file(&old.version),
        file(&new.version)
    ));
    std::fs::write(&report_path, &report)?;
    Ok((report, report_path))
}
