//! Where things are: the workspace, the cargo to run, and the published releases.

use std::path::{Path, PathBuf};

/// The cargo that runs the xtask (`$CARGO`), else `cargo` from `PATH`.
pub fn cargo_path() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The workspace's root directory.
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace")
        .to_path_buf()
}

/// The flags of every build of generated code (the corpus, the fixture client): a warning in
/// generated code is a failure.
pub const GENERATED_RUSTFLAGS: &str = "-D warnings";

/// The target directory of those builds: the caller's `CARGO_TARGET_DIR` when it is an
/// absolute path and the caller builds with the same `RUSTFLAGS` (CI does both, so they reuse
/// the dependencies its test step compiled), otherwise `target/corpus/target` (other flags
/// would make each side rebuild the other's dependencies).
pub fn generated_target(root: &Path) -> PathBuf {
    let same_flags =
        std::env::var("RUSTFLAGS").is_ok_and(|flags| flags.trim() == GENERATED_RUSTFLAGS);
    match std::env::var_os("CARGO_TARGET_DIR").map(PathBuf::from) {
        Some(dir) if dir.is_absolute() && same_flags => dir,
        _ => root.join("target/corpus/target"),
    }
}

/// The variable that says where PandaDoc's published releases are (see [`shared_specs`]).
pub const SHARED_SPECS_VAR: &str = "PANDADOC_SHARED_SPECS";

/// Where the published releases are: `$PANDADOC_SHARED_SPECS`, else `../shared/specs` beside
/// the workspace. Whole releases (`pandadoc-openapi-full-<version>.json`), with more in its
/// `releases/` and `history/`; PandaDoc publishes them in its OpenAPI specification repository.
pub fn shared_specs(root: &Path) -> PathBuf {
    std::env::var_os(SHARED_SPECS_VAR).map_or_else(|| root.join("../shared/specs"), PathBuf::from)
}

/// [`shared_specs`] if it is there. Without it: under `CI=true` an error (CI has the releases
/// beside the clone), else `None` after one line on stderr saying what was skipped and how to
/// get the releases, so that a clone with nothing beside it stays green (the tests' way in).
#[cfg(test)]
pub fn shared_specs_or_skip(root: &Path, what: &str) -> anyhow::Result<Option<PathBuf>> {
    let dir = shared_specs(root);
    if dir.is_dir() {
        return Ok(Some(dir));
    }
    let why = format!(
        "{what} needs PandaDoc's published releases in {} (set {SHARED_SPECS_VAR} to a folder of \
         pandadoc-openapi-full-<version>.json files, from PandaDoc's OpenAPI specification \
         repository)",
        dir.display()
    );
    if std::env::var("CI").is_ok_and(|v| v == "true") {
        anyhow::bail!("CI=true but {why}");
    }
    eprintln!("skipped: {why}");
    Ok(None)
}
