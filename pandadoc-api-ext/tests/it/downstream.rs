//! A crate outside the workspace, depending on `pandadoc-api-ext` by path as a user would,
//! builds the workspace README's usage snippet and runs it against a loopback server.
//!
//! It builds in a target directory of its own (`target/downstream`), so it never waits on the
//! lock of the `cargo test` that runs it; the first run compiles the dependencies (about a
//! minute on 2 cores), later runs only what changed.

use std::path::{Path, PathBuf};
use std::process::Command;

use httpmock::prelude::*;
use serde_json::json;

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The first Rust code block under `## Usage` in the workspace README.
fn readme_snippet() -> String {
    let readme = std::fs::read_to_string(workspace().join("README.md")).unwrap();
    let usage = &readme[readme.find("\n## Usage").expect("a Usage section")..];
    let start = usage.find("```rust").expect("a rust block");
    let body = &usage[start..];
    let body = &body[body.find('\n').unwrap() + 1..];
    body[..body.find("```").expect("a closed block")].to_string()
}

#[tokio::test]
async fn the_readme_snippet_builds_outside_the_workspace_and_runs() {
    let root = workspace().canonicalize().unwrap();
    let dir = root.join("target/downstream/app");
    std::fs::create_dir_all(dir.join("src")).unwrap();
    // A workspace of its own: cargo must not take it for a member of ours.
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            r#"[package]
name = "downstream-app"
version = "0.0.0"
edition = "2024"
publish = false

[workspace]

[dependencies]
pandadoc-api-ext = {{ path = "{}" }}
{}
{}
"#,
            root.join("pandadoc-api-ext").display(),
            workspace_dependency(&root, "tokio"),
            workspace_dependency(&root, "chrono"),
        ),
    )
    .unwrap();
    std::fs::write(dir.join("src/main.rs"), readme_snippet()).unwrap();
    // Our lock file: the same dependency versions as the workspace, nothing to resolve anew.
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();

    // Under the caller's target directory when it names one (CI's clone-alone step, the corpus's
    // bumped copies): the app's dependencies are then compiled once, not once per copy.
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .filter(|dir| dir.is_absolute())
        .unwrap_or_else(|| root.join("target"))
        .join("downstream/target");
    let build = Command::new(env!("CARGO"))
        .args(["build", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", &target)
        .env_remove("RUSTFLAGS")
        .output()
        .unwrap();
    assert!(
        build.status.success(),
        "the README snippet does not build as a user's crate:\n{}",
        String::from_utf8_lossy(&build.stderr)
    );

    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/public/v1/sms-opt-outs")
                .header("authorization", "API-Key downstream-key");
            then.status(200).json_body(json!({"results": [
                {"phone_number": "+15550001111", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"}
            ]}));
        })
        .await;
    let binary = target.join(format!(
        "debug/downstream-app{}",
        std::env::consts::EXE_SUFFIX
    ));
    let run = Command::new(binary)
        .env_clear()
        .env("PANDADOC_API_KEY", "downstream-key")
        .env("PANDADOC_BASE_URL", server.base_url())
        .output()
        .unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    mock.assert_async().await;
    let stdout = String::from_utf8(run.stdout).unwrap();
    assert!(
        stdout.contains("\"+15550001111\"")
            && stdout.contains("OptOut")
            && stdout.contains("2025-01-28T12:00:00Z"),
        "{stdout}"
    );
}

/// `name`'s line in the workspace's `[workspace.dependencies]`: the app asks for what the
/// workspace uses, written in one place.
fn workspace_dependency(root: &std::path::Path, name: &str) -> String {
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).unwrap();
    manifest
        .lines()
        .skip_while(|l| l.trim() != "[workspace.dependencies]")
        .find(|l| l.starts_with(&format!("{name} = ")))
        .unwrap_or_else(|| panic!("{name} is not in [workspace.dependencies]"))
        .to_string()
}
