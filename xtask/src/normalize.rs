//! Normalization of an OpenAPI 3.0 document before progenitor sees it.
//!
//! The vendored spec is never edited: these rules rewrite an in-memory copy, deterministically
//! (same input, same output; maps keep the document's order). Each rule is general: it names no
//! operation, path or schema of PandaDoc's, and applies to any number of operations and statuses.
//! They run in the order of [`RULES`]; each is documented on its function.
//!
//! | rule | why |
//! | --- | --- |
//! | [`json_media_types`] | progenitor types only `application/json` bodies and panics on `encoding` |
//! | [`one_request_media_type`] | progenitor panics on several request media types and refuses multipart |
//! | [`one_response_type_per_class`] | progenitor gives every status of a class the first one's type, or panics |
//! | [`date_time_spelling`] | `format: datetime` would leave a timestamp untyped |
//! | [`flatten_all_of`] | typify makes an uninhabitable type of an `allOf` whose members disagree |
//! | [`object_unions_as_json`] | typify's `anyOf`/`oneOf` of objects drop or mix up fields |
//! | [`object_type_from_properties`] | a schema with `properties` but no `type` is an object |
//! | [`open_string_enums`] | a closed enum fails the whole response when the server adds a value |
//! | [`tolerate_unknown_fields`] | `additionalProperties: false` fails a response when the server adds a field |
//! | [`titles_never_rename`] | a `title` equal to a component's name made typify emit two types of that name |

use std::collections::BTreeSet;

use heck::ToUpperCamelCase;
use serde_json::{Map, Value, json};

type Rule = fn(&mut Value);

/// The rules, in the order they run.
pub const RULES: &[(&str, Rule)] = &[
    ("titles_never_rename", titles_never_rename),
    ("json_media_types", json_media_types),
    ("one_request_media_type", one_request_media_type),
    ("one_response_type_per_class", one_response_type_per_class),
    ("date_time_spelling", date_time_spelling),
    ("flatten_all_of", flatten_all_of),
    ("object_unions_as_json", object_unions_as_json),
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

/// **Rule: one response type per class.**
///
/// progenitor gives an operation one success type and one error type, names every inline schema
/// `<OperationId>Response` (the first wins silently) and panics when the responses of a class
/// are of different kinds. For each operation and each class (success: 2xx; error: 4xx, 5xx,
/// ranges; a `default` beside documented 2xx becomes `4XX` and `5XX`, as it only ever answers
/// errors then):
/// - JSON bodies of more than one shape become one object schema, `<OperationId>Success` or
///   `<OperationId>Error`, the union of those shapes:
///   - every property of every shape is kept;
///   - a property declared alike in all shapes (ignoring descriptions and examples) keeps its
///     schema; one whose shapes disagree (say `detail`, a string in one status and an object in
///     another) accepts any JSON value, so nothing the server sends is lost;
///   - a property is required only if every shape requires it;
///   - a shape that is not an object (a bare string or array) makes the whole body any JSON.
///
///   Each response then points at the union, resolved from `components/responses` where it was
///   a `$ref`, keeping its own description. The status stays with the response value.
/// - A single inline JSON schema is named likewise (`<OperationId>Response` if free), so that
///   progenitor's own naming never collides with a component schema of the same name.
/// - Errors without a JSON body beside errors with one are left out of the documented set:
///   they still arrive, as `Error::UnexpectedResponse` with their status and body.
/// - Successes of mixed kinds (JSON and no content, JSON and a PDF) are all read as raw bytes
///   (`ByteStream`): never a lost or refused body; the JSON types stay generated for decoding.
/// - Errors of mixed non-JSON kinds are all read as raw bytes too.
pub fn one_response_type_per_class(spec: &mut Value) {
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
        if responses.keys().any(|s| s.starts_with('2'))
            && let Some(default) = responses.remove("default")
        {
            for range in ["4XX", "5XX"] {
                if !responses.contains_key(range) {
                    responses.insert(range.into(), default.clone());
                }
            }
        }
        for success in [true, false] {
            let members: Vec<(String, Value)> = responses
                .iter()
                .filter(|(status, _)| status.starts_with('2') == success)
                .map(|(status, r)| (status.clone(), resolve(r, &components)))
                .collect();
            let json: Vec<(String, Value, Value)> = members
                .iter()
                .filter_map(|(st, r)| json_schema_of(r).map(|s| (st.clone(), r.clone(), s.clone())))
                .collect();
            let others: Vec<&String> = members
                .iter()
                .filter(|(_, r)| json_schema_of(r).is_none())
                .map(|(st, _)| st)
                .collect();
            let kinds: BTreeSet<String> = members.iter().map(|(_, r)| response_kind(r)).collect();

            if !json.is_empty() && !others.is_empty() {
                if success {
                    for (status, _) in &members {
                        responses.insert(status.clone(), raw_bytes_response(&members, status));
                    }
                    continue;
                }
                for status in others {
                    responses.remove(status);
                }
            } else if json.is_empty() && kinds.len() > 1 {
                for (status, _) in &members {
                    responses.insert(status.clone(), raw_bytes_response(&members, status));
                }
                continue;
            }

            let shapes: BTreeSet<String> = json
                .iter()
                .map(|(_, _, s)| without_annotations(s).to_string())
                .collect();
            let inline = json.iter().any(|(_, _, s)| s.get("$ref").is_none());
            if shapes.is_empty() || (shapes.len() == 1 && !inline) {
                continue;
            }
            let name = match (success, shapes.len()) {
                (true, 1) if !taken.contains(&format!("{base}Response")) => {
                    unique_name(&format!("{base}Response"), &mut taken)
                }
                (true, _) => unique_name(&format!("{base}Success"), &mut taken),
                (false, _) => unique_name(&format!("{base}Error"), &mut taken),
            };
            let statuses: Vec<&str> = json.iter().map(|(s, _, _)| s.as_str()).collect();
            let bodies: Vec<Value> = json
                .iter()
                .map(|(_, _, s)| resolve(s, &components))
                .collect();
            let schema = if shapes.len() == 1 {
                bodies[0].clone()
            } else {
                union_of_objects(&bodies, &statuses)
            };
            added.push((name.clone(), schema));
            for (status, mut response, _) in json {
                for (_, body) in json_media_mut(&mut response) {
                    body.insert(
                        "schema".into(),
                        json!({ "$ref": format!("#/components/schemas/{name}") }),
                    );
                }
                responses.insert(status, response);
            }
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

/// `json`, `none` or the raw media types of a response, as progenitor sorts them.
fn response_kind(response: &Value) -> String {
    match response.get("content").and_then(Value::as_object) {
        _ if json_schema_of(response).is_some() => "json".into(),
        Some(content) if !content.is_empty() => "raw".into(),
        _ => "none".into(),
    }
}

/// The response `status` of `members`, its body read as raw bytes.
fn raw_bytes_response(members: &[(String, Value)], status: &str) -> Value {
    let original = &members
        .iter()
        .find(|(s, _)| s == status)
        .expect("a member")
        .1;
    let description = original
        .get("description")
        .and_then(Value::as_str)
        .unwrap_or_default();
    json!({
        "description": format!("{description} (read as raw bytes: this operation's successes are of mixed kinds)"),
        "content": { "application/octet-stream": { "schema": { "type": "string", "format": "binary" } } }
    })
}

/// **Rule: JSON media types are `application/json`, and have a schema.**
///
/// progenitor types a body only under exactly `application/json` and panics on a JSON media
/// type without a schema or with an `encoding`. In responses, `application/problem+json`,
/// `application/json; charset=utf-8` and the like become `application/json` (unless that is
/// already there); a JSON body without a schema accepts any JSON; `encoding` objects (which
/// describe multipart parts) are dropped everywhere.
pub fn json_media_types(spec: &mut Value) {
    let mut fix = |content: &mut Map<String, Value>, responses: bool| {
        if responses
            && !content.contains_key("application/json")
            && let Some(key) = content.keys().find(|k| is_json_media(k)).cloned()
        {
            let media = content.shift_remove(&key).expect("the key exists");
            content.insert("application/json".into(), media);
        }
        for (media, body) in content.iter_mut() {
            let Some(body) = body.as_object_mut() else {
                continue;
            };
            body.remove("encoding");
            if responses && media == "application/json" && !body.contains_key("schema") {
                body.insert("schema".into(), json!({}));
            }
        }
    };
    for_each_content(spec, &mut fix);
}

/// **Rule: one media type per request body, multipart sent as raw bytes.**
///
/// progenitor panics on a request body with several media types and refuses
/// `multipart/form-data` (the whole file, not just the operation). A body keeps one media type,
/// the first of JSON, form-urlencoded, octet-stream, text, multipart. A multipart body becomes
/// `application/octet-stream` bytes: the operation stays callable with a body you encode
/// yourself; the original media type and schema stay in the description.
pub fn one_request_media_type(spec: &mut Value) {
    const PREFERENCE: [&str; 5] = [
        "application/json",
        "application/x-www-form-urlencoded",
        "application/octet-stream",
        "text/plain",
        "multipart/form-data",
    ];
    let mut fix = |content: &mut Map<String, Value>, responses: bool| {
        if responses || content.is_empty() {
            return;
        }
        let chosen = PREFERENCE
            .iter()
            .find_map(|p| {
                content
                    .keys()
                    .find(|k| k.split(';').next().unwrap_or("").trim() == *p)
            })
            .or_else(|| content.keys().next())
            .cloned()
            .expect("content is not empty");
        content.retain(|k, _| *k == chosen);
        let essence = chosen.split(';').next().unwrap_or("").trim().to_string();
        if !PREFERENCE[..4].contains(&essence.as_str()) {
            let original = content.shift_remove(&chosen).unwrap_or_default();
            let described = format!(
                "Raw bytes; the spec declares `{chosen}` with the schema {}",
                original
                    .get("schema")
                    .map(Value::to_string)
                    .unwrap_or_default()
            );
            content.insert(
                "application/octet-stream".into(),
                json!({ "schema": { "type": "string", "format": "binary", "description": described } }),
            );
        }
    };
    for_each_content(spec, &mut fix);
}

/// **Rule: `format` misspellings of `date-time` are `date-time`.**
///
/// `datetime`, `date_time` and `dateTime` (seen in the wild) would leave a timestamp a plain
/// string; spelled right, it is a typed UTC date-time like every other.
pub fn date_time_spelling(spec: &mut Value) {
    for_each_schema(spec, &mut |schema, _| {
        if let Some(Value::String(format)) = schema.get("format")
            && matches!(
                format.as_str(),
                "datetime" | "date_time" | "dateTime" | "DateTime"
            )
        {
            schema.insert("format".into(), json!("date-time"));
        }
    });
}

/// Calls `f(content, is_response)` on the `content` map of every response and request body.
fn for_each_content(spec: &mut Value, f: &mut dyn FnMut(&mut Map<String, Value>, bool)) {
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

/// The union object of `bodies` (see [`one_response_type_per_class`]).
fn union_of_objects(bodies: &[Value], statuses: &[&str]) -> Value {
    let description = format!(
        "Body of statuses {}: the union of their declared shapes.",
        statuses.join(", ")
    );
    if bodies.iter().any(|b| !is_object_schema(b)) {
        return json!({ "description": description });
    }
    let about = format!("the statuses {}", statuses.join(", "));
    merge_objects(bodies, false, &description, &about)
}

/// One object schema with every property of `objects`: a property declared differently by two
/// of them accepts any JSON value. `required` is the union (`require_all`, for `allOf`) or the
/// intersection (for alternatives) of theirs.
fn merge_objects(objects: &[Value], require_all: bool, description: &str, about: &str) -> Value {
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
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
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
fn object_view(schema: &Value, components: &Value, depth: usize) -> Option<Value> {
    if depth > 16 {
        return None;
    }
    let schema = resolve(schema, components);
    if let Some(members) = schema.get("allOf").and_then(Value::as_array) {
        let objects: Option<Vec<Value>> = members
            .iter()
            .map(|m| object_view(m, components, depth + 1))
            .collect();
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
    let components = spec.get("components").cloned().unwrap_or(Value::Null);
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

/// **Rule: string enums are open.**
///
/// A server adds enum values without a new API version; a client with a closed enum then fails
/// the whole response for one new value (a future `status: "pending"` would lose every record
/// of the page). Every `type: string` schema with an `enum` becomes
/// `oneOf: [<Name>Known (the declared values), <Name>Unknown (any string)]`. progenitor makes
/// that an untagged Rust enum `<Name> { Known(<Name>Known), Unknown(String) }`: declared values
/// decode to `Known`, any other string to `Unknown` with its text kept. `<Name>` follows
/// typify's naming (schema name, then each property name, `Item` for array items). `null`
/// values and `nullable` are dropped from the enum: typify would wrap a nullable `oneOf` in a
/// newtype of the same name, and an optional property (`Option<_>` in Rust) takes `null` as
/// `None` anyway. Parameters and request bodies are left closed: what the client sends is
/// checked against what the spec declares.
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
        let mut open = Map::new();
        for key in ["description", "example"] {
            if let Some(value) = schema.get(key) {
                open.insert(key.into(), value.clone());
            }
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
