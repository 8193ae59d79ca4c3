//! The raw generated client on cases beyond the spec's examples (the contract suite covers the
//! examples): both shapes of `detail`, 403 links, unknown enum values, extra fields.

use httpmock::prelude::*;
use pandadoc_contract_tests::Spec;
use serde_json::json;
use sha2::Digest;

fn raw_client(server: &MockServer) -> pandadoc_api::Client {
    pandadoc_api::Client::new(&server.base_url(), pandadoc_api::Hooks::default())
}

/// The fields the vendored spec declares for the opt-out operation's `status` body.
fn declared_fields(spec: &Spec, status: u16) -> Vec<String> {
    let op = spec
        .operations()
        .into_iter()
        .find(|op| op.id == pandadoc_api::operations::LIST_RECENT_SMS_OPT_OUTS.id)
        .expect("the vendored operation");
    op.responses
        .iter()
        .filter(|r| r.status == status.to_string())
        .filter_map(|r| r.schema.as_ref())
        .flat_map(|schema| spec.properties(schema))
        .map(|(name, _)| name.clone())
        .collect()
}

#[tokio::test]
async fn error_bodies_keep_type_detail_info_message_and_links() {
    let spec = Spec::vendored();
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
        // Every field the spec declares for this status is kept as sent (what a release
        // declares varies: `info_message` and `links` came with 7.18), `type` and `detail`
        // always.
        let decoded = serde_json::to_value(value.into_inner()).unwrap();
        let declared = declared_fields(&spec, status);
        for (key, sent) in body.as_object().unwrap() {
            if key == "type" || key == "detail" || declared.contains(key) {
                assert_eq!(&decoded[key.as_str()], sent, "{status}: {key}");
            }
        }
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
    // By their text: the generated status type's name changes between releases.
    let status = |i: usize| page.results[i].status.as_ref().map(ToString::to_string);
    assert_eq!(status(0).as_deref(), Some("opt-out"));
    assert_eq!(
        status(1).as_deref(),
        Some("pending"),
        "an unknown value keeps its text"
    );
    assert!(
        format!("{:?}", page.results[1].status).contains("Unknown"),
        "and is the unknown variant: {:?}",
        page.results[1].status
    );
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
