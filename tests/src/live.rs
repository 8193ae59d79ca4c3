//! Live mode: the response checks against the real API (read-only operations only), each body
//! validated against the spec's schema with the `jsonschema` crate, every deviation printed.
//! Runs only with `PANDADOC_API_KEY` set (`PANDADOC_BASE_URL` optional).

use std::process::ExitCode;

use crate::harness;
use pandadoc_api::operations;
use serde_json::{Map, Value, json};

use crate::Spec;
use crate::suite::arguments;
use crate::validate::validate;

/// Runs the live checks; without a key, says so and succeeds.
pub async fn run(spec: &Spec) -> ExitCode {
    let Ok(key) = std::env::var("PANDADOC_API_KEY") else {
        println!("live: skipped: PANDADOC_API_KEY is not set");
        println!("live: 0 passed, 0 failed");
        return ExitCode::SUCCESS;
    };
    let mut builder = pandadoc_api_ext::Client::builder().api_key(key);
    if let Ok(url) = std::env::var("PANDADOC_BASE_URL") {
        builder = builder.base_url(url);
    }
    let client = match builder.build() {
        Ok(c) => c,
        Err(e) => {
            println!("live: cannot build a client: {e}");
            return ExitCode::FAILURE;
        }
    };
    let (mut passed, mut failed) = (0, 0);
    for op in spec.operations() {
        if op.method != "get" {
            println!(
                "live: {} skipped: only read-only operations run live",
                op.id
            );
            continue;
        }
        let Some(hop) = operations::all().iter().find(|h| h.id == op.id) else {
            println!("live: {} FAILED: no harness entry", op.id);
            failed += 1;
            continue;
        };
        let args = &arguments(spec, &op);
        let raw = client.raw();
        let result = client
            .call(hop, || async move {
                harness::send(raw, hop.id, args).await.unwrap().unwrap()
            })
            .await;
        let (status, body) = match result {
            Ok(v) => (v.status().as_u16(), v.into_inner()),
            Err(e) => {
                println!("live: {} answered {e}", op.id);
                match e.status() {
                    // An error status can still be a documented response: check its body.
                    Some(s) if op.responses.iter().any(|r| r.code() == s.as_u16()) => {
                        let mut body = Map::new();
                        if let Some(t) = e.error_type() {
                            body.insert("type".into(), json!(t));
                        }
                        (s.as_u16(), Value::Object(body))
                    }
                    _ => {
                        failed += 1;
                        continue;
                    }
                }
            }
        };
        let Some(response) = op.responses.iter().find(|r| r.code() == status) else {
            println!("live: {} FAILED: status {status} is not documented", op.id);
            failed += 1;
            continue;
        };
        let Some(schema) = &response.schema else {
            passed += 1;
            continue;
        };
        let deviations = validate(spec, schema, &body);
        if deviations.is_empty() {
            println!("live: {} {status}: the body matches the spec", op.id);
            passed += 1;
        } else {
            for d in &deviations {
                println!("live: {} {status}: deviation: {d}", op.id);
            }
            failed += 1;
        }
    }
    println!("live: {passed} passed, {failed} failed");
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
