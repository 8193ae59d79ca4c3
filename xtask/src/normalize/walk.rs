//! Walking an OpenAPI document: operations, content maps and schemas, with the names typify
//! will give them; and the schema helpers the rules share.

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
pub(super) use openapi_model::METHODS;
use serde_json::{Map, Value};

/// Keywords that document a schema without constraining it: two schemas that differ only in
/// these describe the same values.
pub(super) const ANNOTATIONS: [&str; 5] = [
    "description",
    "example",
    "examples",
    "title",
    "externalDocs",
];

/// Calls `f(content, is_response)` on the `content` map of every response and request body.
pub(super) fn for_each_content(spec: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, bool)) {
    let mut visit = |holder: &mut Value, responses: bool| {
        if let Some(content) = holder.get_mut("content").and_then(Value::as_object_mut) {
            f(content, responses);
        }
    };
    if let Some(components) = spec.get_mut("components").and_then(Value::as_object_mut) {
        for (key, group) in components.iter_mut() {
            let responses = match key.as_str() {
                "responses" => true,
                "requestBodies" => false,
                _ => continue,
            };
            for holder in group
                .as_object_mut()
                .into_iter()
                .flat_map(|g| g.values_mut())
            {
                visit(holder, responses);
            }
        }
    }
    for (_, _, op) in operations_mut(spec) {
        if let Some(body) = op.get_mut("requestBody") {
            visit(body, false);
        }
        for response in op
            .get_mut("responses")
            .and_then(Value::as_object_mut)
            .into_iter()
            .flat_map(|r| r.values_mut())
        {
            visit(response, true);
        }
    }
}

/// Every operation object: `(path, method, operation)`.
pub(super) fn operations_mut(spec: &mut Value) -> Vec<(String, &'static str, &mut Value)> {
    let mut out = Vec::new();
    if let Some(paths) = spec.get_mut("paths").and_then(Value::as_object_mut) {
        for (path, item) in paths.iter_mut() {
            let Some(item) = item.as_object_mut() else {
                continue;
            };
            for (method, op) in item.iter_mut() {
                if let Some(m) = METHODS.iter().find(|m| **m == method) {
                    out.push((path.clone(), *m, op));
                }
            }
        }
    }
    out
}

/// Calls `f` on every schema that can describe a response body: component schemas, component
/// responses and operation responses, with the Rust type name typify will suggest for it.
pub(super) fn for_each_response_schema(
    spec: &mut Value,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    if let Some(schemas) = spec
        .pointer_mut("/components/schemas")
        .and_then(Value::as_object_mut)
    {
        for (name, schema) in schemas.iter_mut() {
            walk(schema, name, f);
        }
    }
    if let Some(responses) = spec
        .pointer_mut("/components/responses")
        .and_then(Value::as_object_mut)
    {
        for (name, response) in responses.iter_mut() {
            let base = format!("{}Response", name.to_upper_camel_case());
            for (_, media) in json_media_mut(response) {
                if let Some(schema) = media.get_mut("schema") {
                    walk(schema, &base, f);
                }
            }
        }
    }
    for (path, method, op) in operations_mut(spec) {
        let base = type_base(&path, method, op);
        if let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) {
            for (_, response) in responses.iter_mut() {
                for (_, media) in json_media_mut(response) {
                    if let Some(schema) = media.get_mut("schema") {
                        walk(schema, &format!("{base}Response"), f);
                    }
                }
            }
        }
    }
}

/// Calls `f` on every schema of the document: those of [`for_each_response_schema`] plus
/// parameters and request bodies.
pub(super) fn for_each_schema(spec: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
    for_each_response_schema(spec, f);
    if let Some(components) = spec.get_mut("components").and_then(Value::as_object_mut) {
        for (key, group) in components.iter_mut() {
            if matches!(key.as_str(), "parameters" | "requestBodies") {
                for root in group
                    .as_object_mut()
                    .into_iter()
                    .flat_map(|g| g.values_mut())
                {
                    walk_parameter_or_body(root, f);
                }
            }
        }
    }
    for (_, _, op) in operations_mut(spec) {
        let Some(op) = op.as_object_mut() else {
            continue;
        };
        for (key, value) in op.iter_mut() {
            match key.as_str() {
                "parameters" => {
                    for root in value.as_array_mut().into_iter().flatten() {
                        walk_parameter_or_body(root, f);
                    }
                }
                "requestBody" => walk_parameter_or_body(value, f),
                _ => {}
            }
        }
    }
}

/// Walks the schema of a parameter (`schema`) or request body (`content.*.schema`).
pub(super) fn walk_parameter_or_body(
    root: &mut Value,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    if let Some(schema) = root.get_mut("schema") {
        walk(schema, "", f);
    }
    for media in root
        .get_mut("content")
        .and_then(Value::as_object_mut)
        .into_iter()
        .flat_map(|c| c.values_mut())
    {
        if let Some(schema) = media.get_mut("schema") {
            walk(schema, "", f);
        }
    }
}

/// The Rust type name typify derives from an operation: its `operationId` in PascalCase.
pub(super) fn type_base(path: &str, method: &str, op: &Value) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(str::to_upper_camel_case)
        .unwrap_or_else(|| format!("{method} {path}").to_upper_camel_case())
}

/// Post-order walk of a schema and its subschemas, so that `f` never sees what it just made.
pub(super) fn walk(
    schema: &mut Value,
    name: &str,
    f: &mut dyn FnMut(&mut Map<String, Value>, &str),
) {
    let Some(obj) = schema.as_object_mut() else {
        return;
    };
    if obj.contains_key("$ref") {
        return;
    }
    for (key, child) in obj.iter_mut() {
        match key.as_str() {
            "properties" => {
                for (prop, sub) in child.as_object_mut().into_iter().flatten() {
                    walk(sub, &format!("{name}{}", prop.to_upper_camel_case()), f);
                }
            }
            "items" => walk(child, &format!("{name}Item"), f),
            "additionalProperties" => walk(child, &format!("{name}Value"), f),
            "not" => walk(child, &format!("{name}Not"), f),
            "allOf" | "oneOf" | "anyOf" => {
                for (i, sub) in child.as_array_mut().into_iter().flatten().enumerate() {
                    walk(sub, &format!("{name}Subtype{i}"), f);
                }
            }
            _ => {}
        }
    }
    f(obj, name);
}

/// The JSON media types (`application/json`, `application/problem+json`, …) of a response.
pub(super) fn json_media_mut(response: &mut Value) -> Vec<(String, &mut Map<String, Value>)> {
    let mut out = Vec::new();
    if let Some(content) = response.get_mut("content").and_then(Value::as_object_mut) {
        for (media, body) in content.iter_mut() {
            if is_json_media(media)
                && let Some(body) = body.as_object_mut()
            {
                out.push((media.clone(), body));
            }
        }
    }
    out
}

pub(super) fn is_json_media(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

pub(super) fn json_schema_of(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(media, _)| is_json_media(media))
        .and_then(|(_, body)| body.get("schema"))
}

/// A copy of `spec`'s components, as a document of its own (`{"components": ...}`) that
/// [`resolve`] reads while the rules change `spec`. After `pointer_refs` every `$ref` is a
/// component's, so nothing else is needed.
pub(super) fn components_of(spec: &Value) -> Value {
    let mut doc = Map::new();
    if let Some(components) = spec.get("components") {
        doc.insert("components".into(), components.clone());
    }
    Value::Object(doc)
}

/// `value` with its `$ref`s followed in `components` (from [`components_of`]), by the
/// workspace's one resolver; as it is when they lead nowhere.
pub(super) fn resolve(value: &Value, components: &Value) -> Value {
    openapi_model::resolve(components, value)
        .unwrap_or(value)
        .clone()
}

pub(super) fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        || (schema.get("type").is_none() && schema.get("properties").is_some())
}

/// `schema` without its documentation keywords, at every depth.
pub(super) fn without_annotations(schema: &Value) -> Value {
    match schema {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(k, _)| !ANNOTATIONS.contains(&k.as_str()))
                .map(|(k, v)| {
                    // Inside `properties` the keys are names, not keywords.
                    let v = if k == "properties" {
                        Value::Object(
                            v.as_object()
                                .into_iter()
                                .flatten()
                                .map(|(n, s)| (n.clone(), without_annotations(s)))
                                .collect(),
                        )
                    } else {
                        without_annotations(v)
                    };
                    (k.clone(), v)
                })
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_annotations).collect()),
        other => other.clone(),
    }
}

pub(super) fn unique_name(wanted: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{wanted}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}

/// Adds `schemas` to `components/schemas` (created if missing), in order.
pub(super) fn add_component_schemas(spec: &mut Value, schemas: Vec<(String, Value)>) {
    if schemas.is_empty() {
        return;
    }
    let target = spec
        .as_object_mut()
        .expect("an OpenAPI document is an object")
        .entry("components")
        .or_insert_with(|| serde_json::json!({}))
        .as_object_mut()
        .expect("components is an object")
        .entry("schemas")
        .or_insert_with(|| serde_json::json!({}));
    for (name, schema) in schemas {
        target[name] = schema;
    }
}
