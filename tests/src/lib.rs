//! Contract-test support: the vendored spec, read at test time.
//!
//! Nothing here names an operation: operations, parameters, security schemes and documented
//! responses are enumerated from `openapi/*.json`, so a spec bump is covered without edits.

use std::path::{Path, PathBuf};

use serde_json::{Map, Value, json};

// The workspace README's usage snippet is compiled, so that it cannot rot.
#[cfg(all(doctest, feature = "sms-opt-outs"))]
#[doc = include_str!("../../README.md")]
struct WorkspaceReadme;

/// Generated with the client by `cargo xtask generate` (and checked by `--check`): calls its
/// operations by `operationId` with JSON arguments.
#[rustfmt::skip]
#[allow(clippy::all, unused_imports, dead_code, missing_docs)]
pub mod harness;
// Which helpers the generated harness uses depends on the spec (raw bodies, streams).
#[allow(dead_code)]
mod harness_support;
pub mod live;
pub mod schema;
pub mod suite;
pub mod validate;

/// The workspace's `openapi/` directory.
pub fn openapi_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../openapi")
}

/// An OpenAPI document read from disk.
#[derive(Clone, Debug)]
pub struct Spec {
    /// The whole document.
    pub doc: Value,
    /// Whether some `$ref` points into `paths` (a validator then needs them too).
    pub refs_into_paths: bool,
}

/// One operation of the spec.
#[derive(Clone, Debug)]
pub struct Operation {
    /// `operationId`.
    pub id: String,
    /// Lowercase HTTP method.
    pub method: String,
    /// Path template.
    pub path: String,
    /// Parameters (path-level and operation-level, `$ref`s resolved).
    pub parameters: Vec<Value>,
    /// Documented responses, in the spec's order.
    pub responses: Vec<Response>,
    /// Security requirements in force (the operation's, else the document's).
    pub security: Vec<String>,
    /// The request body's first media type object, if any.
    pub request_body: Option<Value>,
    /// That media type (`application/json`, `multipart/form-data`, …).
    pub request_media: Option<String>,
}

/// One documented response.
#[derive(Clone, Debug)]
pub struct Response {
    /// The status key as written (`200`, `4XX`, `default`).
    pub status: String,
    /// The JSON schema of the body, `$ref`s resolved at the top level, if any.
    pub schema: Option<Value>,
    /// The example body (see [`Spec::example_for`]).
    pub example: Option<Value>,
}

impl Response {
    /// A concrete status code to serve for this response (`4XX` → 400, `default` → 500).
    pub fn code(&self) -> u16 {
        match self.status.as_str() {
            "default" => 500,
            s if s.ends_with("XX") => s[..1].parse::<u16>().unwrap_or(5) * 100,
            s => s.parse().expect("a status code"),
        }
    }

    /// Whether the status is a success (2xx).
    pub fn is_success(&self) -> bool {
        (200..300).contains(&self.code())
    }
}

impl Spec {
    /// The vendored spec: the one JSON file in `openapi/`, or the file named by
    /// `PANDADOC_CONTRACT_SPEC` (to run the suite on a client generated from another spec).
    pub fn vendored() -> Self {
        if let Ok(path) = std::env::var("PANDADOC_CONTRACT_SPEC") {
            return Self::load(Path::new(&path));
        }
        let mut files: Vec<PathBuf> = std::fs::read_dir(openapi_dir())
            .expect("openapi/ exists")
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "json"))
            .collect();
        files.sort();
        assert_eq!(files.len(), 1, "openapi/ holds exactly one spec: {files:?}");
        Self::load(&files[0])
    }

    /// Reads a spec file.
    pub fn load(path: &Path) -> Self {
        let text =
            std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Self {
            doc: serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display())),
            refs_into_paths: text.contains("\"#/paths/"),
        }
    }

    /// Follows local `$ref`s until a non-reference value (the workspace's one resolver:
    /// JSON pointers anywhere in the document, bounded, cycles reported).
    pub fn resolve<'a>(&'a self, value: &'a Value) -> &'a Value {
        openapi_model::resolve(&self.doc, value).unwrap_or_else(|e| panic!("{e}"))
    }

    /// Every operation, in document order.
    pub fn operations(&self) -> Vec<Operation> {
        let mut out = Vec::new();
        let default_security = security_names(self.doc.get("security"));
        for (path, item) in self.doc["paths"].as_object().into_iter().flatten() {
            let item = self.resolve(item);
            let shared: Vec<Value> = item
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|p| self.resolve(p).clone())
                .collect();
            for method in [
                "get", "put", "post", "delete", "options", "head", "patch", "trace",
            ] {
                let Some(op) = item.get(method) else { continue };
                let mut parameters = shared.clone();
                for p in op
                    .get("parameters")
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    let p = self.resolve(p).clone();
                    parameters.retain(|q| !(q["name"] == p["name"] && q["in"] == p["in"]));
                    parameters.push(p);
                }
                let responses = op["responses"]
                    .as_object()
                    .into_iter()
                    .flatten()
                    .map(|(status, r)| {
                        let r = self.resolve(r);
                        let media = r.get("content").and_then(Value::as_object).and_then(|c| {
                            c.iter().find(|(m, _)| m.contains("json")).map(|(_, v)| v)
                        });
                        let schema = media
                            .and_then(|m| m.get("schema"))
                            .map(|s| self.resolve(s).clone());
                        let example = media.and_then(|m| self.example_for(m));
                        Response {
                            status: status.clone(),
                            schema,
                            example,
                        }
                    })
                    .collect();
                let security = match op.get("security") {
                    Some(s) => security_names(Some(s)),
                    None => default_security.clone(),
                };
                let (request_media, request_body) = op
                    .get("requestBody")
                    .map(|b| self.resolve(b))
                    .and_then(|b| b.get("content").and_then(Value::as_object))
                    .and_then(|c| c.iter().next())
                    .map(|(m, b)| (Some(m.clone()), Some(b.clone())))
                    .unwrap_or_default();
                out.push(Operation {
                    id: op["operationId"]
                        .as_str()
                        .expect("every operation has an operationId")
                        .to_string(),
                    method: method.to_string(),
                    path: path.clone(),
                    parameters,
                    responses,
                    security,
                    request_body,
                    request_media,
                });
            }
        }
        out
    }

    /// The example body of a media type object: its media-level `examples` (the first) or
    /// `example`; else one assembled from the schema's property-level `example` values; else one
    /// synthesized from the schema.
    pub fn example_for(&self, media: &Value) -> Option<Value> {
        if let Some(first) = media
            .get("examples")
            .and_then(Value::as_object)
            .and_then(|e| e.values().next())
        {
            return self.resolve(first).get("value").cloned();
        }
        if let Some(example) = media.get("example") {
            return Some(example.clone());
        }
        media.get("schema").map(|s| self.instance_of(s, 0))
    }

    /// A value valid against `schema`: each property's `example` where given, else a value of
    /// its type (the first enum value, a fixed date-time, one item per array).
    pub fn instance_of(&self, schema: &Value, depth: usize) -> Value {
        self.instance(schema, depth, true)
    }

    /// [`Spec::instance_of`] without the spec's examples: for where an example disagrees with
    /// its own schema (PandaDoc's have: an integer `entity_id` in a string property).
    pub fn instance_without_examples(&self, schema: &Value) -> Value {
        self.instance(schema, 0, false)
    }

    fn instance(&self, schema: &Value, depth: usize, examples: bool) -> Value {
        let schema = self.resolve(schema);
        if examples && let Some(example) = schema.get("example") {
            return example.clone();
        }
        if let Some(first) = schema
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|e| e.first())
        {
            return first.clone();
        }
        for key in ["oneOf", "anyOf"] {
            if let Some(first) = schema
                .get(key)
                .and_then(Value::as_array)
                .and_then(|v| v.first())
            {
                let mut value = self.instance(first, depth + 1, examples);
                if let (Some((tag, name)), Some(fields)) =
                    (discriminator_value(schema, first), value.as_object_mut())
                {
                    fields.insert(tag, json!(name));
                }
                return value;
            }
        }
        if let Some(all) = schema.get("allOf").and_then(Value::as_array) {
            let mut merged = Map::new();
            for part in all {
                if let Value::Object(m) = self.instance(part, depth + 1, examples) {
                    merged.extend(m);
                }
            }
            return Value::Object(merged);
        }
        match schema_type(schema) {
            "object" => {
                let required = schema.get("required").and_then(Value::as_array);
                let mut out = Map::new();
                // Deep down only the required properties, so that the value stays valid.
                if depth < MAX_DEPTH {
                    for (name, prop) in schema
                        .get("properties")
                        .and_then(Value::as_object)
                        .into_iter()
                        .flatten()
                    {
                        if depth < 8 || required.is_some_and(|r| r.iter().any(|n| n == name)) {
                            out.insert(name.clone(), self.instance(prop, depth + 1, examples));
                        }
                    }
                }
                Value::Object(out)
            }
            "array" if depth < 8 => json!([self.instance(&schema["items"], depth + 1, examples)]),
            "array" => json!([]),
            "string" => match schema.get("format").and_then(Value::as_str) {
                Some("date-time") => json!("2025-01-28T12:00:00Z"),
                Some("date") => json!("2025-01-28"),
                Some("uuid") => json!("00000000-0000-4000-8000-000000000000"),
                _ => json!("text"),
            },
            "integer" => json!(1),
            "number" => json!(1.5),
            "boolean" => json!(true),
            _ => json!("any"),
        }
    }

    /// The properties `schema` declares, its own and those of its `allOf`, `oneOf` and `anyOf`
    /// members (`$ref`s followed), in order.
    pub fn properties<'a>(&'a self, schema: &'a Value) -> Vec<(&'a String, &'a Value)> {
        fn collect<'a>(
            spec: &'a Spec,
            schema: &'a Value,
            out: &mut Vec<(&'a String, &'a Value)>,
            depth: usize,
        ) {
            let schema = spec.resolve(schema);
            out.extend(
                schema
                    .get("properties")
                    .and_then(Value::as_object)
                    .into_iter()
                    .flatten(),
            );
            for key in ["allOf", "oneOf", "anyOf"] {
                for branch in schema
                    .get(key)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                {
                    if depth < 8 {
                        collect(spec, branch, out, depth + 1);
                    }
                }
            }
        }
        let mut out = Vec::new();
        collect(self, schema, &mut out, 0);
        out
    }

    /// The security schemes of the document: `(name, scheme)`.
    pub fn security_schemes(&self) -> Vec<(String, Value)> {
        self.doc
            .pointer("/components/securitySchemes")
            .and_then(Value::as_object)
            .into_iter()
            .flatten()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }
}

/// How deep the instance generators go at most: past their usual depth they add only required
/// properties, and here they stop (recursive schemas).
pub const MAX_DEPTH: usize = 24;

/// The discriminator of a union `schema` and the value it takes for `branch` (a `$ref`): the
/// `mapping` key that names it, else the component's name.
pub fn discriminator_value(schema: &Value, branch: &Value) -> Option<(String, String)> {
    let discriminator = schema.get("discriminator")?;
    let tag = discriminator.get("propertyName")?.as_str()?;
    let target = branch.get("$ref")?.as_str()?;
    let value = discriminator
        .get("mapping")
        .and_then(Value::as_object)
        .and_then(|m| m.iter().find(|(_, r)| r.as_str() == Some(target)))
        .map_or_else(
            || target.rsplit('/').next().unwrap_or(target).to_string(),
            |(k, _)| k.clone(),
        );
    Some((tag.to_string(), value))
}

/// A schema's `type`: as declared, `object` for one with `properties`, else `any`.
pub fn schema_type(schema: &Value) -> &str {
    match schema.get("type").and_then(Value::as_str) {
        Some(ty) => ty,
        None if schema.get("properties").is_some() => "object",
        None => "any",
    }
}

fn security_names(requirements: Option<&Value>) -> Vec<String> {
    requirements
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_object)
        .flat_map(|r| r.keys().cloned())
        .collect()
}
