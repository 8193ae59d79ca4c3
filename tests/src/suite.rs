//! The contract suite: every operation, response, parameter and security scheme of a spec,
//! exercised through the raw client and the ext client against httpmock.
//!
//! It collects every deviation instead of stopping at the first, so one run lists them all.

use std::collections::BTreeSet;
use std::sync::{Arc, Mutex};

use httpmock::prelude::*;
use pandadoc_api::harness::{self, Erased, Operation as HarnessOp};
use pandadoc_api_ext::{Detail, ErrorKind, RetryPolicy};
use serde_json::{Map, Value, json};

use crate::schema::{compare_schemas, instances};
use crate::{Operation, Response, Spec};

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
    let mut report = Report::default();
    let ops = spec.operations();
    coverage(&ops, &mut report);
    let server = MockServer::start_async().await;
    for op in &ops {
        let Some(hop) = harness::OPERATIONS.iter().find(|h| h.id == op.id) else {
            continue;
        };
        report.operations += 1;
        let args = arguments(spec, op);
        for response in &op.responses {
            documented_response(spec, &server, op, hop, &args, response, &mut report).await;
        }
        requests(spec, &server, op, hop, &args, &mut report).await;
        bad_responses(spec, &server, op, hop, &args, &mut report).await;
        schemas(spec, op, &mut report);
    }
    report
}

/// Every operation of the spec has a harness entry and the other way round.
fn coverage(ops: &[Operation], report: &mut Report) {
    for op in ops {
        report.check(harness::OPERATIONS.iter().any(|h| h.id == op.id), || {
            format!(
                "uncovered operation {} ({} {}): the client has no such operation; run `cargo xtask generate`",
                op.id,
                op.method.to_uppercase(),
                op.path
            )
        });
    }
    for h in harness::OPERATIONS {
        report.check(ops.iter().any(|op| op.id == h.id), || {
            format!(
                "stale operation {}: in the client but not in the spec; run `cargo xtask generate`",
                h.id
            )
        });
    }
}

/// Example arguments for every parameter: the parameter's `example`, its schema's, or one
/// synthesized from the schema.
pub fn arguments(spec: &Spec, op: &Operation) -> Map<String, Value> {
    let mut args = Map::new();
    for p in &op.parameters {
        let (Some(name), Some(location)) = (p["name"].as_str(), p["in"].as_str()) else {
            continue;
        };
        if location == "cookie" {
            continue;
        }
        let value = p
            .get("example")
            .cloned()
            .unwrap_or_else(|| spec.instance_of(&p["schema"], 0));
        args.insert(name.to_string(), value);
    }
    if let Some(body) = op
        .request_body
        .as_ref()
        .and_then(|media| spec.example_for(media))
    {
        args.insert("body".into(), crate::bodies::body_argument(spec, op, body));
    }
    args
}

/// The concrete path for `args`.
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
    path
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
        .call(hop.id, hop.idempotent, || async move {
            harness::send(raw, hop.id, args)
                .await
                .expect("a harness entry")
                .expect("arguments convert")
        })
        .await
}

/// One documented response, served as documented, through both clients.
async fn documented_response(
    spec: &Spec,
    server: &MockServer,
    op: &Operation,
    hop: &HarnessOp,
    args: &Map<String, Value>,
    response: &Response,
    report: &mut Report,
) {
    report.responses += 1;
    let code = response.code();
    let label = format!("{} {}", op.id, response.status);
    let body = response.example.clone();
    // The schema is the contract: an example that breaks it is the spec's bug, reported.
    if let (Some(schema), Some(example)) = (&response.schema, &body) {
        let violations = crate::live::validate(spec, schema, example);
        if let Some(first) = violations.first() {
            report.notes.push(format!(
                "{label}: the spec's example violates its own schema: {first}"
            ));
            return;
        }
    }
    let path = concrete_path(op, args);
    let mock = server
        .mock_async(|when, then| {
            when.method(op.method.to_uppercase().as_str())
                .path(path.as_str());
            let then = then.status(code);
            if let Some(body) = &body {
                then.header("content-type", "application/json")
                    .json_body(body.clone());
            }
        })
        .await;

    match send_raw(&raw_client(server), hop, args).await {
        Err(e) => {
            report.failures.push(format!(
                "{label}: the example arguments do not convert: {e}"
            ));
            mock.delete_async().await;
            return;
        }
        Ok(Ok(value)) => {
            if report.check(response.is_success(), || {
                format!("{label}: raw client decoded an error status as success")
            }) {
                report.check(value.status().as_u16() == code, || {
                    format!("{label}: raw client: status {}", value.status())
                });
                if let Some(body) = &body
                    && let Err(path) = kept(spec, response, &value, body, &label, report)
                {
                    report
                        .failures
                        .push(format!("{label}: raw client lost or changed {path}"));
                }
            }
        }
        Ok(Err(pandadoc_api::Error::ErrorResponse(value))) => {
            if report.check(!response.is_success(), || {
                format!("{label}: raw client decoded a success as an error")
            }) {
                report.check(value.status().as_u16() == code, || {
                    format!("{label}: raw client: status {}", value.status())
                });
                if let Some(body) = &body
                    && let Err(path) = kept(spec, response, &value, body, &label, report)
                {
                    report.failures.push(format!(
                        "{label}: raw client error body lost or changed {path}"
                    ));
                }
            }
        }
        Ok(Err(other)) => report
            .failures
            .push(format!("{label}: raw client: {other}")),
    }

    match send_ext(&ext_client(server), hop, args).await {
        Ok(value) => {
            if report.check(response.is_success(), || {
                format!("{label}: ext client decoded an error status as success")
            }) && let Some(body) = &body
                && let Err(path) = kept(spec, response, &value, body, &label, report)
            {
                report
                    .failures
                    .push(format!("{label}: ext client lost or changed {path}"));
            }
        }
        Err(e) => {
            if report.check(!response.is_success(), || {
                format!("{label}: ext client: {e}")
            }) {
                let expected = ErrorKind::from_status(reqwest_status(code));
                report.check(e.kind() == expected, || {
                    format!(
                        "{label}: ext client: kind {} instead of {expected}",
                        e.kind()
                    )
                });
                report.check(e.status().map(|s| s.as_u16()) == Some(code), || {
                    format!("{label}: ext client lost the status")
                });
                if let Some(body) = &body {
                    check_error_fields(&label, &e, body, report);
                }
            }
        }
    }
    mock.delete_async().await;
}

/// [`includes_declared`] for a documented response, its notes kept in the report.
fn kept(
    spec: &Spec,
    response: &Response,
    actual: &Value,
    expected: &Value,
    label: &str,
    report: &mut Report,
) -> Result<(), String> {
    let mut notes = Vec::new();
    let result = includes_declared(
        Some(spec),
        response.schema.as_ref(),
        actual,
        expected,
        &mut notes,
    );
    report
        .notes
        .extend(notes.into_iter().map(|n| format!("{label}: {n}")));
    result
}

fn reqwest_status(code: u16) -> reqwest::StatusCode {
    reqwest::StatusCode::from_u16(code).expect("a valid status")
}

/// The ext error keeps `type`, `detail`, `info_message` and `links` of the body.
fn check_error_fields(label: &str, e: &pandadoc_api_ext::Error, body: &Value, report: &mut Report) {
    if let Some(t) = body.get("type").and_then(Value::as_str) {
        report.check(e.error_type() == Some(t), || {
            format!("{label}: ext client lost `type`")
        });
    }
    match body.get("detail") {
        Some(Value::String(s)) => {
            report.check(e.detail() == Some(&Detail::Text(s.clone())), || {
                format!("{label}: ext client lost `detail`")
            });
        }
        Some(Value::Object(fields)) => {
            let kept: BTreeSet<&String> = e
                .field_errors()
                .map(|f| f.keys().collect())
                .unwrap_or_default();
            report.check(kept == fields.keys().collect(), || {
                format!("{label}: ext client lost `detail` fields")
            });
        }
        _ => {}
    }
    if let Some(info) = body.get("info_message").and_then(Value::as_str) {
        report.check(e.info_message() == Some(info), || {
            format!("{label}: ext client lost `info_message`")
        });
    }
    if let Some(links) = body.get("links").and_then(Value::as_array) {
        report.check(e.links().len() == links.len(), || {
            format!("{label}: ext client lost `links`")
        });
    }
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

/// A captured request: method, raw URI and headers.
#[derive(Clone, Debug)]
struct Captured {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

/// What each client sends: method, path, only declared query parameters, date-times in RFC 3339
/// and percent-encoded, `Accept`, `Authorization` per security scheme, and the body
/// ([`crate::bodies`]).
async fn requests(
    spec: &Spec,
    server: &MockServer,
    op: &Operation,
    hop: &HarnessOp,
    args: &Map<String, Value>,
    report: &mut Report,
) {
    let success = op.responses.iter().find(|r| r.is_success());
    let captured: Arc<Mutex<Vec<Captured>>> = Arc::default();
    let sink = captured.clone();
    let mock = server
        .mock_async(|when, then| {
            when.is_true(move |req| {
                sink.lock().unwrap().push(Captured {
                    method: req.method_str().to_string(),
                    uri: req
                        .uri()
                        .path_and_query()
                        .map_or_else(String::new, |pq| pq.as_str().to_string()),
                    headers: req.headers_vec().clone(),
                    body: req.body_vec(),
                });
                true
            });
            let then = then.status(success.map_or(200, Response::code));
            if let Some(body) = success.and_then(|r| r.example.clone()) {
                then.header("content-type", "application/json")
                    .json_body(body);
            }
        })
        .await;

    // (label, expected Authorization) for the raw client and each security scheme.
    let mut variants: Vec<(String, Option<String>)> = vec![("raw client".into(), None)];
    let schemes = spec.security_schemes();
    for name in &op.security {
        let Some((_, scheme)) = schemes.iter().find(|(n, _)| n == name) else {
            report
                .failures
                .push(format!("{}: security scheme {name} is not defined", op.id));
            continue;
        };
        match (
            scheme["type"].as_str(),
            scheme["in"].as_str(),
            scheme["scheme"].as_str(),
        ) {
            (Some("apiKey"), Some("header"), _) => {
                // The value's format is the scheme's `x-default` (PandaDoc: "API-Key <key>").
                let prefix = scheme["x-default"]
                    .as_str()
                    .and_then(|d| d.split_once(' '))
                    .map_or("API-Key", |(p, _)| p);
                variants.push((format!("scheme {name}"), Some(format!("{prefix} {KEY}"))));
            }
            (Some("oauth2"), _, _) | (Some("http"), _, Some("bearer")) => {
                variants.push((format!("scheme {name}"), Some(format!("Bearer {TOKEN}"))));
            }
            other => report.failures.push(format!(
                "{}: security scheme {name} ({other:?}) has no contract check",
                op.id
            )),
        }
    }

    for (label, auth) in variants {
        captured.lock().unwrap().clear();
        let result = match &auth {
            None => match send_raw(&raw_client(server), hop, args).await {
                Ok(_) => Ok(()),
                Err(_) => break, // reported with the responses
            },
            Some(header) => {
                let builder = pandadoc_api_ext::Client::builder()
                    .base_url(server.base_url())
                    .retry(RetryPolicy::disabled());
                let builder = if header.starts_with("Bearer ") {
                    builder.access_token(TOKEN)
                } else {
                    builder.api_key(KEY)
                };
                let client = builder.build().expect("a valid client");
                // Only the request matters here: an answer that does not decode is checked
                // with the responses.
                match send_ext(&client, hop, args).await {
                    Err(e) if e.kind() != ErrorKind::InvalidResponse => Err(e.to_string()),
                    _ => Ok(()),
                }
            }
        };
        let label = format!("{} request ({label})", op.id);
        if let Err(e) = result {
            report.failures.push(format!("{label}: {e}"));
            continue;
        }
        let Some(request) = captured.lock().unwrap().last().cloned() else {
            report.failures.push(format!("{label}: nothing captured"));
            continue;
        };
        check_request(&label, op, args, &request, auth.as_deref(), success, report);
        let content_type = request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
            .map(|(_, v)| v.as_str());
        crate::bodies::check(
            spec,
            op,
            &label,
            args.get("body"),
            content_type,
            &request.body,
            report,
        )
        .await;
    }
    mock.delete_async().await;
}

fn check_request(
    label: &str,
    op: &Operation,
    args: &Map<String, Value>,
    request: &Captured,
    auth: Option<&str>,
    success: Option<&Response>,
    report: &mut Report,
) {
    let header = |name: &str| {
        request
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let (path, query) = request.uri.split_once('?').unwrap_or((&request.uri, ""));
    report.request_checks += 2;
    report.check(request.method.eq_ignore_ascii_case(&op.method), || {
        format!("{label}: method {}", request.method)
    });
    report.check(path == concrete_path(op, args), || {
        format!("{label}: path {path}")
    });

    let declared: Vec<&Value> = op
        .parameters
        .iter()
        .filter(|p| p["in"] == "query")
        .collect();
    // A path key may carry a fixed query marker (`/documents?upload`): it is declared too.
    let markers: Vec<&str> = op
        .path
        .split_once('?')
        .map(|(_, q)| q.split('&').collect())
        .unwrap_or_default();
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (raw_name, raw_value) = pair.split_once('=').unwrap_or((pair, ""));
        let name = decode(raw_name);
        report.request_checks += 1;
        if markers.contains(&pair) {
            continue;
        }
        let Some(param) = declared.iter().find(|p| p["name"] == name.as_str()) else {
            report
                .failures
                .push(format!("{label}: undeclared query parameter {name}"));
            continue;
        };
        let value = decode(raw_value);
        if param["schema"]["format"] == "date-time" {
            report.request_checks += 2;
            report.check(chrono::DateTime::parse_from_rfc3339(&value).is_ok(), || {
                format!("{label}: {name}={value} is not RFC 3339")
            });
            report.check(!raw_value.contains(['+', ':', ' ']), || {
                format!("{label}: {name}={raw_value} is not percent-encoded")
            });
            if let Some(Value::String(sent)) = args.get(&name) {
                report.check(same_instant(sent, &value), || {
                    format!("{label}: {name} sent {value} for {sent}")
                });
            }
        }
    }
    for p in &declared {
        let name = p["name"].as_str().unwrap_or_default();
        if args.contains_key(name) {
            report.request_checks += 1;
            report.check(
                query
                    .split('&')
                    .any(|kv| decode(kv.split('=').next().unwrap_or("")) == name),
                || format!("{label}: query parameter {name} was not sent"),
            );
        }
    }
    // A raw success body (mixed success kinds) is asked for as `*/*`: any body is taken.
    let raw_success = harness::OPERATIONS
        .iter()
        .any(|o| o.id == op.id && o.raw_success);
    if success.is_some_and(|r| r.schema.is_some()) && !raw_success {
        report.request_checks += 1;
        report.check(
            header("accept").is_some_and(|a| a.contains("application/json")),
            || format!("{label}: Accept {:?}", header("accept")),
        );
    }
    report.request_checks += 1;
    report.check(header("authorization") == auth, || match auth {
        Some(_) => format!("{label}: Authorization is not in the scheme's format"),
        None => format!("{label}: the raw client without hooks sent an Authorization header"),
    });
}

fn decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'%' if i + 2 < bytes.len() => {
                let hex = std::str::from_utf8(&bytes[i + 1..i + 3])
                    .ok()
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 3;
                        continue;
                    }
                    None => out.push(b'%'),
                }
            }
            b'+' => out.push(b' '),
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Undocumented and malformed answers: classified by the ext client with their status; the raw
/// client returns an error, never a panic.
async fn bad_responses(
    spec: &Spec,
    server: &MockServer,
    op: &Operation,
    hop: &HarnessOp,
    args: &Map<String, Value>,
    report: &mut Report,
) {
    let example = op
        .responses
        .iter()
        .find(|r| r.is_success())
        .and_then(|r| r.example.clone());
    let truncated = example.as_ref().map(|e| {
        let text = e.to_string();
        text[..text.len() / 2].to_string()
    });
    let documented: BTreeSet<u16> = op.responses.iter().map(Response::code).collect();
    let ok = op
        .responses
        .iter()
        .find(|r| r.is_success())
        .map_or(200, Response::code);
    // (what, status, content type, body, expected kind; None: decodes)
    let mut cases: Vec<(&str, u16, &str, String, Option<ErrorKind>)> = Vec::new();
    let mut bad_bodies = vec![
        ("empty body", "application/json", String::new()),
        (
            "HTML",
            "text/html",
            "<html><body>Oops</body></html>".to_string(),
        ),
        (
            "wrong JSON types",
            "application/json",
            "[1, 2, 3]".to_string(),
        ),
    ];
    if let Some(t) = truncated {
        bad_bodies.push(("truncated JSON", "application/json", t));
    }
    for (what, content_type, body) in bad_bodies {
        // Only where the success type rejects it (raw bytes and any-JSON types take anything).
        if matches!(harness::decode(&op.id, true, body.as_bytes()), Some(Err(_))) {
            cases.push((
                what,
                ok,
                content_type,
                body,
                Some(ErrorKind::InvalidResponse),
            ));
        }
    }
    for (status, kind) in [
        (404, ErrorKind::NotFound),
        (500, ErrorKind::Server),
        (502, ErrorKind::Server),
    ] {
        if !documented.contains(&status) {
            let json_body = json!({"type": "x", "detail": "y"}).to_string();
            cases.push((
                "undocumented status, JSON",
                status,
                "application/json",
                json_body,
                Some(kind),
            ));
            cases.push((
                "undocumented status, HTML",
                status,
                "text/html",
                "<html>down</html>".into(),
                Some(kind),
            ));
        }
    }
    // A valid body with the wrong content type is decoded: the body, not the label, counts.
    let valid = |r: &Response| match (&r.schema, &r.example) {
        (Some(schema), Some(example)) => crate::live::validate(spec, schema, example).is_empty(),
        _ => true,
    };
    if let Some(e) = &example
        && op
            .responses
            .iter()
            .find(|r| r.is_success())
            .is_some_and(valid)
    {
        cases.push((
            "wrong content type, valid JSON",
            ok,
            "text/plain",
            e.to_string(),
            None,
        ));
    }
    let path = concrete_path(op, args);
    for (what, status, content_type, body, kind) in cases {
        report.bad_responses += 1;
        let mock = server
            .mock_async(|when, then| {
                when.path(path.as_str());
                then.status(status)
                    .header("content-type", content_type)
                    .body(body.clone());
            })
            .await;
        let label = format!("{} {what} ({status})", op.id);
        let raw = send_raw(&raw_client(server), hop, args).await;
        if raw.is_err() {
            mock.delete_async().await;
            break; // the arguments do not convert: reported with the responses
        }
        let ext = send_ext(&ext_client(server), hop, args).await;
        let Some(kind) = kind else {
            report.check(matches!(raw, Ok(Ok(_))) && ext.is_ok(), || {
                format!("{label}: not decoded")
            });
            mock.delete_async().await;
            continue;
        };
        {
            report.check(matches!(raw, Ok(Err(_))), || {
                format!("{label}: the raw client did not fail")
            });
            match ext {
                Ok(_) => report
                    .failures
                    .push(format!("{label}: the ext client did not fail")),
                Err(e) => {
                    report.check(e.kind() == kind, || {
                        format!("{label}: kind {} instead of {kind}", e.kind())
                    });
                    report.check(e.status().map(|s| s.as_u16()) == Some(status), || {
                        format!("{label}: status lost ({e})")
                    });
                }
            }
        }
        mock.delete_async().await;
    }
}

/// Random valid instances of each response schema decode and round-trip; with unknown fields
/// and unknown enum values they still decode and keep the unknown values; the generated types'
/// JSON Schema matches the spec's.
fn schemas(spec: &Spec, op: &Operation, report: &mut Report) {
    for response in &op.responses {
        let Some(schema) = &response.schema else {
            continue;
        };
        let label = format!("{} {}", op.id, response.status);
        let seed = op
            .id
            .bytes()
            .chain(response.status.bytes())
            .fold(0u64, |h, b| h.wrapping_mul(31).wrapping_add(b as u64));
        for (i, case) in instances(spec, schema, seed, 32).into_iter().enumerate() {
            report.schema_cases += 1;
            let bytes = serde_json::to_vec(&case.with_extras).unwrap();
            match harness::decode(&op.id, response.is_success(), &bytes) {
                None => report.failures.push(format!("{label}: no harness entry")),
                Some(Err(e)) => report.failures.push(format!(
                    "{label} case {i} (seed {seed}): does not decode: {e}\n  {}",
                    case.with_extras
                )),
                Some(Ok(decoded)) => {
                    if let Err(path) = includes(&decoded, &case.expected) {
                        report.failures.push(format!(
                            "{label} case {i} (seed {seed}): lost or changed {path}"
                        ));
                    }
                }
            }
        }
        report.schema_cases += 1;
        let Some(generated) = harness::schema(&op.id, response.is_success()) else {
            continue;
        };
        let generated = serde_json::to_value(generated).unwrap();
        let diff = compare_schemas(spec, schema, &generated);
        for narrowing in diff.narrowing {
            report.failures.push(format!(
                "{label}: generated type is narrower than the spec: {narrowing}"
            ));
        }
        for widening in diff.widening {
            report.notes.push(format!("{label}: {widening}"));
        }
    }
}
