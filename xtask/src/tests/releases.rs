//! The published releases (ignored by default; `.ci/run` runs them): the release corpus, fragment
//! bumps, and a client generated from a fixture of our own, end to end.

use std::path::Path;

use serde_json::Value;

use super::drift_of;
use crate::generate::{self, Drift};

/// Copies `from` into `to` (no `target/`).
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let (src, dst) = (entry.path(), to.join(entry.file_name()));
        if entry.file_type().unwrap().is_dir() {
            if entry.file_name() != "target" {
                copy_dir(&src, &dst);
            }
        } else {
            std::fs::copy(&src, &dst).unwrap();
        }
    }
}

/// The published releases: the full spec(s) in `../shared/specs/` and every file of
/// `../shared/specs/releases/`, discovered (none is named here). `PANDADOC_SPEC_CORPUS` names
/// another directory of release files (relative to the workspace root).
fn release_corpus() -> Vec<std::path::PathBuf> {
    let shared = crate::workspace_root().join("../shared/specs");
    let dirs = match std::env::var_os("PANDADOC_SPEC_CORPUS") {
        // Relative to the workspace root, as `.ci/run` writes it.
        Some(dir) => vec![crate::workspace_root().join(dir)],
        None => vec![shared.clone(), shared.join("releases")],
    };
    let mut files: Vec<std::path::PathBuf> = dirs
        .iter()
        .filter_map(|dir| std::fs::read_dir(dir).ok())
        .flatten()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            name.ends_with(".json") && name.contains("full")
        })
        .collect();
    files.sort();
    assert!(
        !files.is_empty(),
        "no release files in {dirs:?}: the corpus is ../shared/specs beside the workspace"
    );
    files
}

/// The target directory of the corpus and fragment-bump tests: one, so that the dependencies
/// they share are compiled once.
fn shared_target() -> std::path::PathBuf {
    crate::workspace_root().join("target/release-corpus/target")
}

/// A workspace of generated clients under `work/ws`: `pandadoc-api-ext`, `tests` and `openapi`
/// as they are here, `pandadoc-api` left for the caller to write.
fn corpus_workspace(work: &Path) -> std::path::PathBuf {
    let root = crate::workspace_root();
    let ws = work.join("ws");
    for dir in ["pandadoc-api-ext", "tests", "openapi"] {
        // A fresh copy: a file deleted here must not linger there.
        let _ = std::fs::remove_dir_all(ws.join(dir));
        copy_dir(&root.join(dir), &ws.join(dir));
    }
    std::fs::copy(root.join("Cargo.lock"), ws.join("Cargo.lock")).unwrap();
    let manifest: String = std::fs::read_to_string(root.join("Cargo.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("default-members"))
        .map(|l| {
            if l.starts_with("members") {
                r#"members = ["pandadoc-api", "pandadoc-api-ext", "tests"]"#
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    std::fs::write(ws.join("Cargo.toml"), manifest).unwrap();
    ws
}

/// Generates every release of the corpus into a crate, builds it with `-D warnings` beside
/// copies of `pandadoc-api-ext` and `tests/`, and runs the contract suite on it: every
/// documented response of every operation through both clients. Prints a table of the results.
#[test]
#[ignore = "generates, compiles and runs the contract suite on every published release (minutes); .ci/run runs it"]
fn release_corpus_generates_compiles_and_passes_the_contract_suite() {
    let root = crate::workspace_root();
    let work = root.join("target/release-corpus");
    let ws = corpus_workspace(&work);
    let mut rows = Vec::new();
    let mut failed = Vec::new();
    for spec_path in release_corpus() {
        let started = std::time::Instant::now();
        let spec = generate::load(&spec_path).unwrap();
        let operations = crate::fragment::operation_ids(&spec.json).len();
        let kinds = union_and_form_counts(&spec.json);
        let code = generate::render(&spec, &spec_path.display().to_string()).unwrap();
        generate::write_crate(&spec, &ws.join("pandadoc-api"), &code, false).unwrap();
        let out = std::process::Command::new(crate::cargo_path())
            .args([
                "test",
                "-q",
                "-p",
                "pandadoc-contract-tests",
                "--test",
                "contract",
            ])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", shared_target())
            .env("RUSTFLAGS", "-D warnings")
            .env("PANDADOC_CONTRACT_SPEC", &spec_path)
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        let report: Vec<&str> = stdout
            .lines()
            .filter(|l| l.starts_with("contract:"))
            .collect();
        let complete = report
            .iter()
            .any(|l| l.starts_with(&format!("contract: {operations} operations,")));
        let name = spec_path.file_name().unwrap().to_string_lossy().to_string();
        rows.push(format!(
            "| {name} | {} | {operations} | {kinds} | {:.0} s | {} |",
            spec.version,
            started.elapsed().as_secs_f64(),
            report.join("; ")
        ));
        if !out.status.success() || !complete {
            let failures: Vec<&str> = stdout.lines().filter(|l| l.starts_with("FAILED")).collect();
            failed.push(format!(
                "{name}: {}\n{}\n{}",
                if complete {
                    "failed"
                } else {
                    "not every operation was exercised"
                },
                failures.join("\n"),
                String::from_utf8_lossy(&out.stderr)
                    .lines()
                    .filter(|l| l.starts_with("error"))
                    .take(20)
                    .collect::<Vec<_>>()
                    .join("\n")
            ));
        }
    }
    println!(
        "| release | version | operations | multipart forms | typed unions (enums / sites) | JSON unions (sites) | generate + build + test | contract |"
    );
    println!("| --- | --- | ---: | ---: | ---: | ---: | ---: | --- |");
    println!("{}", rows.join("\n"));
    assert!(failed.is_empty(), "{}", failed.join("\n\n"));
}

/// Generates a client from `tests/fixtures/gadgets-1.0.0.json` (a PATCH with a nullable field,
/// a multipart upload, two unions), builds it with `-D warnings` and runs
/// `tests/fixtures/gadgets_e2e.rs` against it: the generated code itself, end to end.
#[test]
#[ignore = "builds a generated client and its tests (a minute); .ci/run runs it"]
fn fixture_client_sends_and_reads_what_the_spec_says() {
    let root = crate::workspace_root();
    let dir = root.join("target/release-corpus/gadgets");
    let _ = std::fs::remove_dir_all(&dir);
    let path = root.join("xtask/tests/fixtures/gadgets-1.0.0.json");
    let spec = generate::load(&path).unwrap();
    let code = generate::render(&spec, "gadgets-1.0.0.json").unwrap();
    generate::write_crate(&spec, &dir, &code, true).unwrap();
    let mut manifest = std::fs::read_to_string(dir.join("Cargo.toml")).unwrap();
    manifest.push_str(
        "\n[dev-dependencies]\n\
         httpmock = \"0.8\"\n\
         tokio = { version = \"1\", features = [\"rt-multi-thread\", \"macros\"] }\n\
         multer = { version = \"3\", features = [\"tokio-io\"] }\n",
    );
    std::fs::write(dir.join("Cargo.toml"), manifest).unwrap();
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    std::fs::copy(
        root.join("xtask/tests/fixtures/gadgets_e2e.rs"),
        dir.join("tests/e2e.rs"),
    )
    .unwrap();
    let out = std::process::Command::new(crate::cargo_path())
        .args(["test", "-q", "--test", "e2e"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", shared_target())
        .env("RUSTFLAGS", "-D warnings")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// `forms | enums / typed sites | JSON sites` of a release, as the normalization leaves it: the
/// multipart operations with a typed form, the union enums and the schemas that use them, and
/// the unions left as JSON values.
fn union_and_form_counts(spec: &Value) -> String {
    let mut normalized = spec.clone();
    crate::normalize::normalize(&mut normalized).unwrap();
    let forms = crate::forms::multipart_operations(&normalized)
        .iter()
        .filter(|(_, form)| form.is_some())
        .count();
    let enums = normalized[crate::normalize::UNIONS_EXTENSION]
        .as_object()
        .map_or(0, |u| u.len());
    let text = normalized.to_string();
    let typed = text.matches("\"pandadoc_api::unions::").count();
    let json = text.matches("Any JSON value: one of").count();
    format!("{forms} | {enums} / {typed} | {json}")
}

/// Cuts the vendored spec's operations (with every component they reach) out of each release of
/// the corpus, bumps a copy of this workspace to that fragment with `bump_workspace`, and runs
/// the copy's whole `cargo test --workspace`: a bump to a real release needs no hand edit.
#[test]
#[ignore = "bumps a copy of the workspace to each release and runs its tests (minutes); .ci/run runs it"]
fn fragment_bumps_to_every_release_leave_the_workspace_green() {
    let root = crate::workspace_root();
    let vendored = generate::load(&root.join(generate::VENDORED_SPEC)).unwrap();
    let ids = crate::fragment::operation_ids(&vendored.json);
    let work = root.join("target/fragment-bumps");
    let ws = work.join("ws");
    for spec_path in release_corpus() {
        // Each directory is copied afresh, but `target/` (the downstream test's) stays warm.
        for entry in std::fs::read_dir(&root).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
                let _ = std::fs::remove_dir_all(ws.join(&name));
                copy_dir(&entry.path(), &ws.join(&name));
            } else {
                std::fs::create_dir_all(&ws).unwrap();
                std::fs::copy(entry.path(), ws.join(&name)).unwrap();
            }
        }
        let name = spec_path.file_name().unwrap().to_string_lossy().to_string();
        let release = generate::load(&spec_path).unwrap();
        let fragment = work.join(format!("fragment-{name}"));
        let cut = crate::fragment::cut(&release.json, &ids).unwrap();
        std::fs::write(
            &fragment,
            serde_json::to_string_pretty(&cut).unwrap() + "\n",
        )
        .unwrap();
        let (report, _) = crate::bump_workspace(&ws, &fragment).unwrap();
        assert!(
            matches!(drift_of(&ws), Drift::Same),
            "{name}: drift after bump"
        );
        let out = std::process::Command::new(crate::cargo_path())
            .args(["test", "-q", "--workspace"])
            .current_dir(&ws)
            .env("CARGO_TARGET_DIR", shared_target())
            // As in the corpus test: the same flags keep the shared artifacts valid.
            .env("RUSTFLAGS", "-D warnings")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout);
        println!(
            "{name}: bump to {} {}; cargo test --workspace: {}",
            release.version,
            if report.contains("### Breaking") {
                "(breaking changes reported)"
            } else {
                ""
            },
            if out.status.success() { "green" } else { "RED" }
        );
        assert!(
            out.status.success(),
            "{name}: the workspace tests fail after the bump:\n{}\n{}",
            stdout
                .lines()
                .filter(|l| l.contains("FAILED") || l.contains("panicked"))
                .collect::<Vec<_>>()
                .join("\n"),
            String::from_utf8_lossy(&out.stderr)
                .lines()
                .rev()
                .take(40)
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}
