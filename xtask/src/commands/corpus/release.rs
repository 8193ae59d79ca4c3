//! Finding releases and choosing among them.

use std::path::PathBuf;

use anyhow::{Context, Result, bail};

use crate::codegen::generate::{self, Spec};

/// A release file, loaded once: its version (`info.version`), operations and document; every
/// step of a run uses the document discovery loaded. The whole history held parsed is small
/// enough: `corpus --reports` over its 86 releases (50 MB of JSON) peaked at 256 MB resident.
pub struct Release {
    pub path: PathBuf,
    pub version: String,
    pub operation_ids: Vec<String>,
    pub spec: Spec,
}

impl std::fmt::Debug for Release {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ({})", self.version, self.path.display())
    }
}

/// The releases in `inputs` (files, or directories whose `*full*.json` files are releases),
/// oldest first by version.
pub fn discover(inputs: &[PathBuf]) -> Result<Vec<Release>> {
    let mut files = Vec::new();
    for input in inputs {
        if input.is_file() {
            files.push(input.clone());
            continue;
        }
        let entries = std::fs::read_dir(input).with_context(|| {
            format!(
                "cannot read {} (the published releases are in {}, or where {} says)",
                input.display(),
                "../shared/specs",
                crate::paths::SHARED_SPECS_VAR
            )
        })?;
        for entry in entries {
            let path = entry?.path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            if name.ends_with(".json") && name.contains("full") {
                files.push(path);
            }
        }
    }
    let mut releases = files
        .iter()
        .map(|path| {
            let spec = generate::load(path)?;
            // Absolute: the contract suite reads it from another directory.
            let path = std::path::absolute(path)?;
            Ok(Release {
                path,
                version: spec.version.clone(),
                operation_ids: crate::commands::cut::operation_ids(&spec.json),
                spec,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    releases.sort_by(|a, b| {
        version_key(&a.version)
            .cmp(&version_key(&b.version))
            .then_with(|| a.path.cmp(&b.path))
    });
    if releases.is_empty() {
        bail!("no release files (`*full*.json`) in {inputs:?}");
    }
    Ok(releases)
}

/// `7.18.1` sorts before `7.26.0` and `10.0.0`: the numbers of a version, in order.
fn version_key(version: &str) -> Vec<u64> {
    version
        .split(|c: char| !c.is_ascii_digit())
        .filter(|s| !s.is_empty())
        .map(|s| s.parse().unwrap_or(u64::MAX))
        .collect()
}

/// The releases `only` names, in version order: comma-separated versions (`7.2.0`), inclusive
/// ranges (`6.3.0..7.6.0`, `7.2.0..`, `..2.0.0`), `oldest` and `newest`. All when `None`.
/// A version that names no release is an error.
pub fn select<'a>(releases: &'a [Release], only: Option<&str>) -> Result<Vec<&'a Release>> {
    let Some(only) = only else {
        return Ok(releases.iter().collect());
    };
    let mut chosen = vec![false; releases.len()];
    for item in only.split(',').map(str::trim).filter(|s| !s.is_empty()) {
        let hits: Vec<usize> = match item {
            "oldest" => (!releases.is_empty()).then_some(0).into_iter().collect(),
            "newest" => releases.len().checked_sub(1).into_iter().collect(),
            range if range.contains("..") => {
                let (from, to) = range.split_once("..").expect("checked");
                let key = |v: &Release| version_key(&v.version);
                (0..releases.len())
                    .filter(|&i| {
                        (from.is_empty() || key(&releases[i]) >= version_key(from))
                            && (to.is_empty() || key(&releases[i]) <= version_key(to))
                    })
                    .collect()
            }
            version => (0..releases.len())
                .filter(|&i| releases[i].version == version)
                .collect(),
        };
        if hits.is_empty() {
            bail!("--only {item:?} names no release of the corpus");
        }
        for i in hits {
            chosen[i] = true;
        }
    }
    Ok(releases
        .iter()
        .zip(chosen)
        .filter_map(|(r, c)| c.then_some(r))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn releases(versions: &[&str]) -> Vec<Release> {
        versions
            .iter()
            .map(|v| Release {
                path: PathBuf::from(format!("{v}.json")),
                version: v.to_string(),
                operation_ids: Vec::new(),
                spec: Spec {
                    path: PathBuf::from(format!("{v}.json")),
                    json: serde_json::Value::Null,
                    title: "t".into(),
                    version: v.to_string(),
                    sha256: String::new(),
                },
            })
            .collect()
    }

    fn versions(chosen: &[&Release]) -> Vec<String> {
        chosen.iter().map(|r| r.version.clone()).collect()
    }

    #[test]
    fn versions_sort_by_their_numbers() {
        let mut v = vec!["10.0.0", "7.26.0", "7.18.1", "7.2.0"];
        v.sort_by_key(|v| version_key(v));
        assert_eq!(v, ["7.2.0", "7.18.1", "7.26.0", "10.0.0"]);
    }

    #[test]
    fn only_takes_versions_ranges_and_the_ends() {
        let all = releases(&["1.0.0", "6.3.0", "7.2.0", "7.6.0", "8.0.0"]);
        let pick = |only| versions(&select(&all, Some(only)).unwrap());
        assert_eq!(pick("7.2.0"), ["7.2.0"]);
        assert_eq!(pick("6.3.0..7.6.0"), ["6.3.0", "7.2.0", "7.6.0"]);
        assert_eq!(pick("7.2.0.."), ["7.2.0", "7.6.0", "8.0.0"]);
        assert_eq!(pick("..6.3.0,newest"), ["1.0.0", "6.3.0", "8.0.0"]);
        assert_eq!(pick("oldest, newest"), ["1.0.0", "8.0.0"]);
        assert_eq!(versions(&select(&all, None).unwrap()).len(), 5);
        let err = select(&all, Some("9.9.9")).unwrap_err().to_string();
        assert!(err.contains("9.9.9"), "{err}");
    }

    #[test]
    fn discover_reads_directories_and_files_and_sorts_by_version() {
        let dir = tempfile::tempdir().unwrap();
        for v in ["7.26.0", "10.0.0", "7.3.0"] {
            let doc = serde_json::json!({ "openapi": "3.0.3", "info": { "title": "t", "version": v },
                "paths": { "/a": { "get": { "operationId": format!("op{v}"), "responses": {} } } } });
            std::fs::write(dir.path().join(format!("x-full-{v}.json")), doc.to_string()).unwrap();
        }
        std::fs::write(dir.path().join("notes.json"), "{}").unwrap();
        let found = discover(&[dir.path().to_path_buf()]).unwrap();
        assert_eq!(
            versions(&found.iter().collect::<Vec<_>>()),
            ["7.3.0", "7.26.0", "10.0.0"]
        );
        assert_eq!(found[0].operation_ids, ["op7.3.0"]);
        assert!(discover(&[dir.path().join("missing")]).is_err());
    }
}
