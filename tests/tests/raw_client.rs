//! The raw generated client on cases beyond the spec's examples (the contract suite covers the
//! examples): both shapes of `detail`, 403 links, unknown enum values, extra fields.

use httpmock::prelude::*;
use pandadoc_api::types::{
    ListSmsOptOutChangelogResponseResultsItemStatus as Status,
    ListSmsOptOutChangelogResponseResultsItemStatusKnown as Known,
};
use pandadoc_contract_tests::Spec;
use serde_json::{Value, json};
use sha2::Digest;

fn raw_client(server: &MockServer) -> pandadoc_api::Client {
    pandadoc_api::Client::new(&server.base_url(), pandadoc_api::Hooks::default())
}

#[tokio::test]
async fn error_bodies_keep_type_detail_info_message_and_links() {
    let server = MockServer::start_async().await;
    let client = raw_client(&server);
    let cases = [
        (
            400,
            json!({"type": "request_error", "detail": {"timestamp_from": ["Invalid datetime."]}}),
        ),
        (
            400,
            json!({"type": "request_error", "detail": "A string detail on 400."}),
        ),
        (
            401,
            json!({"type": "authentication_error", "detail": "Authentication credentials were not provided."}),
        ),
        (
            403,
            json!({"type": "permission_error", "detail": "No.", "info_message": "Ask an admin.",
                      "links": [{"rel": "status", "href": "https://example.test/s", "type": "GET"}]}),
        ),
        (
            429,
            json!({"type": "throttled", "detail": "Request was throttled. Expected available in 13 seconds."}),
        ),
    ];
    for (status, body) in cases {
        let mock = server
            .mock_async(|when, then| {
                when.method(GET);
                then.status(status).json_body(body.clone());
            })
            .await;
        let Err(pandadoc_api::Error::ErrorResponse(value)) =
            client.list_recent_sms_opt_outs().send().await
        else {
            panic!("{status} must be an ErrorResponse");
        };
        assert_eq!(value.status().as_u16(), status);
        let error = value.into_inner();
        assert_eq!(error.type_.as_deref(), body["type"].as_str());
        assert_eq!(error.detail.as_ref(), Some(&body["detail"]));
        assert_eq!(
            error.info_message.as_deref(),
            body.get("info_message").and_then(Value::as_str)
        );
        assert_eq!(
            error.links.len(),
            body.get("links").map_or(0, |l| l.as_array().unwrap().len())
        );
        mock.delete_async().await;
    }
}

#[tokio::test]
async fn unknown_status_values_and_extra_fields_decode_and_keep_their_text() {
    let server = MockServer::start_async().await;
    let body = json!({
        "results": [
            {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z", "carrier": "x"},
            {"phone_number": "+1234567891", "status": "pending", "opt_out_changed": "2025-01-28T12:00:01+02:00"}
        ],
        "next_cursor": "abc"
    });
    server
        .mock_async(|when, then| {
            when.method(GET);
            then.status(200).json_body(body);
        })
        .await;
    let page = raw_client(&server)
        .list_recent_sms_opt_outs()
        .send()
        .await
        .unwrap()
        .into_inner();
    assert_eq!(page.results.len(), 2);
    assert!(matches!(
        page.results[0].status,
        Some(Status::Known(Known::OptOut))
    ));
    match &page.results[1].status {
        Some(Status::Unknown(text)) => assert_eq!(text, "pending"),
        other => panic!("an unknown value keeps its text: {other:?}"),
    }
    assert_eq!(
        page.results[1].opt_out_changed.unwrap().to_rfc3339(),
        "2025-01-28T10:00:01+00:00"
    );
}

#[test]
fn spec_constants_match_the_vendored_file() {
    let spec = Spec::vendored();
    assert_eq!(pandadoc_api::SPEC_VERSION, spec.doc["info"]["version"]);
    assert_eq!(pandadoc_api::SPEC_TITLE, spec.doc["info"]["title"]);
    let bytes =
        std::fs::read(pandadoc_contract_tests::openapi_dir().join("pandadoc-public-api.json"))
            .unwrap();
    let digest: String = sha2::Sha256::digest(&bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect();
    assert_eq!(pandadoc_api::SPEC_SHA256, digest);
}
