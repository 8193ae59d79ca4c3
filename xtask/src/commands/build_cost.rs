//! `cargo xtask build-cost`: what depending on `pandadoc-api-ext` costs a user at build time.
//!
//! Builds two empty binary crates cold (debug, each in a fresh target directory, dependencies
//! already downloaded), one after the other on this machine: one depending on
//! `pandadoc-api-ext`, one on the plain stack it stands on (reqwest, serde, chrono and tokio with
//! the workspace's features). Prints both times and their ratio; then the same with each of the
//! ledger's features (`sqlite`, `postgres`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// The plain stack: what pandadoc-api-ext stands on, with the workspace's features.
fn plain() -> Result<String> {
    crate::codegen::dependencies::lines(&["reqwest", "serde", "chrono", "tokio"])
}

fn build_cold(root: &Path, name: &str, dependencies: &str) -> Result<Duration> {
    let dir = root.join("target/build-cost").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("src"))?;
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"{name}\"\nversion = \"0.0.0\"\nedition = \"2024\"\npublish = false\n\n[workspace]\n\n[dependencies]\n{dependencies}"
        ),
    )?;
    std::fs::write(dir.join("src/main.rs"), "fn main() {}\n")?;
    std::fs::copy(root.join("Cargo.lock"), dir.join("Cargo.lock"))?;
    // Resolve and download first, so that only compiling is timed.
    let fetch = Command::new(crate::paths::cargo_path())
        .arg("fetch")
        .current_dir(&dir)
        .status()
        .context("cannot run cargo fetch")?;
    if !fetch.success() {
        bail!("cargo fetch failed for {name}");
    }
    let started = Instant::now();
    let status = Command::new(crate::paths::cargo_path())
        .args(["build", "--quiet"])
        .current_dir(&dir)
        .env("CARGO_TARGET_DIR", dir.join("target"))
        .env("CARGO_INCREMENTAL", "0")
        .env_remove("RUSTFLAGS")
        .status()
        .context("cannot run cargo build")?;
    if !status.success() {
        bail!("cargo build failed for {name}");
    }
    Ok(started.elapsed())
}

pub fn build_cost(root: &Path) -> Result<()> {
    let ext = |features: &str| {
        format!(
            "pandadoc-api-ext = {{ path = \"{}\", features = [{features}] }}\n",
            root.join("pandadoc-api-ext").display()
        )
    };
    let plain = build_cold(root, "plain-stack", &plain()?)?;
    let with_ext = build_cold(root, "with-ext", &ext(""))?;
    println!(
        "build-cost: cold debug build of an empty binary: plain reqwest + serde + chrono + tokio {:.1} s, \
         with pandadoc-api-ext {:.1} s ({:+.1}%)",
        plain.as_secs_f64(),
        with_ext.as_secs_f64(),
        (with_ext.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
    );
    for feature in ["sqlite", "postgres"] {
        let with = build_cold(
            root,
            &format!("with-ext-{feature}"),
            &ext(&format!("{feature:?}")),
        )?;
        println!(
            "build-cost: with pandadoc-api-ext and feature {feature}: {:.1} s ({:+.1}% on the plain stack)",
            with.as_secs_f64(),
            (with.as_secs_f64() / plain.as_secs_f64() - 1.0) * 100.0
        );
    }
    Ok(())
}
