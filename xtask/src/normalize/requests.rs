//! Request bodies: an optional nullable field can be left out, or sent as `null`.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::walk::*;

/// **Rule: optional nullable request fields are tri-state.**
///
/// typify makes an optional nullable property an `Option<T>` that is left out when `None`, so
/// a request can never send an explicit `null`, and a PATCH can never clear a field. In the
/// schemas of request bodies (inline, or components that no response uses), every property
/// that is `nullable` and not required becomes `Option<Option<T>>` (via typify's
/// `x-rust-type`): `None` leaves it out, `Some(None)` sends `null`, `Some(Some(v))` sends `v`.
/// That applies where `T` needs no new type name (a `$ref`, a scalar, an array of those); an
/// inline object or enum stays `Option<T>`, as typify cannot name it there. Components that
/// responses use keep `Option<T>`: a response's `null` is `None` either way.
pub fn tri_state_request_fields(spec: &mut Value) {
    let request_only = request_only_components(spec);
    let mut rewrite = |schema: &mut Map<String, Value>, _: &str| tri_state_properties(schema);
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            if request_only.contains(name) {
                walk(schema, name, &mut rewrite);
            }
        }
    }
    for (_, _, op) in operations_mut(spec) {
        if let Some(body) = op.get_mut("requestBody") {
            walk_parameter_or_body(body, &mut rewrite);
        }
    }
}

fn tri_state_properties(schema: &mut Map<String, Value>) {
    let required: BTreeSet<String> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .map(String::from)
        .collect();
    for (name, prop) in schema
        .get_mut("properties")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flatten()
    {
        let Some(obj) = prop.as_object() else {
            continue;
        };
        if required.contains(name) || obj.get("nullable") != Some(&Value::Bool(true)) {
            continue;
        }
        let mut inner = obj.clone();
        inner.remove("nullable");
        // `allOf` of one `$ref` (PandaDoc's way to put `nullable` beside a reference).
        if let Some([single]) = inner
            .get("allOf")
            .and_then(Value::as_array)
            .map(Vec::as_slice)
            && single.get("$ref").is_some()
        {
            let single = single.clone();
            inner.remove("allOf");
            inner.remove("type");
            inner.extend(single.as_object().cloned().unwrap_or_default());
        }
        if !names_no_new_type(&inner) {
            continue;
        }
        let mut tri = Map::new();
        if let Some(d) = inner.get("description") {
            tri.insert("description".into(), d.clone());
        }
        tri.insert(
            "x-rust-type".into(),
            json!({ "crate": "std", "version": "*", "path": "std::option::Option",
                    "parameters": [Value::Object(inner)] }),
        );
        *prop = Value::Object(tri);
    }
}

/// Whether typify can type `schema` without naming a new type (a parameter of `x-rust-type`
/// gets no name, and typify panics on an unnamed object or enum): a `$ref`, a scalar without
/// `enum`, or an array of those.
fn names_no_new_type(schema: &Map<String, Value>) -> bool {
    if schema.contains_key("$ref") {
        return true;
    }
    if [
        "enum",
        "oneOf",
        "anyOf",
        "allOf",
        "properties",
        "additionalProperties",
    ]
    .iter()
    .any(|k| schema.contains_key(*k))
    {
        return false;
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("string" | "integer" | "number" | "boolean") => true,
        Some("array") => schema
            .get("items")
            .and_then(Value::as_object)
            .is_some_and(names_no_new_type),
        _ => false,
    }
}

/// Component schemas reachable from request bodies and from no response.
fn request_only_components(spec: &Value) -> BTreeSet<String> {
    let (mut requests, mut responses) = (Vec::new(), Vec::new());
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for op in item.as_object().into_iter().flat_map(|i| i.values()) {
            if let Some(body) = op.get("requestBody") {
                requests.push(body);
            }
            if let Some(r) = op.get("responses") {
                responses.push(r);
            }
        }
    }
    if let Some(r) = spec.pointer("/components/responses") {
        responses.push(r);
    }
    let from_requests = reachable(spec, requests);
    let from_responses = reachable(spec, responses);
    from_requests.difference(&from_responses).cloned().collect()
}

/// Names of the component schemas that `roots` reach through `$ref`s, transitively.
fn reachable(spec: &Value, roots: Vec<&Value>) -> BTreeSet<String> {
    let mut seen = BTreeSet::new();
    let mut pending = roots;
    while let Some(value) = pending.pop() {
        match value {
            Value::Object(map) => {
                if let Some(Value::String(r)) = map.get("$ref")
                    && let Some(target) = spec.pointer(r.trim_start_matches('#'))
                    && seen.insert(r.clone())
                {
                    pending.push(target);
                }
                pending.extend(map.values());
            }
            Value::Array(items) => pending.extend(items),
            _ => {}
        }
    }
    seen.iter()
        .filter_map(|r| r.strip_prefix("#/components/schemas/"))
        .map(String::from)
        .collect()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn spec() -> Value {
        json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "paths": { "/x/{id}": {
                "patch": {
                    "operationId": "patchX",
                    "parameters": [{ "name": "id", "in": "path", "required": true, "schema": { "type": "string" } }],
                    "requestBody": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Patch" } } } },
                    "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Thing" } } } } }
                }
            }},
            "components": { "schemas": {
                "Patch": { "type": "object", "required": ["kept"], "properties": {
                    "name": { "type": "string", "nullable": true, "description": "clearable" },
                    "kept": { "type": "string", "nullable": true },
                    "plain": { "type": "string" },
                    "thing": { "$ref": "#/components/schemas/Thing" },
                    "owner": { "type": "object", "nullable": true, "allOf": [{ "$ref": "#/components/schemas/Owner" }] },
                    "inline": { "type": "object", "nullable": true, "properties": { "a": { "type": "string" } } },
                    "mode": { "type": "string", "nullable": true, "enum": ["a", "b"] }
                }},
                "Owner": { "type": "object", "properties": { "id": { "type": "string" } } },
                "Thing": { "type": "object", "properties": { "note": { "type": "string", "nullable": true } } }
            }}
        })
    }

    #[test]
    fn optional_nullable_fields_of_request_only_schemas_become_tri_state() {
        let mut spec = spec();
        tri_state_request_fields(&mut spec);
        let props = &spec["components"]["schemas"]["Patch"]["properties"];
        assert_eq!(props["name"]["x-rust-type"]["path"], "std::option::Option");
        assert_eq!(
            props["name"]["x-rust-type"]["parameters"][0],
            json!({ "type": "string", "description": "clearable" })
        );
        assert_eq!(
            props["kept"]["nullable"], true,
            "required: Option<T> takes null"
        );
        assert_eq!(props["plain"], json!({ "type": "string" }));
        assert_eq!(
            props["owner"]["x-rust-type"]["parameters"][0],
            json!({ "$ref": "#/components/schemas/Owner" }),
            "allOf of one $ref: the reference"
        );
        for unnamed in ["inline", "mode"] {
            assert_eq!(
                props[unnamed]["nullable"], true,
                "{unnamed}: typify cannot name it"
            );
        }
        assert_eq!(
            spec["components"]["schemas"]["Thing"]["properties"]["note"]["nullable"], true,
            "a component that responses use is left alone"
        );
    }

    #[test]
    fn the_generated_field_is_option_of_option_left_out_when_none() {
        let code = super::super::render_fixture(&spec());
        let compact: String = code.split_whitespace().collect();
        assert!(
            compact.contains(
                "#[serde(skip_serializing_if=\"::std::option::Option::is_none\")]pubname:::std::option::Option<::std::option::Option<::std::string::String>>,"
            ),
            "{code}"
        );
        assert!(
            compact.contains("pubnote:::std::option::Option<::std::string::String>,"),
            "responses keep Option<T>"
        );
    }
}
