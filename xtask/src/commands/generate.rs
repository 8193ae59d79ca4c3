//! `cargo xtask generate`: the vendored spec into `pandadoc-api` (write, or `--check`), and the
//! compile check that `generate` and `bump` end with.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result, bail};

use crate::codegen::features;
use crate::codegen::generate::{self, Generated};

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
    let output = std::process::Command::new(crate::paths::cargo_path())
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
