//! Normalization of an OpenAPI 3.0 document before progenitor sees it.
//!
//! The vendored spec is never edited: these rules rewrite an in-memory copy, deterministically
//! (same input, same output; maps keep the document's order). Each rule is general: it names no
//! operation, path or schema of PandaDoc's, and applies to any number of operations and statuses.
//! They run in the order of [`RULES`]; each is documented on its function.
//!
//! | rule | why |
//! | --- | --- |
//! | [`one_error_schema_per_operation`] | progenitor gives every error status of an operation the type of the first one |
//! | [`object_type_from_properties`] | a schema with `properties` but no `type` is an object |
//! | [`open_string_enums`] | a closed enum fails the whole response when the server adds a value |
//! | [`tolerate_unknown_fields`] | `additionalProperties: false` fails a response when the server adds a field |

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

type Rule = fn(&mut Value);

/// The rules, in the order they run.
pub const RULES: &[(&str, Rule)] = &[
    (
        "one_error_schema_per_operation",
        one_error_schema_per_operation,
    ),
    ("object_type_from_properties", object_type_from_properties),
    ("open_string_enums", open_string_enums),
    ("tolerate_unknown_fields", tolerate_unknown_fields),
];

/// Applies every rule of [`RULES`] to `spec`, in order.
pub fn normalize(spec: &mut Value) {
    for (_, rule) in RULES {
        rule(spec);
    }
}

const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// Keywords that document a schema without constraining it: two schemas that differ only in
/// these describe the same values.
const ANNOTATIONS: [&str; 5] = [
    "description",
    "example",
    "examples",
    "title",
    "externalDocs",
];

/// **Rule: one error schema per operation.**
///
/// progenitor gives an operation a single error type and names every inline error schema
/// `<OperationId>Response`, so the first error status's schema silently wins and the bodies of
/// the other statuses fail to decode (or lose fields). For every operation whose non-2xx
/// responses (`4XX`, `5XX`, `default` included) declare JSON bodies of more than one shape, this
/// rule builds one object schema `<OperationId>Error`, the union of those shapes:
/// - every property of every shape is kept;
/// - a property declared alike in all shapes (ignoring descriptions and examples) keeps its
///   schema; a property whose shapes disagree (say `detail`, a string in one status and an
///   object in another) accepts any JSON value, so nothing the server sends is lost;
/// - a property is required only if every shape requires it;
/// - a shape that is not an object (a bare string or array) makes the whole body any JSON.
///
/// Each of those responses then points at the union, resolved from `components/responses`
/// where it was a `$ref`, keeping its own description. The HTTP status stays with the response
/// value, so callers still know which status they got.
pub fn one_error_schema_per_operation(spec: &mut Value) {
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
    let mut added: Vec<(String, Value)> = Vec::new();
    let mut taken: BTreeSet<String> = components
        .get("schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();

    for (path, method, op) in operations_mut(spec) {
        let base = type_base(&path, method, op);
        let Some(responses) = op.get_mut("responses").and_then(Value::as_object_mut) else {
            continue;
        };
        let mut errors: Vec<(String, Value, Value)> = Vec::new(); // (status, response, schema)
        for (status, response) in responses.iter() {
            if status.starts_with('2') {
                continue;
            }
            let response = resolve(response, &components);
            if let Some(schema) = json_schema_of(&response) {
                errors.push((status.clone(), response.clone(), schema.clone()));
            }
        }
        let shapes: BTreeSet<String> = errors
            .iter()
            .map(|(_, _, s)| without_annotations(s).to_string())
            .collect();
        if shapes.len() <= 1 {
            continue;
        }

        let name = unique_name(&format!("{base}Error"), &mut taken);
        let statuses: Vec<&str> = errors.iter().map(|(s, _, _)| s.as_str()).collect();
        let bodies: Vec<Value> = errors
            .iter()
            .map(|(_, _, s)| resolve(s, &components))
            .collect();
        let union = union_of_objects(&bodies, &statuses);
        added.push((name.clone(), union));

        for (status, mut response, _) in errors {
            for (_, body) in json_media_mut(&mut response) {
                body.insert(
                    "schema".into(),
                    json!({ "$ref": format!("#/components/schemas/{name}") }),
                );
            }
            responses.insert(status, response);
        }
    }

    if !added.is_empty() {
        let schemas = spec
            .as_object_mut()
            .expect("an OpenAPI document is an object")
            .entry("components")
            .or_insert_with(|| json!({}))
            .as_object_mut()
            .expect("components is an object")
            .entry("schemas")
            .or_insert_with(|| json!({}));
        for (name, schema) in added {
            schemas[name] = schema;
        }
    }
}

/// The union object of `bodies` (see [`one_error_schema_per_operation`]).
fn union_of_objects(bodies: &[Value], statuses: &[&str]) -> Value {
    let description = format!(
        "Error body of statuses {}: the union of their declared shapes.",
        statuses.join(", ")
    );
    if bodies.iter().any(|b| !is_object_schema(b)) {
        return json!({ "description": description });
    }
    let mut properties = Map::new();
    let mut conflicting: BTreeSet<String> = BTreeSet::new();
    let mut required: Option<BTreeSet<String>> = None;
    for body in bodies {
        if let Some(props) = body.get("properties").and_then(Value::as_object) {
            for (key, prop) in props {
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
        }
        let here: BTreeSet<String> = body
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
            Some(r) => r.intersection(&here).cloned().collect(),
        });
    }
    for key in conflicting {
        properties[&key] = json!({
            "description": format!(
                "Any JSON value: the statuses {} declare `{key}` with different types.",
                statuses.join(", ")
            )
        });
    }
    let mut union =
        json!({ "type": "object", "description": description, "properties": properties });
    let required: Vec<String> = required.unwrap_or_default().into_iter().collect();
    if !required.is_empty() {
        union["required"] = json!(required);
    }
    union
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

/// **Rule: string enums are open.**
///
/// A server adds enum values without a new API version; a client with a closed enum then fails
/// the whole response for one new value (a future `status: "pending"` would lose every record
/// of the page). Every `type: string` schema with an `enum` becomes
/// `oneOf: [<Name>Known (the declared values), <Name>Unknown (any string)]`. progenitor makes
/// that an untagged Rust enum `<Name> { Known(<Name>Known), Unknown(String) }`: declared values
/// decode to `Known`, any other string to `Unknown` with its text kept. `<Name>` follows
/// typify's naming (schema name, then each property name, `Item` for array items). A `null`
/// among the values becomes `nullable: true`. Parameters and request bodies are left closed:
/// what the client sends is checked against what the spec declares.
pub fn open_string_enums(spec: &mut Value) {
    for_each_response_schema(spec, &mut |schema, name| {
        let is_string = schema.get("type").and_then(Value::as_str) == Some("string");
        let Some(values) = schema.get("enum").and_then(Value::as_array).cloned() else {
            return;
        };
        if !is_string {
            return;
        }
        let known: Vec<Value> = values.iter().filter(|v| !v.is_null()).cloned().collect();
        let mut known_schema = Map::new();
        known_schema.insert("title".into(), json!(format!("{name}Known")));
        for (key, value) in schema.iter() {
            if !matches!(
                key.as_str(),
                "description" | "example" | "nullable" | "default" | "enum"
            ) {
                known_schema.insert(key.clone(), value.clone());
            }
        }
        known_schema.insert("enum".into(), Value::Array(known));
        let mut unknown = json!({ "title": format!("{name}Unknown"), "type": "string" });
        if let Some(format) = schema.get("format") {
            unknown["format"] = format.clone();
        }
        let nullable =
            values.iter().any(Value::is_null) || schema.get("nullable") == Some(&json!(true));
        let mut open = Map::new();
        for key in ["description", "example"] {
            if let Some(value) = schema.get(key) {
                open.insert(key.into(), value.clone());
            }
        }
        if nullable {
            open.insert("nullable".into(), json!(true));
        }
        open.insert(
            "oneOf".into(),
            json!([Value::Object(known_schema), unknown]),
        );
        *schema = open;
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

// ---- walking the document -------------------------------------------------------------------

/// Every operation object: `(path, method, operation)`.
fn operations_mut(spec: &mut Value) -> Vec<(String, &'static str, &mut Value)> {
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
fn for_each_response_schema(spec: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
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
fn for_each_schema(spec: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
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
fn walk_parameter_or_body(root: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
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
fn type_base(path: &str, method: &str, op: &Value) -> String {
    op.get("operationId")
        .and_then(Value::as_str)
        .map(str::to_upper_camel_case)
        .unwrap_or_else(|| format!("{method} {path}").to_upper_camel_case())
}

/// Post-order walk of a schema and its subschemas, so that `f` never sees what it just made.
fn walk(schema: &mut Value, name: &str, f: &mut dyn FnMut(&mut Map<String, Value>, &str)) {
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
fn json_media_mut(response: &mut Value) -> Vec<(String, &mut Map<String, Value>)> {
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

fn is_json_media(media: &str) -> bool {
    let essence = media.split(';').next().unwrap_or("").trim();
    essence == "application/json" || essence.ends_with("+json")
}

fn json_schema_of(response: &Value) -> Option<&Value> {
    let content = response.get("content")?.as_object()?;
    content
        .iter()
        .find(|(media, _)| is_json_media(media))
        .and_then(|(_, body)| body.get("schema"))
}

/// Follows a local `$ref` (one level of `#/components/...`); anything else is returned as is.
fn resolve(value: &Value, components: &Value) -> Value {
    let mut current = value.clone();
    for _ in 0..8 {
        let Some(target) = current.get("$ref").and_then(Value::as_str) else {
            break;
        };
        let Some(pointer) = target.strip_prefix("#/components") else {
            break;
        };
        match components.pointer(pointer) {
            Some(found) => current = found.clone(),
            None => break,
        }
    }
    current
}

fn is_object_schema(schema: &Value) -> bool {
    schema.get("type").and_then(Value::as_str) == Some("object")
        || (schema.get("type").is_none() && schema.get("properties").is_some())
}

/// `schema` without its documentation keywords, at every depth.
fn without_annotations(schema: &Value) -> Value {
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

fn unique_name(wanted: &str, taken: &mut BTreeSet<String>) -> String {
    let mut name = wanted.to_string();
    let mut n = 2;
    while taken.contains(&name) {
        name = format!("{wanted}{n}");
        n += 1;
    }
    taken.insert(name.clone());
    name
}
