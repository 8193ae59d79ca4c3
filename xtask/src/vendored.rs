//! The workflows on this workspace's vendored spec: `generate` (write or `--check`), `bump`
//! (vendor a new spec, regenerate, report), and the compile check both end with.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::generate::Generated;
use crate::{bump, features, generate};

/// What the vendored spec under `root` produces, and how the committed generated file and
/// manifest differ from it.
pub fn workspace_drift(root: &Path) -> Result<(generate::Spec, Generated, generate::Drift)> {
    use generate::Drift;
    let spec = generate::load(&root.join(generate::VENDORED_SPEC))?;
    let code = generate::render(&spec, generate::VENDORED_SPEC)?;
    let mut drift = generate::drift(&root.join(generate::GENERATED_FILE), &code.client, 60);
    let add = |drift: Drift, note: String| match drift {
        Drift::Same => Drift::Differs(note),
        Drift::Differs(diff) => Drift::Differs(format!("{diff}\n{note}")),
        missing => missing,
    };
    match generate::drift(&root.join(generate::HARNESS_FILE), &code.harness, 30) {
        Drift::Same => {}
        Drift::Missing => drift = add(drift, format!("{} is missing", generate::HARNESS_FILE)),
        Drift::Differs(diff) => {
            drift = add(drift, format!("{}:\n{diff}", generate::HARNESS_FILE));
        }
    }
    let manifest = read_manifest(root)?;
    if features::sync_manifest(&manifest, &code.client)? != manifest {
        let note = format!(
            "{}: the optional dependencies are not those the generated code uses ({:?})",
            generate::MANIFEST,
            features::used_dependencies(&code.client)
        );
        drift = add(drift, note);
    }
    Ok((spec, code, drift))
}

fn read_manifest(root: &Path) -> Result<String> {
    let path = root.join(generate::MANIFEST);
    std::fs::read_to_string(&path).with_context(|| format!("cannot read {}", path.display()))
}

/// Writes the generated files and brings the manifest's optional dependencies in step with
/// the client.
pub fn write_generated(root: &Path, code: &Generated) -> Result<()> {
    for (file, text) in [
        (generate::GENERATED_FILE, &code.client),
        (generate::HARNESS_FILE, &code.harness),
    ] {
        let target = root.join(file);
        std::fs::write(&target, text)
            .with_context(|| format!("cannot write {}", target.display()))?;
    }
    let manifest = read_manifest(root)?;
    let synced = features::sync_manifest(&manifest, &code.client)?;
    if synced != manifest {
        std::fs::write(root.join(generate::MANIFEST), synced)?;
    }
    Ok(())
}

/// Generates from the vendored spec into `pandadoc-api`, or (`check`) compares only.
pub fn workspace_generate(root: &Path, check: bool, verify: bool) -> Result<ExitCode> {
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

/// The generated client is only done when it compiles without warnings, with its default
/// features (what users get) and with all of them (what the contract tests use).
pub fn verify_compiles(root: &Path) -> Result<()> {
    for features in ["--all-features", "--no-default-features"] {
        check_once(root, features)?;
    }
    println!("verified: pandadoc-api compiles without warnings");
    Ok(())
}

fn check_once(root: &Path, features: &str) -> Result<()> {
    let output = std::process::Command::new(crate::cargo_path())
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
pub const CHANGELOG: &str = "pandadoc-api/CHANGELOG.md";

/// Puts `entry` (a `## ...` section) first among the changelog's sections, under its title.
pub fn add_to_changelog(path: &Path, entry: &str) -> Result<()> {
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
pub fn bump_workspace(root: &Path, path: &Path) -> Result<(String, PathBuf)> {
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
