//! Validation against the spec's schemas, with a real JSON Schema validator.

use serde_json::{Map, Value, json};

use crate::Spec;

/// Every way `instance` breaks `schema` (OpenAPI 3.0, turned into JSON Schema: `nullable`
/// becomes a `null` type; `$ref`s resolve within the spec).
pub fn validate(spec: &Spec, schema: &Value, instance: &Value) -> Vec<String> {
    let mut root = json_schema(schema);
    // A `$ref` may point into the components or (PandaDoc published such) into the paths.
    let parts: &[&str] = if spec.refs_into_paths {
        &["components", "paths"]
    } else {
        &["components"]
    };
    for part in parts {
        if let Some(value) = spec.doc.get(part) {
            root[*part] = json_schema(value);
        }
    }
    match jsonschema::options()
        .should_validate_formats(true)
        .build(&root)
    {
        Err(e) => vec![format!("the spec's schema does not compile: {e}")],
        Ok(validator) => validator
            .iter_errors(instance)
            .map(|e| format!("{}: {e}", e.instance_path()))
            .collect(),
    }
}

fn json_schema(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out: Map<String, Value> = map
                .iter()
                .map(|(k, v)| (k.clone(), json_schema(v)))
                .collect();
            if out.remove("nullable") == Some(Value::Bool(true)) {
                if let Some(Value::String(t)) = out.get("type").cloned() {
                    out.insert("type".into(), json!([t, "null"]));
                }
                // In OpenAPI 3.0, `nullable` admits null even beside an `enum`.
                if let Some(Value::Array(values)) = out.get_mut("enum")
                    && !values.contains(&Value::Null)
                {
                    values.push(Value::Null);
                }
            }
            Value::Object(out)
        }
        Value::Array(items) => Value::Array(items.iter().map(json_schema).collect()),
        other => other.clone(),
    }
}
