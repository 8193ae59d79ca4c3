//! The contract suite fails, naming exactly what is uncovered, when the spec grows beyond the
//! generated client: a new response status and a second operation, before `cargo xtask generate`.

use pandadoc_contract_tests::{Spec, suite};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_status_and_a_new_operation_are_named_until_regenerated() {
    let mut spec = Spec::vendored();
    let baseline = suite::run(&spec).await;
    assert!(baseline.failures.is_empty(), "{:#?}", baseline.failures);

    let doc = &mut spec.doc;
    doc["paths"]["/public/v1/sms-opt-outs"]["get"]["responses"]["404"] = json!({
        "description": "Not found",
        "content": { "application/json": { "schema": {
            "type": "object",
            "properties": { "code": { "type": "integer", "example": 404 }, "message": { "type": "string", "example": "gone" } }
        }}}
    });
    doc["paths"]["/public/v1/things"] = json!({ "get": {
        "operationId": "listThings",
        "responses": { "200": { "description": "ok", "content": { "application/json": { "schema": { "type": "object" } } } } }
    }});
    let report = suite::run(&spec).await;

    assert_eq!(
        report.responses,
        baseline.responses + 1,
        "the new status is exercised"
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("uncovered operation listThings (GET /public/v1/things)")),
        "{:#?}",
        report.failures
    );
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.starts_with("listRecentSmsOptOuts 404: raw client")),
        "{:#?}",
        report.failures
    );
    for failure in &report.failures {
        assert!(
            failure.starts_with("uncovered operation listThings")
                || failure.starts_with("listRecentSmsOptOuts 404"),
            "only what is uncovered is named, not: {failure}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_narrower_generated_type_is_reported() {
    // The spec now says phone_number is an integer: the generated String is narrower.
    let mut spec = Spec::vendored();
    // The success body's schema, wherever this release keeps it (inline before 7.18, a
    // component since).
    let op = spec.operations().into_iter().next().expect("an operation");
    let success = op
        .responses
        .iter()
        .find(|r| r.is_success() && r.schema.is_some())
        .expect("a JSON success");
    let media = spec.doc["paths"][&op.path][&op.method]["responses"][&success.status]["content"]
        .as_object()
        .and_then(|content| content.keys().find(|m| m.contains("json")).cloned())
        .expect("a JSON media type");
    let inline = &spec.doc["paths"][&op.path][&op.method]["responses"][&success.status]["content"]
        [&media]["schema"];
    let pointer = match inline.get("$ref").and_then(Value::as_str) {
        Some(reference) => reference.trim_start_matches('#').to_string(),
        None => format!(
            "/paths/{}/{}/responses/{}/content/{}/schema",
            op.path.replace('~', "~0").replace('/', "~1"),
            op.method,
            success.status,
            media.replace('~', "~0").replace('/', "~1")
        ),
    };
    spec.doc.pointer_mut(&pointer).expect("the success schema")["properties"]["results"]["items"]
        ["properties"]["phone_number"] = json!({ "type": "integer", "example": 1234567890 });
    let report = suite::run(&spec).await;
    assert!(
        report
            .failures
            .iter()
            .any(|f| f.contains("$.results[].phone_number: type integer in the spec")),
        "{:#?}",
        report.failures
    );
}
