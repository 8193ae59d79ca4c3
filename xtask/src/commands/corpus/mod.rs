//! `cargo xtask corpus`: published releases, one row each.
//!
//! Each release is generated into a workspace of its own (copies of `pandadoc-api-ext`, the
//! contract tests and the OpenAPI model beside the generated `pandadoc-api`) and, by mode:
//! - default: built with `-D warnings` and run through the contract suite (every documented
//!   response of every operation through both clients);
//! - `--check-only`: type-checked with `-D warnings` (default and all features);
//! - `--fragments`: the vendored operations are cut out of the release, a copy of this workspace
//!   is bumped to that fragment, `generate --check` must pass, then `cargo test --workspace`
//!   (`cargo check --workspace --all-targets` with `--check-only`);
//! - `--reports`: the bump report from each selected release to the next, as a changelog.
//!
//! With `--fragments`, a release whose cut (its `info` aside) is the same as one already run
//! in this run is a row that names that one, not a run: the same fragment gives the same
//! client and the same tests (57 releases have the operation; a handful of distinct cuts).
//!
//! A release that fails (to generate, to compile, in the suite) is a row, never the end of the
//! run; the run fails at the end if any row did. Rows are printed as they finish (Markdown), so
//! a run of hours can be followed and cut into parts with `--only`.

mod release;
mod workspace;

use std::path::{Path, PathBuf};
use std::time::Instant;

use anyhow::{Result, bail};

pub use release::{Release, discover, select};

/// What `cargo xtask corpus` was asked to do.
pub struct Options {
    /// Release files, or directories whose `*full*.json` files are releases.
    pub inputs: Vec<PathBuf>,
    /// Versions to run (see [`select`]); all when `None`.
    pub only: Option<String>,
    pub check_only: bool,
    pub fragments: bool,
    pub reports: bool,
}

/// The default corpus: the full releases in [the published releases'
/// folder](crate::paths::shared_specs) and its `releases/`.
pub fn default_inputs(root: &Path) -> Vec<PathBuf> {
    let shared = crate::paths::shared_specs(root);
    vec![shared.clone(), shared.join("releases")]
}

/// One release's outcome.
struct Row {
    version: String,
    operations: usize,
    checks: String,
    failure: Option<String>,
    seconds: f64,
}

impl Row {
    fn markdown(&self) -> String {
        let result = match &self.failure {
            None => "pass".to_string(),
            Some(why) => format!(
                "**FAIL**: {}",
                // The first two lines (a panic's location, then its message), in one cell.
                why.lines()
                    .take(2)
                    .collect::<Vec<_>>()
                    .join(" / ")
                    .replace('|', "\\|")
            ),
        };
        format!(
            "| {} | {} | {} | {} | {:.0} s |",
            self.version, self.operations, self.checks, result, self.seconds
        )
    }
}

/// Runs `options` under the workspace `root`; `Ok(true)` when every release passed.
pub fn corpus(root: &Path, options: &Options) -> Result<bool> {
    let inputs = if options.inputs.is_empty() {
        default_inputs(root)
    } else {
        options.inputs.clone()
    };
    let all = discover(&inputs)?;
    if options.reports {
        let chosen = select(&all, options.only.as_deref())?;
        return reports(&chosen);
    }
    let ids = if options.fragments {
        workspace::vendored_operation_ids(root)?
    } else {
        Vec::new()
    };
    let candidates: Vec<Release> = if options.fragments {
        all.into_iter()
            .filter(|r| ids.iter().all(|id| r.operation_ids.contains(id)))
            .collect()
    } else {
        all
    };
    // `oldest` and `newest` of --fragments are those of the releases that have the operations.
    let chosen = select(&candidates, options.only.as_deref())?;
    if chosen.is_empty() {
        bail!(
            "no release to run: {inputs:?} with --only {:?}",
            options.only
        );
    }
    let mode = match (options.fragments, options.check_only) {
        (false, false) => "generate, build, contract suite",
        (false, true) => "generate, type-check",
        (true, false) => "fragment bump, cargo test --workspace",
        (true, true) => "fragment bump, generate --check, cargo check --workspace",
    };
    eprintln!("corpus: {} releases ({mode})", chosen.len());
    println!("| release | operations | checks | result | time |");
    println!("| --- | ---: | ---: | --- | ---: |");
    let started = Instant::now();
    let mut passed = 0;
    // The fragments run so far (their `info` aside), and the release each came from.
    let mut ran: Vec<(serde_json::Value, String)> = Vec::new();
    for (i, release) in chosen.iter().enumerate() {
        eprintln!("[{}/{}] {} ...", i + 1, chosen.len(), release.version);
        let begun = Instant::now();
        let outcome = if options.fragments {
            match workspace::cut(release, &ids) {
                Ok(cut) => {
                    let mut key = cut.clone();
                    if let Some(o) = key.as_object_mut() {
                        o.remove("info");
                    }
                    match ran.iter().find(|(k, _)| *k == key) {
                        Some((_, same)) => Ok(format!("same cut as {same}")),
                        None => {
                            ran.push((key, release.version.clone()));
                            workspace::fragment(root, release, &cut, options.check_only)
                        }
                    }
                }
                Err(e) => Err(e),
            }
        } else {
            workspace::release(root, release, options.check_only)
        };
        let (checks, failure) = match outcome {
            Ok(checks) => (checks, None),
            Err(e) => ("—".to_string(), Some(format!("{e:#}"))),
        };
        let row = Row {
            version: release.version.clone(),
            operations: release.operation_ids.len(),
            checks,
            failure,
            seconds: begun.elapsed().as_secs_f64(),
        };
        if let Some(why) = &row.failure {
            eprintln!("{}: {why}", release.version);
        } else {
            passed += 1;
        }
        println!("{}", row.markdown());
    }
    println!(
        "\ncorpus: {passed}/{} releases pass ({mode}; {:.0} min)",
        chosen.len(),
        started.elapsed().as_secs_f64() / 60.0
    );
    Ok(passed == chosen.len())
}

/// Prints the bump report of each step between consecutive releases of `chosen`.
fn reports(chosen: &[&Release]) -> Result<bool> {
    if chosen.len() < 2 {
        bail!("--reports needs at least two releases");
    }
    for step in chosen.windows(2) {
        println!("{}\n", step_report(step[0], step[1]).trim_end());
    }
    println!("corpus: {} reports", chosen.len() - 1);
    Ok(true)
}

/// The bump report from `old` to `new`, as `cargo xtask bump` writes it.
pub fn step_report(old: &Release, new: &Release) -> String {
    let (old, new) = (&old.spec.json, &new.spec.json);
    let changes = crate::spec_diff::changes(old, new);
    crate::spec_diff::report(old, new, &changes)
}
