//! Spec loading, code generation and the drift check.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::normalize;

/// The vendored spec and the generated file, relative to the workspace root.
pub const VENDORED_SPEC: &str = "openapi/pandadoc-public-api.json";
pub const GENERATED_FILE: &str = "pandadoc-api/src/generated.rs";
/// The contract tests' harness, generated with the client (not part of the published crate).
pub const HARNESS_FILE: &str = "tests/src/harness.rs";
/// The raw client's manifest: its optional dependencies follow the generated code.
pub const MANIFEST: &str = "pandadoc-api/Cargo.toml";
/// The hand-written files of `pandadoc-api`, reused for standalone crates (`--out`).
const LIB_RS: &str = include_str!("../../../pandadoc-api/src/lib.rs");
const TIMESTAMP_RS: &str = include_str!("../../../pandadoc-api/src/timestamp.rs");
const MULTIPART_RS: &str = include_str!("../../../pandadoc-api/src/multipart.rs");
const UNION_SUPPORT_RS: &str = include_str!("../../../pandadoc-api/src/union_support.rs");

/// A loaded and checked OpenAPI document.
pub struct Spec {
    pub path: PathBuf,
    pub json: Value,
    pub title: String,
    pub version: String,
    pub sha256: String,
}

/// Reads `path` and checks that it is an OpenAPI 3.0.x document. Every error names the file.
pub fn load(path: &Path) -> Result<Spec> {
    let bytes =
        std::fs::read(path).with_context(|| format!("cannot read spec {}", path.display()))?;
    let json: Value = serde_json::from_slice(&bytes)
        .with_context(|| format!("spec {} is not valid JSON", path.display()))?;
    let openapi = json
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("(missing)");
    if !openapi.starts_with("3.0.") {
        bail!(
            "spec {} is not an OpenAPI 3.0.x document: `openapi` is {openapi:?}",
            path.display()
        );
    }
    let info = |key: &str| {
        json.pointer(&format!("/info/{key}"))
            .and_then(Value::as_str)
            .map(String::from)
    };
    let (Some(title), Some(version)) = (info("title"), info("version")) else {
        bail!(
            "spec {} has no `info.title` or `info.version`",
            path.display()
        );
    };
    let sha256 = Sha256::digest(&bytes)
        .iter()
        .fold(String::new(), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        });
    Ok(Spec {
        path: path.to_path_buf(),
        json,
        title,
        version,
        sha256,
    })
}

/// What `spec` generates: the client's `generated.rs`, and the contract tests' harness.
#[derive(Debug, PartialEq, Eq)]
pub struct Generated {
    /// The text of [`GENERATED_FILE`].
    pub client: String,
    /// The text of [`HARNESS_FILE`].
    pub harness: String,
}

/// The full text of the generated files for `spec`; `source` is the spec's path as written in
/// the headers (relative, so that the output does not depend on the machine).
pub fn render(spec: &Spec, source: &str) -> Result<Generated> {
    let mut json = spec.json.clone();
    normalize::normalize(&mut json).with_context(|| format!("spec {}", spec.path.display()))?;
    let document: openapiv3::OpenAPI = serde_json::from_value(json.clone()).with_context(|| {
        format!(
            "spec {} is not a valid OpenAPI 3.0 document",
            spec.path.display()
        )
    })?;

    let mut settings = progenitor::GenerationSettings::new();
    settings
        .with_interface(progenitor::InterfaceStyle::Builder)
        .with_tag(progenitor::TagStyle::Merged)
        .with_derive("schemars::JsonSchema")
        .with_inner_type("crate::Hooks".parse().expect("a path is tokens"))
        .with_hooks(progenitor::HooksMode::Expected)
        // Every `date-time` is `pandadoc_api::Timestamp`: no offset reads as UTC.
        .with_conversion(
            schemars::schema::SchemaObject {
                instance_type: Some(schemars::schema::InstanceType::String.into()),
                format: Some("date-time".into()),
                ..Default::default()
            },
            "crate::Timestamp",
            [progenitor::TypeImpl::Display, progenitor::TypeImpl::FromStr].into_iter(),
        )
        // `x-rust-type` of the std crate: the tri-state (`Option<Option<T>>`) request fields.
        .with_crate("std", progenitor::CrateVers::Any, None)
        // `x-rust-type` of this crate: `FilePart`, the file parts of multipart forms.
        .with_crate("pandadoc-api", progenitor::CrateVers::Any, None);
    let mut generator = progenitor::Generator::new(&settings);
    // progenitor panics on some constructs instead of returning an error; report them as errors.
    let tokens = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        generator.generate_tokens(&document)
    }))
    .map_err(|panic| {
        anyhow!(
            "progenitor panicked on spec {}: {}",
            spec.path.display(),
            panic_message(panic.as_ref())
        )
    })?
    .map_err(|e| anyhow!("progenitor rejected spec {}: {e}", spec.path.display()))?;

    let mut file: syn::File =
        syn::parse2(tokens).context("progenitor produced code that does not parse")?;
    crate::codegen::features::schemars_behind_feature(&mut file.items);
    crate::codegen::string_enums::string_enums_from_strings(&mut file.items);
    let forms: syn::File = syn::parse2(crate::codegen::forms::forms(&json, &file)?)?;
    let unions: syn::File = syn::parse2(crate::codegen::union_enums::unions(&json, &file)?)?;
    let harness = crate::codegen::harness::harness(&json, &file)?;
    let operations: syn::File = syn::parse2(harness.operations)?;
    let harness: syn::File = syn::parse2(harness.harness)?;
    file.items.extend(forms.items);
    file.items.extend(unions.items);
    file.items.extend(operations.items);
    let constants: syn::File = syn::parse_str(&format!(
        "/// `info.title` of the spec this client was generated from.\n\
         pub const SPEC_TITLE: &str = {:?};\n\
         /// `info.version` of the spec this client was generated from.\n\
         pub const SPEC_VERSION: &str = {:?};\n\
         /// SHA-256 of the spec file this client was generated from, in lowercase hex.\n\
         pub const SPEC_SHA256: &str = {:?};\n",
        spec.title, spec.version, spec.sha256
    ))?;
    file.items.splice(0..0, constants.items);

    let header = format!(
        "// @generated by `cargo xtask generate`: DO NOT EDIT.\n\
         //\n\
         // Spec:       {source}\n\
         // Title:      {}\n\
         // Version:    {}\n\
         // SHA-256:    {}\n\
         // Generator:  progenitor, after the normalization rules of xtask/src/normalize/\n\
         // Regenerate: cargo xtask generate\n\n",
        one_line(&spec.title),
        one_line(&spec.version),
        spec.sha256
    );
    // The harness is another crate: progenitor's `crate::` paths (`crate::Timestamp`) name the
    // client there.
    let harness_text = prettyplease::unparse(&harness).replace("crate::", "pandadoc_api::");
    Ok(Generated {
        harness: format!(
            "{}//! The contract tests' harness: calls the client's operations by `operationId`\n\
             //! with JSON arguments and erases their results to JSON. Generated with the client.\n\n{harness_text}",
            header.replace(
                "DO NOT EDIT.",
                "DO NOT EDIT (the client's contract-test harness)."
            )
        ),
        client: header + &prettyplease::unparse(&file),
    })
}

/// The message of a caught panic.
pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> &str {
    panic
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| panic.downcast_ref::<&str>().copied())
        .unwrap_or("(no message)")
}

fn one_line(s: &str) -> String {
    s.replace(['\r', '\n'], " ")
}

/// Outcome of comparing a committed file with what the spec produces.
pub enum Drift {
    Same,
    Missing,
    Differs(String),
}

/// Compares the file at `path` with `expected`; the diff is unified and at most `max_lines` long.
pub fn drift(path: &Path, expected: &str, max_lines: usize) -> Drift {
    let Ok(actual) = std::fs::read_to_string(path) else {
        return Drift::Missing;
    };
    if actual == expected {
        return Drift::Same;
    }
    let diff = similar::TextDiff::from_lines(actual.as_str(), expected)
        .unified_diff()
        .context_radius(2)
        .header("committed", "generated from the spec")
        .to_string();
    let mut lines: Vec<&str> = diff.lines().collect();
    let total = lines.len();
    lines.truncate(max_lines);
    let mut shown = lines.join("\n");
    if total > max_lines {
        let _ = write!(shown, "\n... ({} more diff lines)", total - max_lines);
    }
    Drift::Differs(shown)
}

/// Writes a crate for `spec` into `dir`: `Cargo.toml`, `src/lib.rs`, `src/generated.rs`. A
/// `standalone` crate is a workspace of its own; otherwise it joins the enclosing one.
/// The dependencies of a generated client, as the workspace declares them.
fn dependencies() -> Result<String> {
    use crate::codegen::dependencies::{line, lines};
    Ok(format!(
        "{}{}\n",
        lines(&[
            "progenitor-client",
            "reqwest",
            "serde",
            "serde_json",
            "uuid",
            "regress",
            "chrono",
        ])?,
        line("schemars", true)?,
    ))
}

pub fn write_crate(spec: &Spec, dir: &Path, generated: &str, standalone: bool) -> Result<()> {
    let name = dir
        .file_name()
        .and_then(|n| n.to_str())
        .map(|n| {
            n.to_lowercase()
                .replace(|c: char| !c.is_ascii_alphanumeric(), "-")
        })
        .filter(|n| n.starts_with(|c: char| c.is_ascii_alphabetic()))
        .unwrap_or_else(|| "generated-client".into());
    std::fs::create_dir_all(dir.join("src"))
        .with_context(|| format!("cannot create {}", dir.display()))?;
    let manifest = format!(
        r#"[package]
name = "{name}"
version = "0.1.0"
# typify's output uses `gen` as an identifier, reserved from edition 2024 on.
edition = "2021"
description = "Client for {title} {version}, generated by `cargo xtask generate --spec`"
publish = false

{workspace}
[dependencies]
{dependencies}
[features]
schemars = ["dep:schemars"]
"#,
        title = spec.title.replace('"', "'"),
        version = spec.version.replace('"', "'"),
        dependencies = dependencies()?,
        workspace = if standalone {
            "# A crate of its own, outside any enclosing workspace.\n[workspace]\n"
        } else {
            ""
        },
    );
    std::fs::write(dir.join("Cargo.toml"), manifest)?;
    std::fs::write(dir.join("src/lib.rs"), LIB_RS)?;
    std::fs::write(dir.join("src/timestamp.rs"), TIMESTAMP_RS)?;
    std::fs::write(dir.join("src/multipart.rs"), MULTIPART_RS)?;
    std::fs::write(dir.join("src/union_support.rs"), UNION_SUPPORT_RS)?;
    std::fs::write(dir.join("src/generated.rs"), generated)?;
    Ok(())
}
