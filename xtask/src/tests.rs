//! Tests of the drift gate, spec bumps and the release corpus (each normalization rule is tested
//! beside it, in `normalize/`).

use std::path::Path;

use serde_json::{Value, json};

use crate::generate::{self, Drift};

/// The xtask's own fixture spec. Tests of the xtask never read facts of the vendored spec: a
/// bump to any release must leave them green.
const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fixtures/widgets-1.0.0.json"
);

fn fixture() -> Value {
    serde_json::from_slice(&std::fs::read(FIXTURE).unwrap()).unwrap()
}

/// A scratch workspace whose vendored spec is the fixture, with its client generated (and the
/// raw client's manifest and changelog beside it, as `generate` and `bump` update them).
fn scratch_workspace() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let root = crate::workspace_root();
    for (from, to) in [
        (std::path::PathBuf::from(FIXTURE), generate::VENDORED_SPEC),
        (root.join(generate::MANIFEST), generate::MANIFEST),
        (root.join(crate::CHANGELOG), crate::CHANGELOG),
    ] {
        let to = dir.path().join(to);
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(from, to).unwrap();
    }
    std::fs::create_dir_all(dir.path().join("pandadoc-api/src")).unwrap();
    let spec = generate::load(&dir.path().join(generate::VENDORED_SPEC)).unwrap();
    let code = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
    crate::write_generated(dir.path(), &code).unwrap();
    dir
}

fn drift_of(root: &Path) -> Drift {
    crate::workspace_drift(root).unwrap().2
}

#[test]
fn check_passes_on_the_committed_file() {
    assert!(matches!(drift_of(&crate::workspace_root()), Drift::Same));
    assert!(matches!(drift_of(scratch_workspace().path()), Drift::Same));
}

#[test]
fn check_fails_on_a_stale_file_with_a_diff() {
    let dir = scratch_workspace();
    let file = dir.path().join(generate::GENERATED_FILE);
    let text = std::fs::read_to_string(&file)
        .unwrap()
        .replace("pub struct WidgetList ", "pub struct WidgetListStale ");
    std::fs::write(&file, text).unwrap();
    match drift_of(dir.path()) {
        Drift::Differs(diff) => {
            assert!(
                diff.contains("-") && diff.contains("WidgetListStale"),
                "{diff}"
            );
            assert!(diff.lines().count() <= 61, "the diff is bounded");
        }
        _ => panic!("a stale file must be reported"),
    }
}

#[test]
fn check_fails_on_a_missing_file() {
    let dir = scratch_workspace();
    std::fs::remove_file(dir.path().join(generate::GENERATED_FILE)).unwrap();
    assert!(matches!(drift_of(dir.path()), Drift::Missing));
}

#[test]
fn check_fails_when_the_manifest_lacks_a_dependency_the_code_uses() {
    let dir = scratch_workspace();
    let spec_path = dir.path().join(generate::VENDORED_SPEC);
    let mut spec = fixture();
    spec["components"]["schemas"]["WidgetList"]["properties"]["owner"] =
        json!({ "type": "string", "format": "uuid" });
    std::fs::write(&spec_path, serde_json::to_string_pretty(&spec).unwrap()).unwrap();
    let code = crate::workspace_drift(dir.path()).unwrap().1;
    std::fs::write(dir.path().join(generate::GENERATED_FILE), &code).unwrap();
    let Drift::Differs(note) = drift_of(dir.path()) else {
        panic!("the manifest must follow the code")
    };
    assert!(
        note.contains(generate::MANIFEST) && note.contains("uuid"),
        "{note}"
    );
    crate::write_generated(dir.path(), &code).unwrap();
    assert!(matches!(drift_of(dir.path()), Drift::Same));
    let manifest = std::fs::read_to_string(dir.path().join(generate::MANIFEST)).unwrap();
    assert!(
        manifest.contains("uuid = { workspace = true }"),
        "{manifest}"
    );
}

#[test]
fn check_fails_after_any_change_to_the_spec() {
    // Even a change that alters no type (a summary) changes the sha256 in the header.
    let dir = scratch_workspace();
    let spec_path = dir.path().join(generate::VENDORED_SPEC);
    let text = std::fs::read_to_string(&spec_path).unwrap();
    std::fs::write(&spec_path, text.replace("Recent widgets", "Latest widgets")).unwrap();
    let Drift::Differs(diff) = drift_of(dir.path()) else {
        panic!("a changed spec must be reported")
    };
    assert!(diff.contains("SHA-256"), "{diff}");

    // And a change of a type shows in the code.
    let mut json = fixture();
    json.pointer_mut(
        "/components/schemas/WidgetList/properties/results/items/properties/state/enum",
    )
    .unwrap()
    .as_array_mut()
    .unwrap()
    .push(json!("broken"));
    std::fs::write(&spec_path, serde_json::to_string_pretty(&json).unwrap()).unwrap();
    let Drift::Differs(diff) = drift_of(dir.path()) else {
        panic!("a changed enum must be reported")
    };
    assert!(diff.contains("Broken"), "{diff}");
}

#[test]
fn output_is_deterministic() {
    let root = crate::workspace_root();
    for path in [root.join(generate::VENDORED_SPEC), FIXTURE.into()] {
        let spec = generate::load(&path).unwrap();
        let a = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
        let b = generate::render(&spec, generate::VENDORED_SPEC).unwrap();
        assert_eq!(a, b);
        assert!(a.starts_with("// @generated"));
        assert!(
            a.contains(&spec.sha256) && a.contains(&format!("// Version:    {}\n", spec.version)),
            "the header names the spec's version and hash"
        );
    }
}

#[test]
fn bad_specs_get_errors_naming_the_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.json");
    let err = generate::load(&missing).err().unwrap().to_string();
    assert!(
        err.contains("cannot read spec") && err.contains("nope.json"),
        "{err}"
    );

    let invalid = dir.path().join("invalid.json");
    std::fs::write(&invalid, "{ not json").unwrap();
    let err = format!("{:#}", generate::load(&invalid).err().unwrap());
    assert!(
        err.contains("not valid JSON") && err.contains("invalid.json"),
        "{err}"
    );

    let swagger = dir.path().join("swagger.json");
    std::fs::write(
        &swagger,
        r#"{"swagger": "2.0", "info": {"title": "t", "version": "1"}}"#,
    )
    .unwrap();
    let err = generate::load(&swagger).err().unwrap().to_string();
    assert!(
        err.contains("not an OpenAPI 3.0.x document") && err.contains("swagger.json"),
        "{err}"
    );
}

// ---- the full published spec ------------------------------------------------------------------

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
    crate::normalize::normalize(&mut normalized);
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
        // The copy is refreshed, not removed: its `target/` (the downstream test's) stays warm.
        for entry in std::fs::read_dir(&root).unwrap() {
            let entry = entry.unwrap();
            let name = entry.file_name();
            if name == "target" || name == ".git" {
                continue;
            }
            if entry.file_type().unwrap().is_dir() {
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

// ---- spec bumps ---------------------------------------------------------------------------------

/// The fixture with one change of each kind a release can bring.
fn bumped_spec() -> Value {
    let mut spec = fixture();
    spec["info"]["version"] = json!("1.1.0");
    let op = &mut spec["paths"]["/v1/widgets"]["get"];
    let params = op["parameters"].as_array_mut().unwrap();
    params.retain(|p| p["name"] != "order");
    params.push(json!({ "name": "limit", "in": "query", "schema": { "type": "integer" } }));
    op["responses"]["404"] = json!({ "description": "Not found" });
    let item = &mut spec["components"]["schemas"]["WidgetList"]["properties"]["results"]["items"];
    item["properties"]["state"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("broken"));
    item["properties"]
        .as_object_mut()
        .unwrap()
        .remove("changed");
    item["properties"]["color"] = json!({ "type": "string" });
    spec["paths"]["/v1/widgets/{id}"] = json!({ "get": {
        "operationId": "getWidget",
        "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
        "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "object" } } } } }
    }});
    spec
}

#[test]
fn the_change_report_lists_each_change_marked_breaking_or_not() {
    let (old, new) = (fixture(), bumped_spec());
    let changes = crate::bump::changes(&old, &new);
    let lines: Vec<(bool, &str)> = changes
        .iter()
        .map(|c| (c.breaking, c.what.as_str()))
        .collect();
    let item = "schema `WidgetList`.results[]";
    let expected = [
        (
            false,
            "operation `getWidget` (GET /v1/widgets/{id}) added".to_string(),
        ),
        (
            true,
            "`listWidgets`: query parameter `order` removed".to_string(),
        ),
        (
            false,
            "`listWidgets`: optional query parameter `limit` added".to_string(),
        ),
        (false, "`listWidgets`: response 404 added".to_string()),
        (false, format!("{item}.state: enum value \"broken\" added")),
        (true, format!("{item}: property `changed` removed")),
        (false, format!("{item}: optional property `color` added")),
    ];
    assert_eq!(lines.len(), expected.len(), "{lines:#?}");
    for (breaking, what) in &expected {
        assert!(
            lines.contains(&(*breaking, what.as_str())),
            "missing {what:?} in {lines:#?}"
        );
    }
    let report = crate::bump::report(&old, &new, &changes);
    assert!(
        report.starts_with("## Widgets API 1.0.0 → 1.1.0"),
        "{report}"
    );
    assert!(
        report.contains("### Breaking")
            && report.contains("- **breaking**: `listWidgets`: query parameter `order` removed"),
        "{report}"
    );
}

#[test]
fn bump_replaces_the_spec_byte_for_byte_regenerates_and_writes_the_report() {
    let dir = scratch_workspace();
    let new_path = dir.path().join("new.json");
    let text = serde_json::to_string_pretty(&bumped_spec()).unwrap() + "\n";
    std::fs::write(&new_path, &text).unwrap();
    let (report, report_path) = crate::bump_workspace(dir.path(), &new_path).unwrap();
    assert_eq!(
        std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap(),
        text.as_bytes()
    );
    let generated = std::fs::read_to_string(dir.path().join(generate::GENERATED_FILE)).unwrap();
    let sha = generate::load(&new_path).unwrap().sha256;
    assert!(generated.contains("// Version:    1.1.0") && generated.contains(&sha));
    assert!(
        generated.contains("pub const SPEC_VERSION: &str = \"1.1.0\";")
            && generated.contains("fn get_widget")
    );
    assert_eq!(std::fs::read_to_string(&report_path).unwrap(), report);
    assert!(
        report_path.ends_with("1.0.0-to-1.1.0.md"),
        "{}",
        report_path.display()
    );
    let changelog = std::fs::read_to_string(dir.path().join(crate::CHANGELOG)).unwrap();
    let at = changelog
        .find(&report)
        .expect("the report is in the changelog");
    assert!(
        changelog[..at].starts_with("# Changelog") && !changelog[..at].contains("\n## "),
        "newest first, under the title:\n{changelog}"
    );
    assert!(
        matches!(drift_of(dir.path()), Drift::Same),
        "the workspace is consistent after a bump"
    );
}

#[test]
fn a_bad_spec_bumps_nothing() {
    let dir = scratch_workspace();
    let before = std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap();
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        "{\"openapi\": \"3.1.0\", \"info\": {\"title\": \"t\", \"version\": \"9\"}}",
    )
    .unwrap();
    let err = crate::bump_workspace(dir.path(), &bad)
        .unwrap_err()
        .to_string();
    assert!(err.contains("not an OpenAPI 3.0.x document"), "{err}");
    assert_eq!(
        std::fs::read(dir.path().join(generate::VENDORED_SPEC)).unwrap(),
        before
    );
}
