//! The `unions` module of the generated client: one enum per union that
//! [`normalize::typed_unions`](crate::normalize::typed_unions) found can be told apart.

use anyhow::{Result, bail};
use heck::ToUpperCamelCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::normalize::UNIONS_EXTENSION;

/// The `unions` module for `spec` (normalized); `client` is progenitor's output, whose `types`
/// must hold every branch.
pub fn unions(spec: &Value, client: &syn::File) -> Result<TokenStream> {
    let types: Vec<String> = crate::codegen::progenitor_output::module_items(client, "types")?
        .iter()
        .filter_map(|item| match item {
            syn::Item::Struct(s) => Some(s.ident.to_string()),
            syn::Item::Enum(e) => Some(e.ident.to_string()),
            syn::Item::Type(t) => Some(t.ident.to_string()),
            _ => None,
        })
        .collect();
    let mut enums = Vec::new();
    for (name, union) in spec
        .get(UNIONS_EXTENSION)
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let ident = format_ident!("{name}");
        let description = union["description"].as_str().unwrap_or_default();
        let tag = union["tag"].as_str();
        let mut variants = Vec::new();
        let mut serialize_arms = Vec::new();
        let mut deserialize_arms = Vec::new();
        for branch in union["branches"].as_array().into_iter().flatten() {
            let component = branch["component"].as_str().unwrap_or_default();
            let ty_name = component.to_upper_camel_case();
            if !types.contains(&ty_name) {
                bail!("union {name}: typify made no type {ty_name} for component {component}");
            }
            let ty = format_ident!("{ty_name}");
            let variant = format_ident!("{}", variant_name(component, name));
            let doc = match branch["tag_value"].as_str() {
                Some(v) => format!("`{component}`: `{}` is `{v}`.", tag.unwrap_or_default()),
                None => format!("`{component}`."),
            };
            variants.push(quote! { #[doc = #doc] #variant(super::types::#ty) });
            match (tag, branch["tag_value"].as_str()) {
                (Some(tag), Some(value)) => {
                    serialize_arms
                        .push(quote! { Self::#variant(v) => tagged(v, #tag, #value, serializer) });
                    deserialize_arms.push(quote! {
                        if value.get(#tag).and_then(serde_json::Value::as_str) == Some(#value) {
                            return Ok(branch(&value).map_or(Self::Other(value), Self::#variant));
                        }
                    });
                }
                _ => {
                    let keys: Vec<&str> = branch["keys"]
                        .as_array()
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .collect();
                    serialize_arms.push(
                        quote! { Self::#variant(v) => serde::Serialize::serialize(v, serializer) },
                    );
                    deserialize_arms.push(quote! {
                        if [#(#keys),*].iter().all(|k| value.get(*k).is_some()) {
                            matched.push(stringify!(#variant));
                        }
                    });
                }
            }
        }
        let deserialize = if tag.is_some() {
            quote! {
                #(#deserialize_arms)*
                Ok(Self::Other(value))
            }
        } else {
            // By required properties: exactly one branch must match, else the value is kept.
            let picks = union["branches"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|b| {
                    let variant = format_ident!(
                        "{}",
                        variant_name(b["component"].as_str().unwrap_or_default(), name)
                    );
                    quote! { [v] if *v == stringify!(#variant) => Ok(branch(&value).map_or(Self::Other(value), Self::#variant)), }
                });
            quote! {
                let mut matched: Vec<&str> = Vec::new();
                #(#deserialize_arms)*
                match matched.as_slice() {
                    #(#picks)*
                    _ => Ok(Self::Other(value)),
                }
            }
        };
        enums.push(quote! {
            #[doc = #description]
            #[derive(Clone, Debug)]
            pub enum #ident {
                #(#variants,)*
                /// A value that names none of the branches (a tag value this client does not
                /// know, say), or does not fit the branch it names (a body of another branch,
                /// a required field missing), kept as it came.
                Other(serde_json::Value),
            }

            impl serde::Serialize for #ident {
                fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                    match self {
                        #(#serialize_arms,)*
                        Self::Other(v) => serde::Serialize::serialize(v, serializer),
                    }
                }
            }

            impl<'de> serde::Deserialize<'de> for #ident {
                fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                    let value = <serde_json::Value as serde::Deserialize>::deserialize(deserializer)?;
                    #deserialize
                }
            }

            /// Any JSON value (the branches' schemas are those of their types).
            #[cfg(feature = "schemars")]
            impl schemars::JsonSchema for #ident {
                fn schema_name() -> String {
                    stringify!(#ident).into()
                }
                fn json_schema(generator: &mut schemars::gen::SchemaGenerator) -> schemars::schema::Schema {
                    <serde_json::Value as schemars::JsonSchema>::json_schema(generator)
                }
            }
        });
    }
    if enums.is_empty() {
        return Ok(TokenStream::new());
    }
    Ok(quote! {
        /// Unions of objects whose branch a value names (by a discriminator, or by properties
        /// only one branch requires), as enums. A value that names none, or does not fit the
        /// one it names, is kept as `Other`.
        pub mod unions {
            use crate::union_support::{branch, tagged};

            #(#enums)*
        }
    })
}

/// The variant for `component`: its name without the union's name as a prefix
/// (`CreateDocumentRecipient` in `CreateDocumentActor` stays; `FieldText` in `Field` is `Text`).
fn variant_name(component: &str, union: &str) -> String {
    let full = component.to_upper_camel_case();
    let name = match full.strip_prefix(union) {
        Some(rest) if rest.starts_with(|c: char| c.is_ascii_uppercase()) => rest.to_string(),
        _ => full,
    };
    // `Other` is the variant for values that name no branch.
    if name == "Other" {
        "OtherBranch".into()
    } else {
        name
    }
}
