//! progenitor's output, as the generator's passes read it: `generate` produces it, and
//! `forms`, `unions` and `harness` add to it from what it holds (one way: none calls back).

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
