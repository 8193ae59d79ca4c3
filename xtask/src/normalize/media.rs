//! JSON media types and one media type per request body.

use std::collections::BTreeSet;

use serde_json::{Map, Value, json};

use super::objects::object_view;
use super::walk::*;

/// Request media types in the order one is kept ([`one_request_media_type`]); all but the last
/// are sent as progenitor declares them.
const PREFERENCE: [&str; 5] = [
    "application/json",
    "application/x-www-form-urlencoded",
    "application/octet-stream",
    "text/plain",
    "multipart/form-data",
];

/// The media type kept of a request body's `content`.
fn chosen_media(content: &Map<String, Value>) -> Option<String> {
    PREFERENCE
        .iter()
        .find_map(|p| content.keys().find(|k| essence(k) == *p))
        .or_else(|| content.keys().next())
        .cloned()
}

fn essence(media: &str) -> &str {
    media.split(';').next().unwrap_or("").trim()
}

/// The extension naming an operation's form component (read by the generator).
pub const FORM_EXTENSION: &str = "x-multipart-form";

/// **Rule: a multipart body gets a typed form.**
///
/// progenitor cannot send `multipart/form-data`. For each operation whose kept request media
/// type is multipart with an object schema (through `$ref` and `allOf`), this adds a component
/// schema `<OperationId>Form` with the body's properties and `required` list, and names it in
/// the operation's `x-multipart-form`. A `format: binary` string property (or array of them)
/// becomes `pandadoc_api::FilePart` (typify's `x-rust-type`); the other properties keep their
/// schemas, so typify types them as it types JSON. (A multipart body that is no object gets
/// `x-multipart-form: null`: no form, but still labelled multipart when sent.) The generator then makes the form convertible
/// to the request body ([`crate::codegen::forms`]); [`one_request_media_type`] still turns the media
/// type into raw bytes, for which the client's `pre` hook restores the multipart label.
pub fn multipart_forms(spec: &mut Value) {
    let components = components_of(spec);
    let mut taken: BTreeSet<String> = components
        .pointer("/components/schemas")
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default();
    let mut added = Vec::new();
    for (path, method, op) in operations_mut(spec) {
        let Some(body) = op.get("requestBody").map(|b| resolve(b, &components)) else {
            continue;
        };
        let Some(content) = body.get("content").and_then(Value::as_object) else {
            continue;
        };
        let Some(media) = chosen_media(content).filter(|m| essence(m) == "multipart/form-data")
        else {
            continue;
        };
        // A multipart operation without a form is still labelled multipart when sent.
        op[FORM_EXTENSION] = Value::Null;
        let Some(view) = content[&media]
            .get("schema")
            .and_then(|s| object_view(s, &components, 0))
        else {
            continue;
        };
        let Some(properties) = view
            .get("properties")
            .and_then(Value::as_object)
            .filter(|p| !p.is_empty())
        else {
            continue;
        };
        let file = |schema: &Value| {
            let schema = resolve(schema, &components);
            (schema["type"] == "string" && schema["format"] == "binary").then(|| {
                let mut part = json!({ "x-rust-type": {
                    "crate": "pandadoc-api", "version": "*", "path": "pandadoc_api::FilePart"
                }});
                if let Some(d) = schema.get("description") {
                    part["description"] = d.clone();
                }
                part
            })
        };
        let properties: Map<String, Value> = properties
            .iter()
            .map(|(name, prop)| {
                let resolved = resolve(prop, &components);
                let typed = file(prop).or_else(|| {
                    (resolved["type"] == "array")
                        .then(|| file(&resolved["items"]))
                        .flatten()
                        .map(|item| {
                            let mut array = resolved.clone();
                            array["items"] = item;
                            array
                        })
                });
                (name.clone(), typed.unwrap_or_else(|| prop.clone()))
            })
            .collect();
        let base = type_base(&path, method, op);
        let name = unique_name(&format!("{base}Form"), &mut taken);
        let mut form = json!({
            "type": "object",
            "description": format!("The `multipart/form-data` body of `{}`: pass it to the builder's `body`.", op["operationId"].as_str().unwrap_or(&base)),
            "properties": properties,
        });
        if let Some(required) = view.get("required") {
            form["required"] = required.clone();
        }
        op[FORM_EXTENSION] = Value::String(name.clone());
        added.push((name, form));
    }
    add_component_schemas(spec, added);
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
/// `application/octet-stream` bytes, which its typed form ([`multipart_forms`]) or a body you
/// encode yourself fill; the original media type and schema stay in the description.
pub fn one_request_media_type(spec: &mut Value) {
    let mut fix = |content: &mut Map<String, Value>, responses: bool| {
        if responses {
            return;
        }
        let Some(chosen) = chosen_media(content) else {
            return;
        };
        content.retain(|k, _| *k == chosen);
        if !PREFERENCE[..4].contains(&essence(&chosen)) {
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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn a_multipart_body_gets_a_form_with_file_parts_in_the_spec_order() {
        let spec = json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "paths": { "/up": { "post": {
                "operationId": "upload",
                "requestBody": { "content": { "multipart/form-data": { "schema": { "allOf": [
                    { "type": "object", "properties": {
                        "file": { "type": "string", "format": "binary" },
                        "pages": { "type": "array", "items": { "type": "string", "format": "binary" } }
                    }, "required": ["file"] },
                    { "$ref": "#/components/schemas/Meta" }
                ]}}}},
                "responses": { "204": { "description": "done" } }
            }}},
            "components": { "schemas": {
                "Meta": { "type": "object", "properties": { "name": { "type": "string" }, "tags": { "type": "object" } } },
                "UploadForm": { "type": "string" }
            }}
        });
        let mut normalized = spec.clone();
        crate::normalize::normalize(&mut normalized).unwrap();
        let op = &normalized["paths"]["/up"]["post"];
        assert_eq!(op[FORM_EXTENSION], "UploadForm2", "a free name");
        let form = &normalized["components"]["schemas"]["UploadForm2"];
        assert_eq!(form["required"], json!(["file"]));
        assert_eq!(
            form["properties"]["pages"]["items"]["x-rust-type"]["path"],
            "pandadoc_api::FilePart"
        );
        let code = crate::normalize::render_fixture(&spec);
        let compact: String = code.split_whitespace().collect();
        assert!(
            compact.contains("pubfile:::pandadoc_api::FilePart,"),
            "{code}"
        );
        assert!(compact.contains("pubpages:::std::vec::Vec<::pandadoc_api::FilePart>"));
        assert!(compact.contains(
            "form.file(\"file\",value.file);form.files(\"pages\",value.pages);form.value(\"name\",&value.name)?;form.value(\"tags\",&value.tags)?;"
        ), "parts in the spec's order: {code}");
        assert!(compact.contains("pub(crate)constMULTIPART_OPERATIONS:&[&str]=&[\"upload\"];"));
    }

    #[test]
    fn request_bodies_keep_one_media_type_and_multipart_becomes_bytes() {
        let mut spec = json!({ "paths": { "/up": { "post": {
            "operationId": "up",
            "requestBody": { "content": {
                "multipart/form-data": { "schema": { "type": "object" }, "encoding": { "file": { "contentType": "application/pdf" } } }
            }},
            "responses": {}
        }, "put": {
            "operationId": "put",
            "requestBody": { "content": {
                "multipart/form-data": { "schema": { "type": "object" } },
                "application/json": { "schema": { "type": "object" } }
            }},
            "responses": { "200": { "description": "ok", "content": { "application/problem+json": {} } } }
        }}}});
        json_media_types(&mut spec);
        one_request_media_type(&mut spec);
        let up = &spec["paths"]["/up"]["post"]["requestBody"]["content"];
        assert_eq!(
            up.as_object().unwrap().keys().collect::<Vec<_>>(),
            ["application/octet-stream"]
        );
        assert_eq!(up["application/octet-stream"]["schema"]["format"], "binary");
        let put = &spec["paths"]["/up"]["put"];
        assert_eq!(
            put["requestBody"]["content"]
                .as_object()
                .unwrap()
                .keys()
                .collect::<Vec<_>>(),
            ["application/json"]
        );
        assert_eq!(
            put["responses"]["200"]["content"]["application/json"]["schema"],
            json!({}),
            "+json renamed, any JSON"
        );
    }
}
