//! The multipart side of the generated client: each form type (see
//! [`normalize::multipart_forms`](crate::normalize::multipart_forms)) converts to a request body,
//! and `MULTIPART_OPERATIONS` tells the client's `pre` hook which operations send multipart.

use anyhow::{Result, bail};
use heck::ToSnakeCase;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

use crate::normalize::FORM_EXTENSION;

/// `(snake-case operation id, form type name)` of every multipart operation of `spec`
/// (normalized); the form is `None` where the body is not an object.
pub fn multipart_operations(spec: &Value) -> Vec<(String, Option<String>)> {
    let mut out = Vec::new();
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flatten()
        .map(|(_, i)| i)
    {
        for op in item.as_object().into_iter().flatten().map(|(_, o)| o) {
            if let (Some(form), Some(id)) = (op.get(FORM_EXTENSION), op["operationId"].as_str()) {
                out.push((id.to_snake_case(), form.as_str().map(String::from)));
            }
        }
    }
    out
}

/// `MULTIPART_OPERATIONS`, and `TryFrom<types::XForm> for reqwest::Body` for each form, read off
/// the struct typify generated for it.
pub fn forms(spec: &Value, client: &syn::File) -> Result<TokenStream> {
    let ops = multipart_operations(spec);
    let ids = ops.iter().map(|(id, _)| id);
    let types = crate::codegen::progenitor_output::module_items(client, "types")?;
    let mut impls = Vec::new();
    for form in ops.iter().filter_map(|(_, f)| f.as_deref()) {
        let ident = format_ident!("{form}");
        let Some(fields) = types.iter().find_map(|item| match item {
            syn::Item::Struct(s) if s.ident == ident => match &s.fields {
                syn::Fields::Named(named) => Some(&named.named),
                _ => None,
            },
            _ => None,
        }) else {
            bail!("typify made no struct with named fields of form {form}");
        };
        // Parts go out in the spec's property order (typify sorts fields by name).
        let order: Vec<&String> = spec
            .pointer(&format!("/components/schemas/{form}/properties"))
            .and_then(Value::as_object)
            .map(|p| p.keys().collect())
            .unwrap_or_default();
        let mut fields: Vec<&syn::Field> = fields.iter().collect();
        fields.sort_by_key(|f| {
            let name = serde_arg(&f.attrs, "rename")
                .unwrap_or_else(|| f.ident.as_ref().map(|i| i.to_string()).unwrap_or_default());
            order.iter().position(|p| **p == name)
        });
        let parts = fields
            .iter()
            .map(|field| {
                let member = field.ident.as_ref().expect("named fields have names");
                let name = serde_arg(&field.attrs, "rename")
                    .unwrap_or_else(|| member.to_string().trim_start_matches("r#").to_string());
                if serde_arg(&field.attrs, "flatten").is_some() {
                    bail!("form {form}: field `{member}` is flattened; parts must be named");
                }
                let ty = &field.ty;
                let ty = quote!(#ty).to_string().replace(' ', "");
                Ok(if !ty.contains("FilePart") {
                    quote! { form.value(#name, &value.#member)?; }
                } else if ty.starts_with("::std::option::Option<")
                    || ty.starts_with("::std::vec::Vec<")
                {
                    quote! { form.files(#name, value.#member); }
                } else {
                    quote! { form.file(#name, value.#member); }
                })
            })
            .collect::<Result<Vec<_>>>()?;
        impls.push(quote! {
            /// Encodes the form as `multipart/form-data`: file parts as they are, strings,
            /// numbers and booleans as text, objects and arrays as JSON; absent fields are left out.
            impl TryFrom<types::#ident> for reqwest::Body {
                type Error = serde_json::Error;
                fn try_from(value: types::#ident) -> Result<Self, serde_json::Error> {
                    let mut form = crate::Multipart::new();
                    #(#parts)*
                    Ok(form.into())
                }
            }
        });
    }
    Ok(quote! {
        /// Operations (as named in `OperationInfo`) whose request body is `multipart/form-data`.
        pub(crate) const MULTIPART_OPERATIONS: &[&str] = &[#(#ids),*];
        #(#impls)*
    })
}

/// `x` of `#[serde(key = "x")]`, or `""` for a bare `#[serde(key)]`.
fn serde_arg(attrs: &[syn::Attribute], key: &str) -> Option<String> {
    let mut found = None;
    for attr in attrs.iter().filter(|a| a.path().is_ident("serde")) {
        let _ = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident(key) {
                found = Some(match meta.value() {
                    Ok(v) => v.parse::<syn::LitStr>()?.value(),
                    Err(_) => String::new(),
                });
            } else if meta.input.peek(syn::Token![=]) {
                let _: syn::Expr = meta.value()?.parse()?;
            }
            Ok(())
        });
    }
    found
}
