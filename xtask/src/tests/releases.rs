//! The published releases, beyond what `cargo xtask corpus` runs: the bump report of every step
//! of the history, and a client generated from a fixture of our own, end to end.

use std::path::PathBuf;

use crate::codegen::generate;
use crate::commands::corpus;

/// Every step between consecutive releases of the history (`history/` of [the published
/// releases](crate::paths::shared_specs), with the folder itself and `releases/`) gives a bump
/// report, as `cargo xtask corpus --reports` prints them: none fails, and each names both
/// versions and says what changed or that nothing did. Without the releases it skips with one
/// line (fails under `CI=true`).
#[test]
fn every_step_of_the_history_has_a_bump_report() {
    let root = crate::paths::workspace_root();
    let Some(shared) = crate::paths::shared_specs_or_skip(&root, "the history's bump reports")
        .unwrap_or_else(|e| panic!("{e}"))
    else {
        return;
    };
    let mut inputs: Vec<PathBuf> = corpus::default_inputs(&root);
    inputs.push(shared.join("history"));
    let releases = corpus::discover(&inputs).unwrap();
    assert!(
        releases.len() > 2,
        "the history is {}",
        shared.join("history").display()
    );
    for step in releases.windows(2) {
        let report = corpus::step_report(&step[0], &step[1]);
        let title = report.lines().next().unwrap_or_default();
        assert!(
            title.starts_with("## ")
                && title.contains(&step[0].version)
                && title.contains(&step[1].version),
            "{title}"
        );
        assert!(report.lines().count() > 2, "{report}");
    }
}

/// Generates a client from `tests/fixtures/gadgets-1.0.0.json` (a PATCH with a nullable field,
/// a multipart upload, two unions), builds it with `-D warnings` and runs
/// `tests/fixtures/gadgets_e2e.rs` against it: the generated code itself, end to end.
#[test]
#[ignore = "builds a generated client and its tests (a minute); .ci/run runs it"]
fn fixture_client_sends_and_reads_what_the_spec_says() {
    let root = crate::paths::workspace_root();
    let dir = root.join("target/corpus/gadgets");
    let _ = std::fs::remove_dir_all(&dir);
    let path = root.join("xtask/tests/fixtures/gadgets-1.0.0.json");
    let spec = generate::load(&path).unwrap();
    let code = generate::render(&spec, "gadgets-1.0.0.json").unwrap();
    generate::write_crate(&spec, &dir, &code.client, true).unwrap();
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
    let out = std::process::Command::new(crate::paths::cargo_path())
        .args(["test", "-q", "--test", "e2e"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", crate::paths::generated_target(&root))
        .env("RUSTFLAGS", crate::paths::GENERATED_RUSTFLAGS)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}
