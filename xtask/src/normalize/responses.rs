//! One response type per class of statuses.

use std::collections::BTreeSet;

use serde_json::{Value, json};

use super::objects::{merge_objects, object_view};
use super::walk::*;

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
    let components = components_of(spec);
    let mut added: Vec<(String, Value)> = Vec::new();
    let mut taken: BTreeSet<String> = components
        .pointer("/components/schemas")
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
                // Each body as the one object it stands for (`allOf`s merged), so that the
                // union keeps the fields of every member.
                let objects: Vec<Value> = json
                    .iter()
                    .zip(&bodies)
                    .map(|((_, _, s), body)| {
                        object_view(s, &components, 0).unwrap_or_else(|| body.clone())
                    })
                    .collect();
                union_of_objects(&objects, &statuses)
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

    add_component_schemas(spec, added);
}

/// `json`, `none` or the raw media types of a response, as progenitor sorts them.
pub(super) fn response_kind(response: &Value) -> String {
    match response.get("content").and_then(Value::as_object) {
        _ if json_schema_of(response).is_some() => "json".into(),
        Some(content) if !content.is_empty() => "raw".into(),
        _ => "none".into(),
    }
}

/// The response `status` of `members`, its body read as raw bytes.
pub(super) fn raw_bytes_response(members: &[(String, Value)], status: &str) -> Value {
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

/// The union object of `bodies` (see [`one_response_type_per_class`]).
pub(super) fn union_of_objects(bodies: &[Value], statuses: &[&str]) -> Value {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn op_with_errors(errors: Value) -> Value {
        json!({
            "openapi": "3.0.3",
            "info": { "title": "t", "version": "1" },
            "paths": { "/things": { "get": {
                "operationId": "listThings",
                "responses": errors,
            }}},
            "components": { "responses": {
                "401": { "description": "auth", "content": { "application/json": { "schema": {
                    "properties": { "type": { "type": "string", "example": "authentication_error" },
                                    "detail": { "type": "string" } },
                    "required": ["type", "detail"]
                }}}}
            }}
        })
    }

    #[test]
    fn error_bodies_of_different_shapes_become_one_union() {
        let mut spec = op_with_errors(json!({
            "200": { "description": "ok" },
            "400": { "description": "bad", "content": { "application/json": { "schema": {
                "properties": { "type": { "type": "string", "example": "request_error" },
                                "detail": { "type": "object" } },
                "required": ["type"]
            }}}},
            "401": { "$ref": "#/components/responses/401" },
            "5XX": { "description": "server", "content": { "application/problem+json": { "schema": {
                "type": "object", "properties": { "trace_id": { "type": "string" } }
            }}}}
        }));
        one_response_type_per_class(&mut spec);
        let union = &spec["components"]["schemas"]["ListThingsError"];
        let props = union["properties"].as_object().unwrap();
        assert_eq!(
            props.keys().collect::<Vec<_>>(),
            ["type", "detail", "trace_id"]
        );
        assert_eq!(
            props["type"]["type"], "string",
            "alike but for examples: kept"
        );
        assert!(
            props["detail"].get("type").is_none(),
            "string vs object: any JSON"
        );
        assert!(
            union.get("required").is_none(),
            "required only where every shape requires it"
        );
        let responses = &spec["paths"]["/things"]["get"]["responses"];
        for (status, media) in [
            ("400", "application/json"),
            ("401", "application/json"),
            ("5XX", "application/problem+json"),
        ] {
            assert_eq!(
                responses[status]["content"][media]["schema"]["$ref"],
                "#/components/schemas/ListThingsError"
            );
        }
        assert_eq!(
            responses["401"]["description"], "auth",
            "a $ref response is resolved, keeping its description"
        );
        assert!(
            responses["200"].get("content").is_none(),
            "success responses are untouched"
        );
    }

    #[test]
    fn one_inline_error_shape_is_named_and_a_shared_component_left_alone() {
        // One inline shape: named `<Op>Error`, so progenitor's `<Op>Response` never collides.
        let mut spec = op_with_errors(json!({
            "401": { "$ref": "#/components/responses/401" },
            "403": { "$ref": "#/components/responses/401" }
        }));
        spec["components"]["schemas"] = json!({ "ListThingsResponse": { "type": "object" } });
        one_response_type_per_class(&mut spec);
        let named = &spec["components"]["schemas"]["ListThingsError"];
        assert_eq!(
            named["required"],
            json!(["type", "detail"]),
            "the shape itself, not a union"
        );
        let responses = &spec["paths"]["/things"]["get"]["responses"];
        assert_eq!(
            responses["403"]["content"]["application/json"]["schema"]["$ref"],
            "#/components/schemas/ListThingsError"
        );

        // One inline success shape whose `<Op>Response` a component already has: `<Op>Success`.
        let mut spec = op_with_errors(json!({
            "200": { "description": "ok", "content": { "application/json": { "schema": {
                "properties": { "n": { "type": "integer" } } } } } }
        }));
        spec["components"]["schemas"] = json!({ "ListThingsResponse": { "type": "string" } });
        one_response_type_per_class(&mut spec);
        let schemas = &spec["components"]["schemas"];
        assert_eq!(
            schemas["ListThingsResponse"]["type"], "string",
            "left alone"
        );
        assert!(schemas["ListThingsSuccess"]["properties"]["n"].is_object());

        // Every status pointing at one component schema: nothing to do.
        let mut spec = op_with_errors(json!({
            "401": { "description": "a", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/E" } } } },
            "403": { "description": "b", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/E" } } } }
        }));
        spec["components"]["schemas"] = json!({ "E": { "type": "object" } });
        let before = spec.clone();
        one_response_type_per_class(&mut spec);
        assert_eq!(spec, before);
    }

    #[test]
    fn successes_of_several_shapes_unite_and_mixed_kinds_become_bytes() {
        let mut spec = op_with_errors(json!({
            "200": { "description": "a", "content": { "application/json": { "schema": { "type": "object", "properties": { "a": { "type": "string" } } } } } },
            "201": { "description": "b", "content": { "application/json": { "schema": { "type": "object", "properties": { "b": { "type": "integer" } } } } } }
        }));
        one_response_type_per_class(&mut spec);
        let union = &spec["components"]["schemas"]["ListThingsSuccess"];
        assert_eq!(
            union["properties"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["a", "b"]
        );

        let mut spec = op_with_errors(json!({
            "200": { "description": "a", "content": { "application/json": { "schema": { "type": "object" } } } },
            "204": { "description": "none" },
            "404": { "description": "gone" },
            "400": { "description": "bad", "content": { "application/json": { "schema": { "type": "object" } } } },
            "default": { "description": "other", "content": { "application/json": { "schema": { "type": "object" } } } }
        }));
        one_response_type_per_class(&mut spec);
        let r = &spec["paths"]["/things"]["get"]["responses"];
        for status in ["200", "204"] {
            assert_eq!(
                r[status]["content"]["application/octet-stream"]["schema"]["format"], "binary",
                "{status}"
            );
        }
        assert!(
            r.get("404").is_none(),
            "a bodiless error beside JSON errors arrives as UnexpectedResponse"
        );
        assert!(
            r.get("default").is_none() && r.get("4XX").is_some() && r.get("5XX").is_some(),
            "default beside 2xx is 4XX and 5XX"
        );
    }

    #[test]
    fn an_all_of_error_body_brings_every_member_into_the_union() {
        let mut spec = op_with_errors(json!({
            "401": { "$ref": "#/components/responses/401" },
            "423": { "description": "locked", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Locked" } } } }
        }));
        spec["components"]["schemas"] = json!({
            "LockInfo": { "type": "object", "properties": { "locked_by": { "type": "string" } } },
            "Locked": { "type": "object", "allOf": [
                { "$ref": "#/components/schemas/LockInfo" },
                { "type": "object", "properties": { "type": { "type": "string" } } }
            ]}
        });
        one_response_type_per_class(&mut spec);
        let union = &spec["components"]["schemas"]["ListThingsError"]["properties"];
        for field in ["type", "detail", "locked_by"] {
            assert!(union.get(field).is_some(), "{field} in {union}");
        }
    }

    #[test]
    fn a_non_object_error_body_makes_the_union_any_json() {
        let mut spec = op_with_errors(json!({
            "401": { "$ref": "#/components/responses/401" },
            "409": { "description": "text", "content": { "application/json": { "schema": { "type": "string" } } } }
        }));
        one_response_type_per_class(&mut spec);
        let union = &spec["components"]["schemas"]["ListThingsError"];
        assert!(
            union.get("type").is_none() && union.get("properties").is_none(),
            "{union}"
        );
    }
}
