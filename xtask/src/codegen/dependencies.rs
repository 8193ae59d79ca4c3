//! Dependency requirements written into the manifests the xtask writes (generated clients,
//! build-cost crates), from one place: the workspace's `[workspace.dependencies]`.

use anyhow::{Context, Result};
use toml_edit::{DocumentMut, InlineTable, Item, Value};

/// The workspace manifest, as this xtask was built with it.
const WORKSPACE_MANIFEST: &str = include_str!("../../../Cargo.toml");

/// `name = { version = ..., features = [...] }` as the workspace declares `name` (a `path` is
/// left out), `optional` when asked.
pub fn line(name: &str, optional: bool) -> Result<String> {
    let doc: DocumentMut = WORKSPACE_MANIFEST
        .parse()
        .context("the workspace manifest is not TOML")?;
    let declared = doc
        .get("workspace")
        .and_then(|w| w.get("dependencies"))
        .and_then(|d| d.get(name))
        .with_context(|| format!("{name} is not in [workspace.dependencies]"))?;
    let mut table = match declared {
        Item::Value(Value::String(version)) => {
            let mut t = InlineTable::new();
            t.insert("version", version.value().as_str().into());
            t
        }
        Item::Value(Value::InlineTable(t)) => t.clone(),
        other => anyhow::bail!("{name}: unexpected declaration {other}"),
    };
    table.remove("path");
    if optional {
        table.insert("optional", true.into());
    }
    table.fmt();
    Ok(format!("{name} = {}", table.to_string().trim()))
}

/// [`line`] for each of `names`, one per line.
pub fn lines(names: &[&str]) -> Result<String> {
    names
        .iter()
        .map(|name| line(name, false).map(|l| l + "\n"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_follow_the_workspace_declarations() {
        let reqwest = line("reqwest", false).unwrap();
        assert!(reqwest.starts_with("reqwest = { version = "), "{reqwest}");
        assert!(reqwest.contains("default-features = false"), "{reqwest}");
        let schemars = line("schemars", true).unwrap();
        assert!(schemars.ends_with("optional = true }"), "{schemars}");
        let serde_json = line("serde_json", false).unwrap();
        assert!(
            serde_json.starts_with("serde_json = { version = "),
            "{serde_json}"
        );
        assert!(!line("pandadoc-api", false).unwrap().contains("path"));
        assert!(line("no-such-crate", false).is_err());
        // Each line is a valid dependency declaration.
        let manifest = format!("[dependencies]\n{reqwest}\n{schemars}\n{serde_json}\n");
        manifest.parse::<DocumentMut>().unwrap();
    }
}
