//! The workspaces a release is run in, under `target/corpus/`, and the cargo runs.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use anyhow::{Context, Result, anyhow, bail};

use super::Release;
use crate::codegen::generate::{self, Drift};
use crate::paths;

/// The workspaces, under `target/corpus/`. Their builds share one target directory
/// ([`paths::generated_target`]), so that what the runs share (dependencies,
/// `pandadoc-api-ext`) is compiled once.
fn work(root: &Path) -> PathBuf {
    root.join("target/corpus")
}

/// The operations of the vendored spec: those a fragment bump cuts out of a release.
pub fn vendored_operation_ids(root: &Path) -> Result<Vec<String>> {
    let vendored = generate::load(&root.join(generate::VENDORED_SPEC))?;
    Ok(crate::commands::cut::operation_ids(&vendored.json))
}

/// Generates `release` into the corpus workspace and type-checks it, or (not `check_only`)
/// runs the contract suite on it. The checks the suite passed, as a number.
pub fn release(root: &Path, release: &Release, check_only: bool) -> Result<String> {
    let ws = corpus_workspace(root)?;
    let spec = &release.spec;
    let code = without_panics("generate", || {
        generate::render(spec, &release.path.display().to_string())
    })?;
    generate::write_crate(spec, &ws.join("pandadoc-api"), &code.client, false)?;
    std::fs::write(ws.join(generate::HARNESS_FILE), &code.harness)?;
    if check_only {
        for features in ["--all-features", "--no-default-features"] {
            cargo(
                &ws,
                root,
                &["check", "-q", "-p", "pandadoc-api", features],
                &[],
            )
            .with_context(|| format!("compile ({features})"))?;
        }
        return Ok("—".into());
    }
    let out = cargo(
        &ws,
        root,
        &[
            "test",
            "-q",
            "-p",
            "pandadoc-contract-tests",
            // The operation-neutral layer only: a release need not have the SMS operation.
            "--no-default-features",
            "--test",
            "contract",
        ],
        &[("PANDADOC_CONTRACT_SPEC", release.path.as_os_str())],
    )
    .context("contract suite")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    let operations = release.operation_ids.len();
    if !stdout.contains(&format!("contract: {operations} operations,")) {
        bail!("contract suite: not every one of the {operations} operations was exercised");
    }
    Ok(stdout
        .lines()
        .find_map(|l| l.strip_prefix("contract: ")?.split_once(" passed"))
        .map_or_else(|| "?".into(), |(passed, _)| passed.to_string()))
}

/// The vendored operations (`ids`, from [`vendored_operation_ids`]) cut out of `release`.
pub fn cut(release: &Release, ids: &[String]) -> Result<serde_json::Value> {
    crate::commands::cut::cut(&release.spec.json, ids)
}

/// Bumps a copy of this workspace to `cut`, the vendored operations cut out of `release`
/// ([`cut`]): `generate --check` must pass after it, then `cargo test --workspace` (`cargo
/// check --workspace --all-targets` when `check_only`). The tests passed, as a number.
pub fn fragment(
    root: &Path,
    release: &Release,
    cut: &serde_json::Value,
    check_only: bool,
) -> Result<String> {
    let ws = work(root).join("fragment-ws");
    sync_dir(root, &ws)?;
    let fragment = work(root).join(format!("fragment-{}.json", release.version));
    std::fs::write(&fragment, serde_json::to_string_pretty(cut)? + "\n")?;
    without_panics("bump", || {
        crate::commands::bump::bump_workspace(&ws, &fragment)
    })?;
    if !matches!(
        crate::commands::generate::workspace_drift(&ws)?.2,
        Drift::Same
    ) {
        bail!("`generate --check` fails right after the bump");
    }
    if check_only {
        cargo(
            &ws,
            root,
            &["check", "-q", "--workspace", "--all-targets"],
            &[],
        )
        .context("compile")?;
        return Ok("—".into());
    }
    let shared = std::path::absolute(crate::paths::shared_specs(root))?;
    let out = cargo(
        &ws,
        root,
        &["test", "-q", "--workspace"],
        &[(crate::paths::SHARED_SPECS_VAR, shared.as_os_str())],
    )
    .context("cargo test")?;
    let passed: u64 = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter_map(|l| l.strip_prefix("test result: ok. ")?.split_once(" passed"))
        .filter_map(|(n, _)| n.parse::<u64>().ok())
        .sum();
    Ok(passed.to_string())
}

/// `f`, with a panic turned into an error of `step` (one release must not end the run).
fn without_panics<T>(step: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
    std::panic::catch_unwind(std::panic::AssertUnwindSafe(f))
        .map_err(|panic| {
            anyhow!(
                "{step} panicked: {}",
                generate::panic_message(panic.as_ref())
            )
        })?
        .with_context(|| step.to_string())
}

/// Runs cargo in `ws` with `-D warnings` and the shared target directory; an error carries
/// the first lines that say what went wrong.
fn cargo(
    ws: &Path,
    root: &Path,
    args: &[&str],
    env: &[(&str, &std::ffi::OsStr)],
) -> Result<Output> {
    let mut command = Command::new(crate::paths::cargo_path());
    command
        .args(args)
        .current_dir(ws)
        .env("CARGO_TARGET_DIR", paths::generated_target(root))
        .env("RUSTFLAGS", paths::GENERATED_RUSTFLAGS);
    for (key, value) in env {
        command.env(key, value);
    }
    let out = command
        .output()
        .with_context(|| format!("cannot run cargo {}", args.join(" ")))?;
    if out.status.success() {
        return Ok(out);
    }
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    let lines: Vec<&str> = stdout.lines().chain(stderr.lines()).collect();
    let telling: Vec<&str> = lines
        .iter()
        .enumerate()
        .flat_map(|(i, l)| {
            if l.contains("panicked at") {
                // The message is on the next line.
                lines[i..(i + 2).min(lines.len())].to_vec()
            } else if l.starts_with("error") || l.starts_with("FAILED") {
                vec![*l]
            } else {
                Vec::new()
            }
        })
        .take(20)
        .collect();
    let tail: Vec<&str> = stderr.lines().rev().take(10).collect();
    Err(anyhow!(
        "{}",
        if telling.is_empty() {
            tail.into_iter().rev().collect::<Vec<_>>().join("\n")
        } else {
            telling.join("\n")
        }
    ))
}

/// A workspace of generated clients under `target/corpus/ws`: `pandadoc-api-ext`, the contract
/// tests, the OpenAPI model and `openapi/` as they are here; `pandadoc-api` is the caller's.
fn corpus_workspace(root: &Path) -> Result<PathBuf> {
    let ws = work(root).join("ws");
    for dir in [
        "pandadoc-api-ext",
        "tests",
        "openapi",
        "xtask/openapi-model",
    ] {
        sync_dir(&root.join(dir), &ws.join(dir))?;
    }
    copy_if_changed(&root.join("Cargo.lock"), &ws.join("Cargo.lock"))?;
    let manifest: String = std::fs::read_to_string(root.join("Cargo.toml"))?
        .lines()
        .filter(|l| !l.starts_with("default-members"))
        .map(|l| {
            if l.starts_with("members") {
                r#"members = ["pandadoc-api", "pandadoc-api-ext", "tests", "xtask/openapi-model"]"#
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    write_if_changed(&ws.join("Cargo.toml"), manifest.as_bytes())?;
    Ok(ws)
}

/// Makes `to` a copy of `from` (without `target/` and `.git/`): files are written only where
/// they differ, so cargo sees unchanged sources as unchanged; files gone from `from` go.
fn sync_dir(from: &Path, to: &Path) -> Result<()> {
    std::fs::create_dir_all(to)?;
    let mut names = std::collections::BTreeSet::new();
    for entry in
        std::fs::read_dir(from).with_context(|| format!("cannot read {}", from.display()))?
    {
        let entry = entry?;
        let name = entry.file_name();
        if name == "target" || name == ".git" {
            continue;
        }
        let (src, dst) = (entry.path(), to.join(&name));
        if entry.file_type()?.is_dir() {
            sync_dir(&src, &dst)?;
        } else {
            copy_if_changed(&src, &dst)?;
        }
        names.insert(name);
    }
    for entry in std::fs::read_dir(to)? {
        let entry = entry?;
        let name = entry.file_name();
        if names.contains(&name) || name == "target" {
            continue;
        }
        if entry.file_type()?.is_dir() {
            std::fs::remove_dir_all(entry.path())?;
        } else {
            std::fs::remove_file(entry.path())?;
        }
    }
    Ok(())
}

fn copy_if_changed(from: &Path, to: &Path) -> Result<()> {
    let bytes = std::fs::read(from).with_context(|| format!("cannot read {}", from.display()))?;
    write_if_changed(to, &bytes)
}

fn write_if_changed(path: &Path, bytes: &[u8]) -> Result<()> {
    if std::fs::read(path).ok().as_deref() != Some(bytes) {
        std::fs::write(path, bytes).with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}
