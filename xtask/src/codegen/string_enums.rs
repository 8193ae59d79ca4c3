//! **Rule: a string enum decodes from a string only.**
//!
//! typify derives `Deserialize` for a string enum (`enum Status { OptIn, OptOut }` with
//! `#[serde(rename = "opt-in")]`...), and serde's derive also reads an enum from a map of one
//! key: `{"opt-in": null}` decoded as `OptIn`, a malformed value misread as a valid one. typify
//! also writes `TryFrom<String>` for such an enum (the declared values and nothing else); every
//! enum of unit variants that has one decodes through it
//! (`#[serde(try_from = "::std::string::String")]`), so anything but a declared string is an
//! error (for an open enum: the `Unknown` branch, which takes strings only, so a map fails the
//! value and the client's record-by-record fallback marks the record unreadable).

use syn::{Item, ItemImpl, Type, parse_quote};

/// Adds the attribute to every enum of `items` (recursively) whose variants are all units and
/// that has a `TryFrom<String>` impl beside it.
pub fn string_enums_from_strings(items: &mut [Item]) {
    crate::codegen::progenitor_output::each_module(items, &mut |items| {
        let from_string: Vec<String> = items
            .iter()
            .filter_map(|item| match item {
                Item::Impl(i) if is_try_from_string(i) => match &*i.self_ty {
                    Type::Path(p) => p.path.get_ident().map(ToString::to_string),
                    _ => None,
                },
                _ => None,
            })
            .collect();
        for item in items {
            // Unit variants only: an enum with data (an untagged union) decodes other JSON too.
            if let Item::Enum(e) = item
                && from_string.contains(&e.ident.to_string())
                && e.variants.iter().all(|v| v.fields.is_empty())
            {
                e.attrs
                    .push(parse_quote!(#[serde(try_from = "::std::string::String")]));
            }
        }
    });
}

/// `impl TryFrom<::std::string::String> for X` (any spelling of the path).
fn is_try_from_string(i: &ItemImpl) -> bool {
    let Some((_, path, _)) = &i.trait_ else {
        return false;
    };
    let Some(last) = path.segments.last() else {
        return false;
    };
    if last.ident != "TryFrom" {
        return false;
    }
    let syn::PathArguments::AngleBracketed(args) = &last.arguments else {
        return false;
    };
    matches!(
        args.args.first(),
        Some(syn::GenericArgument::Type(Type::Path(p)))
            if p.path.segments.last().is_some_and(|s| s.ident == "String")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_enums_with_a_try_from_string_decode_through_it() {
        let mut file: syn::File = parse_quote! {
            pub mod types {
                #[derive(Deserialize)]
                pub enum Status { #[serde(rename = "on")] On }
                impl ::std::convert::TryFrom<::std::string::String> for Status {
                    type Error = ();
                    fn try_from(v: ::std::string::String) -> Result<Self, ()> { Err(()) }
                }
                impl ::std::convert::TryFrom<::std::string::String> for Other {
                    type Error = ();
                    fn try_from(v: ::std::string::String) -> Result<Self, ()> { Err(()) }
                }
                #[derive(Deserialize)]
                #[serde(untagged)]
                pub enum Other { A(Status), B(String) }
            }
        };
        string_enums_from_strings(&mut file.items);
        let text = prettyplease::unparse(&file);
        let status = text.find("pub enum Status").unwrap();
        let other = text.find("pub enum Other").unwrap();
        let attr = "#[serde(try_from = \"::std::string::String\")]";
        let at = text.find(attr).expect("Status gets the attribute");
        assert!(at < status, "{text}");
        assert_eq!(text.matches(attr).count(), 1, "Other does not: {text}");
        assert!(other > status);
    }
}
