//! What the generated code needs from `pandadoc-api`'s manifest, so that users compile only that.
//!
//! - The `schemars::JsonSchema` derives and impls (for the contract tests) go behind the crate's
//!   `schemars` feature: `#[cfg_attr(feature = "schemars", derive(schemars::JsonSchema))]`.
//! - `uuid` and `regress` are dependencies only when the generated code names them (a spec with
//!   `format: uuid` or a `pattern`); [`sync_manifest`] keeps `pandadoc-api/Cargo.toml` in step,
//!   so a spec bump needs no hand edit and a user of a spec without them never compiles them.

use anyhow::{Context, Result};
use syn::punctuated::Punctuated;
use syn::{Attribute, Item, Path, Token, parse_quote};

/// Dependencies that the generated code may or may not need: (crate, what marks a use of it).
pub const OPTIONAL_DEPENDENCIES: [(&str, &str); 2] = [("uuid", "uuid::"), ("regress", "regress::")];

/// Puts every `schemars` derive and impl of `items` (recursively) behind the `schemars` feature.
pub fn schemars_behind_feature(items: &mut [Item]) {
    crate::codegen::progenitor_output::each_module(items, &mut |items| {
        for item in items {
            match item {
                Item::Struct(s) => gate_derive(&mut s.attrs),
                Item::Enum(e) => gate_derive(&mut e.attrs),
                Item::Impl(i) => {
                    let is_schemars = i
                        .trait_
                        .as_ref()
                        .is_some_and(|(_, path, _)| names_schemars(path));
                    if is_schemars {
                        i.attrs.push(parse_quote!(#[cfg(feature = "schemars")]));
                    }
                }
                _ => {}
            }
        }
    });
}

fn names_schemars(path: &Path) -> bool {
    path.segments.first().is_some_and(|s| s.ident == "schemars")
}

/// Splits `#[derive(.., schemars::JsonSchema)]` into the derive without it and a `cfg_attr`.
fn gate_derive(attrs: &mut Vec<Attribute>) {
    let mut gated = Vec::new();
    for attr in attrs.iter_mut() {
        if !attr.path().is_ident("derive") {
            continue;
        }
        let Ok(paths) = attr.parse_args_with(Punctuated::<Path, Token![,]>::parse_terminated)
        else {
            continue;
        };
        let (schemars, rest): (Vec<Path>, Vec<Path>) = paths.into_iter().partition(names_schemars);
        if !schemars.is_empty() {
            *attr = parse_quote!(#[derive(#(#rest),*)]);
            gated.extend(schemars);
        }
    }
    if !gated.is_empty() {
        attrs.push(parse_quote!(#[cfg_attr(feature = "schemars", derive(#(#gated),*))]));
    }
}

/// The optional dependencies that `code` uses.
pub fn used_dependencies(code: &str) -> Vec<&'static str> {
    OPTIONAL_DEPENDENCIES
        .iter()
        .filter(|(_, marker)| code.contains(marker))
        .map(|(name, _)| *name)
        .collect()
}

/// `manifest` (a `Cargo.toml`) with exactly the optional dependencies `code` uses, each taken
/// from the workspace. Everything else of the file is kept as written.
pub fn sync_manifest(manifest: &str, code: &str) -> Result<String> {
    let mut doc: toml_edit::DocumentMut = manifest.parse().context("Cargo.toml does not parse")?;
    let deps = doc["dependencies"]
        .as_table_mut()
        .context("Cargo.toml has no [dependencies] table")?;
    let used = used_dependencies(code);
    for (name, _) in OPTIONAL_DEPENDENCIES {
        if used.contains(&name) {
            if !deps.contains_key(name) {
                let mut table = toml_edit::InlineTable::new();
                table.insert("workspace", true.into());
                deps.insert(name, toml_edit::value(table));
            }
        } else {
            deps.remove(name);
        }
    }
    Ok(doc.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemars_derives_and_impls_go_behind_the_feature() {
        let mut file: syn::File = parse_quote! {
            pub mod types {
                #[derive(Clone, schemars::JsonSchema, Debug)]
                pub struct A { x: i64 }
                #[derive(Clone)]
                pub enum B { X }
                impl ::schemars::JsonSchema for B { }
                impl Clone for A { }
            }
        };
        schemars_behind_feature(&mut file.items);
        let text = prettyplease::unparse(&file);
        assert!(text.contains("#[derive(Clone, Debug)]"), "{text}");
        assert!(
            text.contains("#[cfg_attr(feature = \"schemars\", derive(schemars::JsonSchema))]"),
            "{text}"
        );
        assert_eq!(
            text.matches("cfg(feature = \"schemars\")").count(),
            1,
            "{text}"
        );
        assert!(!text.contains("derive(Clone, schemars"), "{text}");
    }

    #[test]
    fn the_manifest_lists_exactly_the_optional_dependencies_used() {
        let manifest = "[package]\nname = \"x\"\n\n[dependencies]\n# keep me\nserde.workspace = true\nregress.workspace = true\n";
        let synced = sync_manifest(manifest, "let id: ::uuid::Uuid;").unwrap();
        assert!(synced.contains("# keep me") && synced.contains("serde.workspace = true"));
        assert!(synced.contains("uuid = { workspace = true }"), "{synced}");
        assert!(!synced.contains("regress"), "{synced}");
        assert_eq!(
            sync_manifest(&synced, "::uuid::Uuid").unwrap(),
            synced,
            "stable"
        );
    }
}
