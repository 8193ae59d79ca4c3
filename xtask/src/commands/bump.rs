//! `cargo xtask bump PATH`: vendor a new spec byte for byte, regenerate, and report what
//! changed for a client user (the report is [`crate::spec_diff`]'s).

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};

use super::generate::write_generated;
use crate::codegen::generate;
use crate::spec_diff;

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
    let changes = spec_diff::changes(&old.json, &new.json);
    let report = spec_diff::report(&old.json, &new.json, &changes);
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
