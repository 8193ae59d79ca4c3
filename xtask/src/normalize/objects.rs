//! Object schemas: `allOf` flattened, object unions as JSON, `type` stated, unknown fields tolerated.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::walk::*;

/// One object schema with every property of `objects`: a property declared differently by two
/// of them accepts any JSON value. `required` is the union (`require_all`, for `allOf`) or the
/// intersection (for alternatives) of theirs.
pub(super) fn merge_objects(
    objects: &[Value],
    require_all: bool,
    description: &str,
    about: &str,
) -> Value {
    let mut properties = Map::new();
    let mut conflicting: BTreeSet<String> = BTreeSet::new();
    let mut required: Option<BTreeSet<String>> = None;
    for object in objects {
        for (key, prop) in object
            .get("properties")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
        {
            match properties.get(key) {
                None => {
                    properties.insert(key.clone(), prop.clone());
                }
                Some(seen) if without_annotations(seen) == without_annotations(prop) => {}
                Some(_) => {
                    conflicting.insert(key.clone());
                }
            }
        }
        let here: BTreeSet<String> = object
            .get("required")
            .and_then(Value::as_array)
            .map(|r| {
                r.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        required = Some(match required {
            None => here,
            Some(r) if require_all => r.union(&here).cloned().collect(),
            Some(r) => r.intersection(&here).cloned().collect(),
        });
    }
    for key in conflicting {
        properties[&key] = json!({
            "description": format!("Any JSON value: {about} declare `{key}` with different types.")
        });
    }
    let mut merged = json!({ "type": "object", "properties": properties });
    if !description.is_empty() {
        merged["description"] = json!(description);
    }
    let required: Vec<String> = required.unwrap_or_default().into_iter().collect();
    if !required.is_empty() {
        merged["required"] = json!(required);
    }
    merged
}

/// **Rule: an `allOf` of objects is one object.**
///
/// typify intersects `allOf` members itself; where two members declare a property differently
/// (an enum `$ref` and `type: number`, say) it emits a type no value can inhabit, and every
/// response containing it fails to decode. An `allOf` whose members are all objects (directly,
/// by `$ref`, or as `allOf`s of objects themselves) becomes one object: every property of every
/// member, a property declared differently by two members accepting any JSON value, and
/// `required` the union of the members'. Other `allOf`s are left alone.
pub fn flatten_all_of(spec: &mut Value) {
    let components = components_of(spec);
    for_each_schema(spec, &mut |schema, _| {
        let Some(members) = schema.get("allOf").and_then(Value::as_array) else {
            return;
        };
        let objects: Option<Vec<Value>> = members
            .iter()
            .map(|m| object_view(m, &components, 0))
            .collect();
        let Some(objects) = objects else { return };
        let description = schema
            .get("description")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let merged = merge_objects(&objects, true, &description, "the members of this allOf");
        let mut merged = merged.as_object().cloned().unwrap_or_default();
        for key in ["title", "example", "nullable", "readOnly", "writeOnly"] {
            if let Some(v) = schema.get(key) {
                merged.insert(key.into(), v.clone());
            }
        }
        *schema = merged;
    });
}

/// `schema` as a plain object schema, if it is one (following `$ref`s and nested `allOf`s).
pub(super) fn object_view(schema: &Value, components: &Value, depth: usize) -> Option<Value> {
    if depth > 16 {
        return None;
    }
    let schema = resolve(schema, components);
    if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
        let mut objects: Option<Vec<Value>> = members
            .iter()
            .map(|m| object_view(m, components, depth + 1))
            .collect();
        // Properties declared beside the `allOf` belong to the object too.
        if let (Some(objects), Some(own)) = (&mut objects, schema.get("properties")) {
            objects.push(json!({ "type": "object", "properties": own,
                                 "required": schema.get("required").cloned().unwrap_or(json!([])) }));
        }
        return Some(merge_objects(
            &objects?,
            true,
            "",
            "the members of this allOf",
        ));
    }
    let composed = schema.get("oneOf").is_some() || schema.get("anyOf").is_some();
    (is_object_schema(&schema) && !composed).then_some(schema)
}

/// **Rule: unions with object branches are any JSON.**
///
/// typify renders an `anyOf` (with or without a `discriminator`) as a struct of flattened
/// optional branches, which drops and mixes up fields (measured: a document's `fields` lost
/// their `uuid`), and a `oneOf` as an untagged enum whose first branch that fits wins, dropping
/// the fields of the others since unknown fields are ignored. A `oneOf` or `anyOf` with an
/// object branch is therefore kept as a JSON value: nothing lost or misread, and the branch
/// types stay generated (their names are in the description) for `serde_json::from_value`.
/// Unions of scalars (such as the open enums) are left alone.
pub fn object_unions_as_json(spec: &mut Value) {
    let components = components_of(spec);
    for_each_schema(spec, &mut |schema, _| {
        for key in ["oneOf", "anyOf"] {
            let Some(branches) = schema.get(key).and_then(Value::as_array) else {
                continue;
            };
            let has_object = branches.iter().any(|b| {
                let resolved = resolve(b, &components);
                is_object_schema(&resolved) || resolved.get("allOf").is_some()
            });
            if !has_object {
                continue;
            }
            let names: Vec<String> = branches
                .iter()
                .map(|b| {
                    b.get("$ref")
                        .and_then(Value::as_str)
                        .map_or("an inline schema", |r| r.rsplit('/').next().unwrap_or(r))
                        .to_string()
                })
                .collect();
            let tag = schema
                .get("discriminator")
                .and_then(|d| d.get("propertyName"))
                .and_then(Value::as_str)
                .map(|p| format!(", told apart by `{p}`"))
                .unwrap_or_default();
            let mut description = schema
                .get("description")
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string();
            if !description.is_empty() {
                description.push_str("\n\n");
            }
            description.push_str(&format!(
                "Any JSON value: one of {}{tag}.",
                names.join(", ")
            ));
            let mut any = Map::new();
            any.insert("description".into(), json!(description));
            if let Some(example) = schema.get("example") {
                any.insert("example".into(), example.clone());
            }
            *schema = any;
            return;
        }
    });
}

/// **Rule: a schema with `properties` and no `type` is an object.**
///
/// JSON Schema lets `type` be left out; generators then guess. This rule states what the
/// author meant, for every schema with `properties` (or `additionalProperties`) and no `type`
/// nor composition keyword.
pub fn object_type_from_properties(spec: &mut Value) {
    for_each_schema(spec, &mut |schema, _| {
        let has_props =
            schema.contains_key("properties") || schema.contains_key("additionalProperties");
        let composed = ["allOf", "oneOf", "anyOf", "$ref"]
            .iter()
            .any(|k| schema.contains_key(*k));
        if has_props && !composed && !schema.contains_key("type") {
            schema.insert("type".into(), json!("object"));
        }
    });
}

/// **Rule: unknown fields are tolerated.**
///
/// `additionalProperties: false` makes the generated type reject any field the server adds
/// later. A client must keep working when the server grows, so the keyword is dropped
/// everywhere (an explicit schema for additional properties is kept).
pub fn tolerate_unknown_fields(spec: &mut Value) {
    for_each_schema(spec, &mut |schema, _| {
        if schema.get("additionalProperties") == Some(&Value::Bool(false)) {
            schema.remove("additionalProperties");
        }
    });
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn properties_without_type_are_objects() {
        let mut spec = json!({ "components": { "schemas": {
            "A": { "properties": { "x": { "type": "string" } } },
            "B": { "allOf": [{ "properties": { "y": { "type": "string" } } }] },
            "C": { "type": "string" }
        }}});
        object_type_from_properties(&mut spec);
        let s = &spec["components"]["schemas"];
        assert_eq!(s["A"]["type"], "object");
        assert_eq!(s["B"]["allOf"][0]["type"], "object", "nested schemas too");
        assert!(
            s["B"].get("type").is_none(),
            "composed schemas are left alone"
        );
        assert_eq!(s["C"]["type"], "string");
    }

    #[test]
    fn additional_properties_false_is_dropped() {
        let mut spec = json!({ "components": { "schemas": {
            "A": { "type": "object", "additionalProperties": false, "properties": {
                "m": { "type": "object", "additionalProperties": { "type": "integer" } }
            }}
        }}});
        tolerate_unknown_fields(&mut spec);
        let a = &spec["components"]["schemas"]["A"];
        assert!(a.get("additionalProperties").is_none());
        assert_eq!(
            a["properties"]["m"]["additionalProperties"]["type"],
            "integer"
        );
    }

    #[test]
    fn all_of_objects_flatten_into_one_object() {
        let mut spec = json!({ "components": { "schemas": {
            "Base": { "type": "object", "required": ["id"], "properties": {
                "id": { "type": "string" }, "kind": { "$ref": "#/components/schemas/Kind" } } },
            "Kind": { "type": "integer", "enum": [0, 1] },
            "Item": { "allOf": [
                { "$ref": "#/components/schemas/Base" },
                { "type": "object", "required": ["n"], "properties": { "n": { "type": "integer" }, "kind": { "type": "number" } } }
            ]},
            "NotObjects": { "allOf": [{ "$ref": "#/components/schemas/Kind" }, { "description": "d" }] }
        }}});
        flatten_all_of(&mut spec);
        let item = &spec["components"]["schemas"]["Item"];
        assert!(item.get("allOf").is_none());
        assert_eq!(
            item["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["id", "kind", "n"]
        );
        assert!(
            item["properties"]["kind"].get("type").is_none(),
            "declared differently: any JSON, not uninhabitable"
        );
        assert_eq!(
            item["required"],
            json!(["id", "n"]),
            "allOf requires what every member requires"
        );
        assert!(
            spec["components"]["schemas"]["NotObjects"]
                .get("allOf")
                .is_some()
        );
    }

    #[test]
    fn unions_with_object_branches_are_any_json() {
        let mut spec = json!({ "components": { "schemas": {
            "A": { "type": "object", "properties": { "a": { "type": "string" } } },
            "B": { "type": "object", "properties": { "b": { "type": "string" } } },
            "Field": { "anyOf": [{ "$ref": "#/components/schemas/A" }, { "$ref": "#/components/schemas/B" }],
                       "discriminator": { "propertyName": "type" } },
            "Scalar": { "oneOf": [{ "type": "string" }, { "type": "integer" }] }
        }}});
        object_unions_as_json(&mut spec);
        let field = &spec["components"]["schemas"]["Field"];
        assert!(field.get("anyOf").is_none() && field.get("type").is_none());
        assert!(
            field["description"]
                .as_str()
                .unwrap()
                .contains("one of A, B, told apart by `type`")
        );
        assert!(
            spec["components"]["schemas"]["Scalar"]
                .get("oneOf")
                .is_some(),
            "scalar unions stay"
        );
    }
}
