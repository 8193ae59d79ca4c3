//! Type names: a `title` never names a type twice.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::Value;

use super::walk::*;

/// **Rule: a `title` never names a type twice.**
///
/// typify names a type after its schema's `title` where there is one. A component schema that
/// is `nullable: true` becomes `struct X(Option<XInner>)`, but when its `title` is `X` (its own
/// name, as in PandaDoc's releases from 7.30 on) the inner type is named `X` too: two types of
/// one name, and the crate does not compile. An inline schema titled like a component collides
/// the same way. A `title` is documentation, and the component's name already names the type, so
/// a `title` equal to (the Rust spelling of) a component schema's name is dropped.
pub fn titles_never_rename(spec: &mut Value) {
    let names: BTreeSet<String> = spec
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|schemas| schemas.keys())
        .map(|name| name.to_upper_camel_case())
        .collect();
    for_each_schema(spec, &mut |schema, _| {
        if let Some(Value::String(title)) = schema.get("title")
            && names.contains(&title.to_upper_camel_case())
        {
            schema.remove("title");
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn titles_equal_to_a_component_name_are_dropped() {
        let mut spec = json!({ "components": { "schemas": {
            "Grand_Total": { "title": "GrandTotal", "type": "object", "nullable": true,
                             "properties": { "amount": { "type": "number" } } },
            "Doc": { "type": "object", "properties": {
                "total": { "title": "grand_total", "type": "object" },
                "kind": { "title": "DocKind", "type": "string" }
            }}
        }}});
        titles_never_rename(&mut spec);
        let s = &spec["components"]["schemas"];
        assert!(s["Grand_Total"].get("title").is_none(), "its own name");
        assert_eq!(s["Grand_Total"]["nullable"], true, "nullable stays");
        assert!(
            s["Doc"]["properties"]["total"].get("title").is_none(),
            "another component's name"
        );
        assert_eq!(
            s["Doc"]["properties"]["kind"]["title"], "DocKind",
            "other titles stay"
        );
    }
}
