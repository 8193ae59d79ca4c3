//! The contract suite: every operation, response, parameter and security scheme of a spec,
//! exercised through the raw client and the ext client against httpmock.
//!
//! It collects every deviation instead of stopping at the first, so one run lists them all.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use crate::harness::{self, Erased};
use httpmock::prelude::*;
use pandadoc_api::{Operation as HarnessOp, operations};
use pandadoc_api_ext::{Detail, ErrorKind, RetryPolicy};
use serde_json::{Map, Value, json};

use crate::schema::{compare_schemas, instances};
use crate::{Operation, Response, Spec};

mod bodies;
mod requests;
mod responses;
mod schemas;

use requests::*;
use responses::*;
use schemas::*;

/// Counts and deviations of one run.
#[derive(Debug, Default)]
pub struct Report {
    /// Operations exercised.
    pub operations: usize,
    /// Documented responses exercised (each through both clients).
    pub responses: usize,
    /// Request properties checked.
    pub request_checks: usize,
    /// Schema cases: random instances decoded, schema comparisons.
    pub schema_cases: usize,
    /// Undocumented or malformed answers classified.
    pub bad_responses: usize,
    /// What did not hold, one line each.
    pub failures: Vec<String>,
    /// Differences between spec and generated schemas that widen (accepted), for information.
    pub notes: Vec<String>,
}

impl Report {
    /// The one-line summary.
    pub fn line(&self) -> String {
        format!(
            "contract: {} operations, {} responses, {} request checks, {} schema cases",
            self.operations, self.responses, self.request_checks, self.schema_cases
        )
    }

    /// The checks passed: every response through both clients, every request check, schema
    /// case and bad response, less the failures.
    pub fn passed(&self) -> usize {
        let checks =
            self.responses * 2 + self.request_checks + self.schema_cases + self.bad_responses;
        checks.saturating_sub(self.failures.len())
    }

    /// Adds `other`'s counts and lines to this report.
    pub fn merge(&mut self, other: Report) {
        self.operations += other.operations;
        self.responses += other.responses;
        self.request_checks += other.request_checks;
        self.schema_cases += other.schema_cases;
        self.bad_responses += other.bad_responses;
        self.failures.extend(other.failures);
        self.notes.extend(other.notes);
    }

    pub(crate) fn check(&mut self, ok: bool, what: impl FnOnce() -> String) -> bool {
        if !ok {
            self.failures.push(what());
        }
        ok
    }
}

const KEY: &str = "contract-test-key";
const TOKEN: &str = "contract-test-token";

/// Runs every section on `spec` against the compiled client.
pub async fn run(spec: &Spec) -> Report {
    let mut report = coverage(spec);
    for op in spec.operations() {
        report.merge(run_operation(spec, &op).await);
    }
    report
}

/// What the sections of the suite work on: one operation of the spec, its harness entry, the
/// arguments it is called with, and the loopback server of its run.
#[derive(Clone, Copy)]
struct Case<'a> {
    spec: &'a Spec,
    server: &'a MockServer,
    op: &'a Operation,
    hop: &'a HarnessOp,
    args: &'a Map<String, Value>,
}

/// Runs every section for one operation of `spec`, against a loopback server of its own. An
/// operation the client does not have counts nothing (see [`coverage`]).
pub async fn run_operation(spec: &Spec, op: &Operation) -> Report {
    let mut report = Report::default();
    let Some(hop) = operations::all().iter().find(|h| h.id == op.id) else {
        return report;
    };
    let server = MockServer::start_async().await;
    report.operations += 1;
    let args = arguments(spec, op);
    let case = Case {
        spec,
        server: &server,
        op,
        hop,
        args: &args,
    };
    for response in &op.responses {
        documented_response(&case, response, &mut report).await;
    }
    requests(&case, &mut report).await;
    bad_responses(&case, &mut report).await;
    schemas(spec, op, &mut report);
    report
}

/// Every operation of the spec is in the client and the other way round.
pub fn coverage(spec: &Spec) -> Report {
    let mut report = Report::default();
    let ops = spec.operations();
    coverage_of(&ops, &mut report);
    report
}

fn coverage_of(ops: &[Operation], report: &mut Report) {
    for op in ops {
        report.check(operations::all().iter().any(|h| h.id == op.id), || {
            format!(
                "uncovered operation {} ({} {}): the client has no such operation; run `cargo xtask generate`",
                op.id,
                op.method.to_uppercase(),
                op.path
            )
        });
    }
    for h in operations::all() {
        report.check(ops.iter().any(|op| op.id == h.id), || {
            format!(
                "stale operation {}: in the client but not in the spec; run `cargo xtask generate`",
                h.id
            )
        });
    }
}

/// Example arguments for every parameter and the body: the spec's `example` (the parameter's,
/// its schema's, the media type's) where it is valid against its own schema, else a value
/// synthesized from the schema (with the properties' examples, then without them). PandaDoc's
/// examples do not always fit their schemas (an integer for a string, a multipart part's JSON
/// object given as text); the contract is the schema.
pub fn arguments(spec: &Spec, op: &Operation) -> Map<String, Value> {
    let fitting = |schema: &Value, example: Option<Value>| -> Value {
        if !schema.is_object() {
            return example.unwrap_or_else(|| spec.instance_of(schema, 0));
        }
        let valid = |v: &Value| crate::validate::validate(spec, schema, v).is_empty();
        example
            .filter(valid)
            .or_else(|| Some(spec.instance_of(schema, 0)).filter(valid))
            .unwrap_or_else(|| spec.instance_without_examples(schema))
    };
    let mut args = Map::new();
    for p in &op.parameters {
        let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str()) else {
            continue;
        };
        if location == "cookie" {
            continue;
        }
        args.insert(
            name.to_string(),
            fitting(&p["schema"], p.get("example").cloned()),
        );
    }
    if let Some(media) = &op.request_body {
        let example = spec.example_for(media);
        let body = match media.get("schema") {
            Some(schema) => Some(fitting(schema, example)),
            None => example,
        };
        if let Some(body) = body {
            args.insert("body".into(), bodies::body_argument(spec, op, body));
        }
    }
    args
}

/// The concrete path for `args`, as it goes on the wire: characters a URL path cannot hold
/// (a `"` in a path PandaDoc published, say) percent-encoded, as every client sends them.
fn concrete_path(op: &Operation, args: &Map<String, Value>) -> String {
    let mut path = op.path.split('?').next().unwrap_or_default().to_string();
    for p in &op.parameters {
        if p["in"] == "path" {
            let name = p["name"].as_str().unwrap_or_default();
            let value = match &args[name] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            path = path.replace(&format!("{{{name}}}"), &value);
        }
    }
    reqwest::Url::parse("http://localhost")
        .and_then(|base| base.join(&path))
        .map_or(path, |url| url.path().to_string())
}

fn ext_client(server: &MockServer) -> pandadoc_api_ext::Client {
    pandadoc_api_ext::Client::builder()
        .api_key(KEY)
        .base_url(server.base_url())
        .retry(RetryPolicy::disabled())
        .build()
        .expect("a valid client")
}

fn raw_client(server: &MockServer) -> pandadoc_api::Client {
    pandadoc_api::Client::new(&server.base_url(), pandadoc_api::Hooks::default())
}

async fn send_raw(
    client: &pandadoc_api::Client,
    hop: &HarnessOp,
    args: &Map<String, Value>,
) -> Result<Erased, String> {
    harness::send(client, hop.id, args)
        .await
        .ok_or("no harness entry")?
}

async fn send_ext(
    client: &pandadoc_api_ext::Client,
    hop: &HarnessOp,
    args: &Map<String, Value>,
) -> Result<pandadoc_api_ext::ResponseValue<Value>, pandadoc_api_ext::Error> {
    let raw = client.raw();
    client
        .call(hop, || async move {
            harness::send(raw, hop.id, args)
                .await
                .expect("a harness entry")
                .expect("arguments convert")
        })
        .await
}

/// Is every value of `expected` in `actual`? Empty arrays and nulls may be left out; date-times
/// compare as instants. `Err` names the first JSON path that differs.
pub fn includes(actual: &Value, expected: &Value) -> Result<(), String> {
    includes_declared(None, None, actual, expected, &mut Vec::new())
}

/// [`includes`], where `schema` (of `spec`) says which fields are declared: a field missing from
/// `actual` that the schema does not declare is not a failure (a typed client drops it) but a
/// note, since the spec's example then disagrees with its own schema.
pub fn includes_declared(
    spec: Option<&Spec>,
    schema: Option<&Value>,
    actual: &Value,
    expected: &Value,
    notes: &mut Vec<String>,
) -> Result<(), String> {
    fn walk(
        spec: Option<&Spec>,
        schema: Option<&Value>,
        actual: Option<&Value>,
        expected: &Value,
        path: &str,
        notes: &mut Vec<String>,
    ) -> Result<(), String> {
        match (actual, expected) {
            (None | Some(Value::Null), Value::Null) => Ok(()),
            (None, Value::Array(items)) if items.is_empty() => Ok(()),
            (None, Value::Object(fields)) if fields.is_empty() => Ok(()),
            (None, _) => Err(format!("{path} (missing)")),
            (Some(Value::Object(a)), Value::Object(e)) => e.iter().try_for_each(|(k, v)| {
                let child = match (spec, schema) {
                    (Some(spec), Some(schema)) => {
                        let props = spec.properties(schema);
                        let typed = !props.is_empty()
                            || spec.resolve(schema).get("type") == Some(&json!("object"));
                        match props.iter().find(|(name, _)| *name == k) {
                            Some((_, s)) => Some(Some(*s)),
                            None if typed && a.get(k).is_none() => None,
                            None => Some(None),
                        }
                    }
                    _ => Some(None),
                };
                match child {
                    None => {
                        notes.push(format!(
                            "{path}.{k}: in the example, not declared by the schema (dropped)"
                        ));
                        Ok(())
                    }
                    Some(child) => walk(spec, child, a.get(k), v, &format!("{path}.{k}"), notes),
                }
            }),
            (Some(Value::Array(a)), Value::Array(e)) if a.len() == e.len() => {
                let items = schema
                    .and_then(|s| spec.map(|spec| spec.resolve(s)))
                    .and_then(|s| s.get("items"));
                a.iter().zip(e).enumerate().try_for_each(|(i, (a, e))| {
                    walk(spec, items, Some(a), e, &format!("{path}[{i}]"), notes)
                })
            }
            (Some(Value::String(a)), Value::String(e)) if a == e || same_instant(a, e) => Ok(()),
            (Some(Value::Number(a)), Value::Number(e)) if a.as_f64() == e.as_f64() => Ok(()),
            (Some(a), e) if a == e => Ok(()),
            (Some(a), e) => Err(format!("{path} ({e} became {a})")),
        }
    }
    walk(spec, schema, Some(actual), expected, "$", notes)
}

fn same_instant(a: &str, b: &str) -> bool {
    match (
        chrono::DateTime::parse_from_rfc3339(a),
        chrono::DateTime::parse_from_rfc3339(b),
    ) {
        (Ok(a), Ok(b)) => a == b,
        _ => false,
    }
}
