//! JSON media types and one media type per request body.

use serde_json::{Map, Value, json};

use super::walk::*;

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

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

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
