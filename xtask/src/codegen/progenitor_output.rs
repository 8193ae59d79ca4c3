//! progenitor's output, as the generator's passes read it: `generate` produces it, and
//! `forms`, `unions` and `harness` add to it from what it holds, while `features` and
//! `string_enums` edit it in place through [`each_module`] (one way: none calls back).

use anyhow::{Context, Result};

/// The items of the top-level module `name` (`types`, `builder`) of progenitor's output.
pub fn module_items<'a>(client: &'a syn::File, name: &str) -> Result<&'a [syn::Item]> {
    client
        .items
        .iter()
        .find_map(|item| match item {
            syn::Item::Mod(m) if m.ident == name => m.content.as_ref().map(|(_, items)| &items[..]),
            _ => None,
        })
        .with_context(|| format!("progenitor's output has no `{name}` module"))
}

/// Calls `pass` with `items` and then with the items of every module inside them, at any depth:
/// the one walk of the passes that edit progenitor's output in place.
pub fn each_module(items: &mut [syn::Item], pass: &mut impl FnMut(&mut [syn::Item])) {
    pass(items);
    for item in items {
        if let syn::Item::Mod(m) = item
            && let Some((_, items)) = &mut m.content
        {
            each_module(items, pass);
        }
    }
}
