//! The contract-test harness: a module appended to the generated client that calls any operation
//! by its `operationId` with JSON arguments and erases typed results to JSON.
//!
//! Generated from progenitor's own output (builder fields give each parameter's Rust type, each
//! `send` gives the success and error types), so it can never disagree with the client. It is
//! compiled only with the client crate's `harness` feature, which the contract tests enable.

use anyhow::{Context, Result, bail};
use heck::{ToShoutySnakeCase, ToSnakeCase};
use openapi_model::METHODS;
use proc_macro2::TokenStream;
use quote::{format_ident, quote};
use serde_json::Value;

/// One operation as the harness sees it.
struct Op {
    id: String,
    method: String,
    path: String,
    fn_name: syn::Ident,
    params: Vec<Param>,
    success: syn::Type,
    error: syn::Type,
    /// The typed multipart form the raw body is built from, if any.
    form: Option<syn::Ident>,
}

/// A parameter of an operation (or its body), as the harness sets it on the builder.
struct Param {
    /// The spec's name (`body` for the request body).
    name: String,
    /// The builder's setter.
    setter: syn::Ident,
    /// The Rust type of the value the setter takes.
    ty: syn::Type,
    required: bool,
}

/// The harness module for `spec` (normalized) and `client` (progenitor's output for it).
/// What the harness pass adds: the `operations` module of the client, and the harness itself
/// (a module of the contract tests crate, outside the published client).
pub struct Harness {
    /// `pub mod operations { ... }`, for the client.
    pub operations: TokenStream,
    /// The items of `tests/src/harness.rs`.
    pub harness: TokenStream,
}

pub fn harness(spec: &Value, client: &syn::File) -> Result<Harness> {
    let ops = operations(spec, client)?;
    let consts: Vec<syn::Ident> = ops
        .iter()
        .map(|op| format_ident!("{}", op.fn_name.to_string().to_shouty_snake_case()))
        .collect();
    let metadata = ops.iter().zip(&consts).map(|(op, name)| {
        let (id, method, path) = (&op.id, &op.method, &op.path);
        let idempotent = matches!(
            method.as_str(),
            "get" | "head" | "put" | "delete" | "options" | "trace"
        );
        let doc = format!("`{id}`: `{} {path}`.", method.to_uppercase());
        quote! {
            #[doc = #doc]
            pub const #name: Operation = Operation { id: #id, method: #method, path: #path, idempotent: #idempotent };
        }
    });
    let by_fn_name = ops.iter().zip(&consts).map(|(op, name)| {
        let fn_name = op.fn_name.to_string();
        quote! { #fn_name => Some(&#name) }
    });
    let raw_success_ids = ops
        .iter()
        .filter(|op| is_stream(&op.success))
        .map(|op| op.id.as_str());
    let send_arms = ops.iter().map(|op| {
        let (id, fn_name) = (&op.id, &op.fn_name);
        let sets = op.params.iter().map(|Param { name, setter, ty, required }| {
            if let (Some(form), true) = (&op.form, name == "body") {
                // A multipart form, from its JSON (file parts as `FilePart`'s serde form).
                quote! { b = b.#setter(arg::<types::#form>(args, #name)?.ok_or("missing required argument `body`")?); }
            } else if quote!(#ty).to_string().replace(' ', "") == "reqwest::Body" {
                // A raw body: the argument's text (a JSON string) or its JSON, as bytes.
                quote! { if let Some(v) = args.get(#name) { b = b.#setter(raw_body(v)); } }
            } else if *required {
                quote! { b = b.#setter(arg::<#ty>(args, #name)?.ok_or(concat!("missing required argument `", #name, "`"))?); }
            } else {
                quote! { if let Some(v) = arg::<#ty>(args, #name)? { b = b.#setter(v); } }
            }
        });
        let erase_err = erase_fn(&op.error, false);
        // A raw success body is read to its end, so that the suite sees every byte delivered.
        let erased = if is_stream(&op.success) {
            quote! { erase_stream(b.send().await, #erase_err).await }
        } else {
            let erase_ok = erase_fn(&op.success, true);
            quote! { erase(b.send().await, #erase_ok, #erase_err) }
        };
        quote! {
            #id => {
                #[allow(unused_mut)]
                let mut b = client.#fn_name();
                #(#sets)*
                Ok(#erased)
            }
        }
    });
    let decode_arms = ops.iter().map(|op| {
        let (id, ok, err) = (&op.id, &op.success, &op.error);
        let ok_decode = decode_expr(ok);
        let err_decode = decode_expr(err);
        quote! { #id => if success { #ok_decode } else { #err_decode } }
    });
    let schema_arms = ops.iter().map(|op| {
        let (id, ok, err) = (&op.id, &op.success, &op.error);
        let ok_schema = schema_expr(ok);
        let err_schema = schema_expr(err);
        quote! { #id => if success { #ok_schema } else { #err_schema } }
    });
    let operations = quote! {
        /// What the spec says of each operation: its `operationId` (the one spelling used in
        /// spans and logs), method, path, and whether it is idempotent (safe to retry). Pass one
        /// to `pandadoc_api_ext::Client::call`.
        pub mod operations {
            use crate::Operation;

            #(#metadata)*

            /// Every operation of the spec the client was generated from, in the spec's order.
            pub fn all() -> &'static [Operation] {
                &[#(#consts),*]
            }

            /// The operation whose client method is `name` (`list_recent_sms_opt_outs`, as
            /// progenitor's `OperationInfo::operation_id` spells it).
            pub fn by_fn_name(name: &str) -> Option<&'static Operation> {
                match name {
                    #(#by_fn_name,)*
                    _ => None,
                }
            }
        }

    };
    let harness = quote! {
            use pandadoc_api::{types, ByteStream, Client, Error, ResponseValue};
            use serde_json::{Map, Value};

            use super::harness_support::*;
            pub use super::harness_support::Erased;

            /// Whether the success bodies of operation `id` are handed over as raw bytes
            /// (`ByteStream`), as for an operation whose successes are of mixed kinds (JSON and
            /// no content).
            pub fn raw_success(id: &str) -> bool {
                [#(#raw_success_ids),*].contains(&id)
            }

            /// Every value decoded on this thread so far that named a union branch it did not
            /// fit (the harness decodes strictly).
            fn fallbacks() -> u64 {
                pandadoc_api::union_fallbacks_on_this_thread()
            }

            /// Sends operation `id` with `args` (spec parameter names; `body` for the request
            /// body). `None` for an unknown operation; `Err` for arguments that do not convert.
            pub async fn send(client: &Client, id: &str, args: &Map<String, Value>) -> Option<Result<Erased, String>> {
                let run = async {
                    match id {
                        #(#send_arms)*
                        _ => Err(String::from("unknown operation")),
                    }
                };
                if pandadoc_api::operations::all().iter().any(|o| o.id == id) { Some(run.await) } else { None }
            }

            /// Decodes `body` as the type the client gives a response of operation `id` with a
            /// success (2xx) or error status, and serializes it back.
            pub fn decode(id: &str, success: bool, body: &[u8]) -> Option<Result<Value, String>> {
                Some(match id {
                    #(#decode_arms,)*
                    _ => return None,
                })
            }

            /// The JSON Schema (schemars) of that type.
            pub fn schema(id: &str, success: bool) -> Option<schemars::schema::RootSchema> {
                Some(match id {
                    #(#schema_arms,)*
                    _ => return None,
                })
            }
    };
    Ok(Harness {
        operations,
        harness,
    })
}

fn is_stream(ty: &syn::Type) -> bool {
    quote!(#ty).to_string().ends_with("ByteStream")
}

fn erase_fn(ty: &syn::Type, _ok: bool) -> TokenStream {
    if is_stream(ty) {
        quote! { stream }
    } else {
        quote! { json::<#ty> }
    }
}

/// `()` (no content) takes any body: the client does not decode it. A stream hands the bytes
/// over as they came.
fn decode_expr(ty: &syn::Type) -> TokenStream {
    if is_stream(ty) {
        quote! { Ok(bytes_value(body)) }
    } else if quote!(#ty).to_string() == "()" {
        quote! { Ok(Value::Null) }
    } else {
        quote! { roundtrip::<#ty>(body, fallbacks) }
    }
}

fn schema_expr(ty: &syn::Type) -> TokenStream {
    if is_stream(ty) {
        // Any bytes: no narrower than whatever the spec declares.
        quote! { schemars::schema_for!(serde_json::Value) }
    } else {
        quote! { schemars::schema_for!(#ty) }
    }
}

/// Pairs each operation of the spec with its client method, builder fields and types.
fn operations(spec: &Value, client: &syn::File) -> Result<Vec<Op>> {
    let builder_mod = crate::codegen::progenitor_output::module_items(client, "builder")?;
    let mut ops = Vec::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        for method in METHODS {
            let Some(op) = item.get(method) else { continue };
            let id = op["operationId"]
                .as_str()
                .with_context(|| format!("{method} {path} has no operationId"))?;
            let fn_name = format_ident!("{}", id.to_snake_case());
            let builder = format_ident!("{}", heck::ToUpperCamelCase::to_upper_camel_case(id));
            let fields = builder_fields(builder_mod, &builder)
                .with_context(|| format!("no builder struct {builder} for operation {id}"))?;
            let (success, error) = send_types(builder_mod, &builder)
                .with_context(|| format!("no send() on builder {builder} for operation {id}"))?;
            let mut declared: Vec<(String, String)> = Vec::new();
            for p in item
                .get("parameters")
                .into_iter()
                .chain(op.get("parameters"))
                .filter_map(Value::as_array)
                .flatten()
            {
                let p = resolve(spec, p);
                if let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str())
                    && matches!(location, "path" | "query" | "header")
                {
                    declared.retain(|(n, l)| !(n == name && l == location));
                    declared.push((name.to_string(), location.to_string()));
                }
            }
            if op.get("requestBody").is_some() {
                declared.push(("body".into(), "body".into()));
            }
            let mut params = Vec::new();
            for (name, location) in declared {
                let setter = name.to_snake_case();
                let Some((field, ty)) = fields
                    .iter()
                    .find(|(f, _)| *f == setter || *f == format!("{setter}_"))
                else {
                    // progenitor leaves out header parameters it handles itself; nothing to set.
                    if location == "header" {
                        continue;
                    }
                    bail!("operation {id}: parameter `{name}` has no field in builder {builder}");
                };
                let (value, required) = field_value_type(ty)?;
                params.push(Param {
                    name,
                    setter: format_ident!("{field}"),
                    ty: value,
                    required,
                });
            }
            ops.push(Op {
                id: id.to_string(),
                method: method.to_string(),
                path: path.clone(),
                fn_name,
                params,
                success,
                error,
                form: op
                    .get(crate::normalize::FORM_EXTENSION)
                    .and_then(Value::as_str)
                    .map(|f| format_ident!("{f}")),
            });
        }
    }
    Ok(ops)
}

/// `value`, its `$ref`s followed (the spec is normalized: they all resolve).
fn resolve<'a>(spec: &'a Value, value: &'a Value) -> &'a Value {
    openapi_model::resolve(spec, value).unwrap_or(value)
}

/// `(field name, field type)` of `struct Builder<'a>`, `client` excluded.
fn builder_fields(items: &[syn::Item], builder: &syn::Ident) -> Option<Vec<(String, syn::Type)>> {
    items.iter().find_map(|item| match item {
        syn::Item::Struct(s) if &s.ident == builder => Some(
            s.fields
                .iter()
                .filter_map(|f| f.ident.as_ref().map(|i| (i.to_string(), f.ty.clone())))
                .filter(|(name, _)| name != "client")
                .collect(),
        ),
        _ => None,
    })
}

/// `Result<Option<T>, String>` → (T, optional); `Result<T, String>` → (T, required), where a
/// body's `types::builder::X` becomes `types::X`.
fn field_value_type(ty: &syn::Type) -> Result<(syn::Type, bool)> {
    let inner = first_generic(ty, "Result").context("builder field is not a Result")?;
    let (value, required) = match first_generic(&inner, "Option") {
        Some(t) => (t, false),
        None => (inner, true),
    };
    let text = quote!(#value).to_string().replace(' ', "");
    if let Some(name) = text.strip_prefix("types::builder::") {
        return Ok((syn::parse_str(&format!("types::{name}"))?, required));
    }
    Ok((value, required))
}

fn first_generic(ty: &syn::Type, wrapper: &str) -> Option<syn::Type> {
    let syn::Type::Path(p) = ty else { return None };
    let last = p.path.segments.last()?;
    if last.ident != wrapper {
        return None;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return None;
    };
    args.args.iter().find_map(|a| match a {
        syn::GenericArgument::Type(t) => Some(t.clone()),
        _ => None,
    })
}

/// `(T, E)` of `async fn send(self) -> Result<ResponseValue<T>, Error<E>>`.
fn send_types(items: &[syn::Item], builder: &syn::Ident) -> Option<(syn::Type, syn::Type)> {
    for item in items {
        let syn::Item::Impl(imp) = item else { continue };
        let syn::Type::Path(self_ty) = &*imp.self_ty else {
            continue;
        };
        if self_ty.path.segments.last().map(|s| &s.ident) != Some(builder) {
            continue;
        }
        for f in &imp.items {
            let syn::ImplItem::Fn(f) = f else { continue };
            if f.sig.ident != "send" {
                continue;
            }
            let syn::ReturnType::Type(_, ret) = &f.sig.output else {
                return None;
            };
            let syn::Type::Path(p) = &**ret else {
                return None;
            };
            let syn::PathArguments::AngleBracketed(args) = &p.path.segments.last()?.arguments
            else {
                return None;
            };
            let mut types = args.args.iter().filter_map(|a| match a {
                syn::GenericArgument::Type(t) => Some(t.clone()),
                _ => None,
            });
            let ok = first_generic(&types.next()?, "ResponseValue")?;
            let err = first_generic(&types.next()?, "Error")?;
            return Some((ok, err));
        }
    }
    None
}
