//! Unions of objects that can be told apart become Rust enums.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

use super::objects::object_view;
use super::walk::*;

/// The document-level extension listing the typed unions for the generator
/// ([`crate::unions`]): `{ name: { "tag": property or null, "description", "branches": [{
/// "component", "tag_value", "keys" }] } }`.
pub const UNIONS_EXTENSION: &str = "x-typed-unions";

/// **Rule: a union of objects that can be told apart is a Rust enum.**
///
/// A named `oneOf`/`anyOf` (a component, a property, an array's items) whose branches are all
/// `$ref`s to object components becomes `pandadoc_api::unions::<Name>` (typify's
/// `x-rust-type`; the generator writes the enum), when a value names its branch:
/// - by a `discriminator`: the branch is the one its `mapping` (or, unmapped, the component's
///   name) gives for the value of `propertyName`;
/// - or by disjoint required properties: each branch requires a property that no other branch
///   declares, and the branch is the one whose such properties are all present.
///
/// A value that names no branch (a new tag value, say), or does not fit the branch it names (a
/// tag of one branch on a body of another, a required field missing), is kept whole as
/// `Other(Value)`, never refused: one inconsistent value never fails a whole response. The tag
/// is written back on serialization. Other unions (inline branches, scalars beside objects,
/// nullable, unnamed request bodies) are left to
/// [`object_unions_as_json`](super::object_unions_as_json).
pub fn typed_unions(spec: &mut Value) {
    let components = components_of(spec);
    let mut unions = Map::new();
    let mut taken = BTreeSet::new();
    for_each_schema(spec, &mut |schema, name| {
        if name.is_empty() || schema.get("nullable") == Some(&Value::Bool(true)) {
            return;
        }
        let Some((key, branches)) = ["oneOf", "anyOf"]
            .iter()
            .find_map(|k| schema.get(*k).and_then(Value::as_array).map(|b| (*k, b)))
        else {
            return;
        };
        let Some(refs) = branches
            .iter()
            .map(|b| {
                b.get("$ref")
                    .and_then(Value::as_str)
                    .and_then(|r| r.strip_prefix("#/components/schemas/"))
                    .filter(|_| b.as_object().is_some_and(|o| o.len() == 1))
            })
            .collect::<Option<Vec<&str>>>()
        else {
            return;
        };
        let Some(views) = branches
            .iter()
            .map(|b| object_view(b, &components, 0))
            .collect::<Option<Vec<Value>>>()
        else {
            return;
        };
        if refs.len() < 2 || refs.iter().collect::<BTreeSet<_>>().len() != refs.len() {
            return;
        }
        let tag = schema
            .get("discriminator")
            .and_then(|d| d.get("propertyName"))
            .and_then(Value::as_str);
        let branches: Vec<Value> = match tag {
            Some(_) => {
                let mapping = schema
                    .get("discriminator")
                    .and_then(|d| d.get("mapping"))
                    .and_then(Value::as_object);
                refs.iter()
                    .map(|component| {
                        let full = format!("#/components/schemas/{component}");
                        let value = mapping
                            .and_then(|m| m.iter().find(|(_, r)| **r == full.as_str()))
                            .map_or(*component, |(v, _)| v.as_str());
                        json!({ "component": component, "tag_value": value, "keys": [] })
                    })
                    .collect()
            }
            None => {
                let declared = |v: &Value| -> BTreeSet<String> {
                    v.get("properties")
                        .and_then(Value::as_object)
                        .map(|p| p.keys().cloned().collect())
                        .unwrap_or_default()
                };
                let mut out = Vec::new();
                for (i, view) in views.iter().enumerate() {
                    let others: BTreeSet<String> = views
                        .iter()
                        .enumerate()
                        .filter(|(j, _)| *j != i)
                        .flat_map(|(_, v)| declared(v))
                        .collect();
                    let keys: Vec<&str> = view
                        .get("required")
                        .and_then(Value::as_array)
                        .into_iter()
                        .flatten()
                        .filter_map(Value::as_str)
                        .filter(|k| !others.contains(*k))
                        .collect();
                    if keys.is_empty() {
                        return;
                    }
                    out.push(json!({ "component": refs[i], "tag_value": null, "keys": keys }));
                }
                out
            }
        };
        // The same union copied into several schemas (by `allOf` flattening) is one enum.
        let shape = json!({ "tag": tag, "branches": branches });
        let rust_name = match unions
            .iter()
            .find(|(_, u)| u["tag"] == shape["tag"] && u["branches"] == shape["branches"])
        {
            Some((existing, _)) => existing.clone(),
            None => unique_name(&name.to_upper_camel_case(), &mut taken),
        };
        let how = match tag {
            Some(t) => format!("told apart by `{t}`"),
            None => "told apart by the properties only one of them requires".into(),
        };
        let mut description = schema
            .get("description")
            .and_then(Value::as_str)
            .map(|d| format!("{d}\n\n"))
            .unwrap_or_default();
        description.push_str(&format!(
            "One of {} (`{key}`), {how}.",
            refs.iter()
                .map(|r| format!("`{r}`"))
                .collect::<Vec<_>>()
                .join(", ")
        ));
        unions.entry(rust_name.clone()).or_insert_with(
            || json!({ "tag": tag, "description": description, "branches": branches }),
        );
        let mut typed = Map::new();
        typed.insert("description".into(), json!(description));
        typed.insert(
            "x-rust-type".into(),
            json!({ "crate": "pandadoc-api", "version": "*",
                    "path": format!("pandadoc_api::unions::{rust_name}") }),
        );
        *schema = typed;
    });
    if let Some(doc) = spec.as_object_mut() {
        doc.insert(UNIONS_EXTENSION.into(), Value::Object(unions));
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> Value {
        json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "paths": {},
            "components": { "schemas": {
                "Pet": { "anyOf": [ { "$ref": "#/components/schemas/Cat" }, { "$ref": "#/components/schemas/Dog" } ],
                         "discriminator": { "propertyName": "kind", "mapping": { "cat": "#/components/schemas/Cat" } } },
                "Cat": { "type": "object", "properties": { "kind": { "type": "string" }, "lives": { "type": "integer" } } },
                "Dog": { "type": "object", "properties": { "kind": { "type": "string" } } },
                "Source": { "oneOf": [ { "$ref": "#/components/schemas/ByUrl" }, { "$ref": "#/components/schemas/ByTemplate" } ] },
                "ByUrl": { "type": "object", "required": ["url", "name"], "properties": { "url": { "type": "string" }, "name": { "type": "string" } } },
                "ByTemplate": { "type": "object", "required": ["template", "name"], "properties": { "template": { "type": "string" }, "name": { "type": "string" } } },
                "Blurry": { "oneOf": [ { "$ref": "#/components/schemas/ByUrl" }, { "$ref": "#/components/schemas/Dog" } ] },
                "Mixed": { "oneOf": [ { "type": "string" }, { "$ref": "#/components/schemas/Dog" } ] },
                "Owner": { "type": "object", "properties": { "pet": { "anyOf": [ { "$ref": "#/components/schemas/Cat" }, { "$ref": "#/components/schemas/Dog" } ],
                         "discriminator": { "propertyName": "kind", "mapping": { "cat": "#/components/schemas/Cat" } } } } }
            }}
        })
    }

    #[test]
    fn unions_that_name_their_branch_become_enums_the_rest_stay_json() {
        let mut spec = spec();
        typed_unions(&mut spec);
        let unions = &spec[UNIONS_EXTENSION];
        assert_eq!(
            unions.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["Pet", "Source"],
            "Blurry (Dog requires nothing of its own) and Mixed (a string branch) stay JSON; \
             Owner.pet is the same union as Pet"
        );
        assert_eq!(unions["Pet"]["branches"][0]["tag_value"], "cat", "mapped");
        assert_eq!(
            unions["Pet"]["branches"][1]["tag_value"], "Dog",
            "implicit: the name"
        );
        assert_eq!(unions["Source"]["branches"][0]["keys"], json!(["url"]));
        assert_eq!(unions["Source"]["branches"][1]["keys"], json!(["template"]));
        let schemas = &spec["components"]["schemas"];
        assert_eq!(
            schemas["Pet"]["x-rust-type"]["path"],
            "pandadoc_api::unions::Pet"
        );
        assert_eq!(
            schemas["Owner"]["properties"]["pet"]["x-rust-type"]["path"],
            "pandadoc_api::unions::Pet"
        );
        assert!(schemas["Blurry"].get("oneOf").is_some());
        assert!(schemas["Mixed"].get("oneOf").is_some());
    }

    #[test]
    fn the_generated_enum_keeps_unknown_values_and_writes_the_tag_back() {
        let code = super::super::render_fixture(&spec());
        let compact: String = code.split_whitespace().collect();
        for wanted in [
            "pubenumPet{",
            "Cat(super::types::Cat),",
            "Other(serde_json::Value),",
            "Self::Cat(v)=>tagged(v,\"kind\",\"cat\",serializer)",
            "if[\"url\"].iter().all(|k|value.get(*k).is_some()){matched.push(stringify!(ByUrl));}",
            "pubpet:::std::option::Option<::pandadoc_api::unions::Pet>",
        ] {
            assert!(compact.contains(wanted), "{wanted} in {code}");
        }
    }
}
