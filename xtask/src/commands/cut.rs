//! Cutting operations out of a whole spec: `cargo xtask cut FULL.json OPERATION_ID... > out.json`
//! writes a spec of just those operations and every component they reach (as the vendored spec
//! was cut from PandaDoc's full one). The spec-bump tests use it on published releases.

use std::collections::BTreeSet;

use anyhow::{Result, bail};
use openapi_model::METHODS;
use serde_json::{Map, Value};

/// The `operationId`s of `spec`, in document order.
pub fn operation_ids(spec: &Value) -> Vec<String> {
    let mut ids = Vec::new();
    for item in spec["paths"]
        .as_object()
        .into_iter()
        .flat_map(|p| p.values())
    {
        for method in METHODS {
            if let Some(id) = item.get(method).and_then(|op| op["operationId"].as_str()) {
                ids.push(id.to_string());
            }
        }
    }
    ids
}

/// `spec` with only the operations named in `ids` and the components they reach (through
/// `$ref`s, transitively, and the security schemes). Fails if an id is not in `spec`.
pub fn cut(spec: &Value, ids: &[String]) -> Result<Value> {
    let mut paths = Map::new();
    let mut found = BTreeSet::new();
    for (path, item) in spec["paths"].as_object().into_iter().flatten() {
        let Some(item) = item.as_object() else {
            continue;
        };
        let mut kept = Map::new();
        for (key, value) in item {
            let id = value.get("operationId").and_then(Value::as_str);
            if METHODS.contains(&key.as_str()) {
                if let Some(id) = id.filter(|id| ids.iter().any(|i| i == id)) {
                    found.insert(id.to_string());
                    kept.insert(key.clone(), value.clone());
                }
            } else {
                kept.insert(key.clone(), value.clone()); // path-level parameters, summary
            }
        }
        if kept.keys().any(|k| METHODS.contains(&k.as_str())) {
            paths.insert(path.clone(), Value::Object(kept));
        }
    }
    let missing: Vec<&String> = ids.iter().filter(|i| !found.contains(*i)).collect();
    if !missing.is_empty() {
        bail!(
            "no operation {missing:?} in the spec (it has {} operations)",
            operation_ids(spec).len()
        );
    }
    let mut out = Map::new();
    for (key, value) in spec.as_object().into_iter().flatten() {
        match key.as_str() {
            "paths" => {
                out.insert(key.clone(), Value::Object(paths.clone()));
            }
            "components" | "x-tagGroups" => {}
            "tags" => {
                // Only the tags the kept operations use.
                let used: BTreeSet<&str> = paths
                    .values()
                    .flat_map(|item| item.as_object().into_iter().flat_map(|i| i.values()))
                    .flat_map(|op| {
                        op.get("tags")
                            .and_then(Value::as_array)
                            .into_iter()
                            .flatten()
                    })
                    .filter_map(Value::as_str)
                    .collect();
                let tags: Vec<Value> = value
                    .as_array()
                    .into_iter()
                    .flatten()
                    .filter(|t| t["name"].as_str().is_some_and(|n| used.contains(n)))
                    .cloned()
                    .collect();
                if !tags.is_empty() {
                    out.insert(key.clone(), Value::Array(tags));
                }
            }
            _ => {
                out.insert(key.clone(), value.clone());
            }
        }
    }
    // Follow `$ref`s from the kept paths until nothing new is reached.
    let mut reached: BTreeSet<String> = BTreeSet::new();
    let mut pending = vec![Value::Object(paths)];
    while let Some(value) = pending.pop() {
        let mut refs = Vec::new();
        collect_refs(&value, &mut refs);
        for r in refs {
            if reached.insert(r.clone())
                && let Some(target) = spec.pointer(r.trim_start_matches('#'))
            {
                pending.push(target.clone());
            }
        }
    }
    let mut components = Map::new();
    for (group, members) in spec["components"].as_object().into_iter().flatten() {
        let Some(members) = members.as_object() else {
            continue;
        };
        let kept: Map<String, Value> = members
            .iter()
            .filter(|(name, _)| {
                group == "securitySchemes"
                    || reached.contains(&format!("#/components/{group}/{name}"))
            })
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if !kept.is_empty() {
            components.insert(group.clone(), Value::Object(kept));
        }
    }
    if !components.is_empty() {
        out.insert("components".into(), Value::Object(components));
    }
    Ok(Value::Object(out))
}

fn collect_refs(value: &Value, out: &mut Vec<String>) {
    match value {
        Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("$ref", Value::String(r)) if r.starts_with("#/") => out.push(r.clone()),
                    _ => collect_refs(v, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|v| collect_refs(v, out)),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_cut_keeps_the_operation_and_what_it_reaches() {
        let spec = json!({
            "openapi": "3.0.3", "info": { "title": "t", "version": "1" },
            "tags": [{ "name": "x" }],
            "paths": {
                "/a": { "parameters": [{ "$ref": "#/components/parameters/P" }],
                        "get": { "operationId": "getA", "responses": { "200": { "$ref": "#/components/responses/R" } } },
                        "post": { "operationId": "postA", "responses": {} } },
                "/b": { "get": { "operationId": "getB", "responses": {} } }
            },
            "components": {
                "parameters": { "P": { "name": "p", "in": "query", "schema": { "type": "string" } } },
                "responses": { "R": { "description": "r", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/A" } } } } },
                "schemas": {
                    "A": { "type": "object", "properties": { "b": { "$ref": "#/components/schemas/B" } } },
                    "B": { "type": "string" },
                    "Unused": { "type": "integer" }
                },
                "securitySchemes": { "k": { "type": "apiKey", "in": "header", "name": "Authorization" } }
            }
        });
        let cut = cut(&spec, &["getA".to_string()]).unwrap();
        assert_eq!(operation_ids(&cut), ["getA"]);
        assert!(
            cut["paths"]["/a"]["parameters"].is_array(),
            "path-level parameters stay"
        );
        let schemas = cut["components"]["schemas"].as_object().unwrap();
        assert_eq!(schemas.keys().collect::<Vec<_>>(), ["A", "B"]);
        assert!(cut["components"]["securitySchemes"]["k"].is_object());
        assert!(cut.get("tags").is_none(), "no kept operation uses tag x");
        assert!(super::cut(&spec, &["nope".to_string()]).is_err());
    }
}
