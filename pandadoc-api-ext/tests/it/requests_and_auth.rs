//! What the client sends: credentials, the time window, the user agent; bad input sends nothing.

use crate::common;

use chrono::{DateTime, TimeDelta, Utc};
use common::{KEY, client, page};
use httpmock::prelude::*;
use pandadoc_api_ext::{Client, ErrorKind, FixedClock, SmsOptOutStatus, TimeRange};

fn at(s: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
}

#[tokio::test]
async fn api_key_window_and_user_agent_are_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(GET)
                .path("/public/v1/sms-opt-outs")
                .header("authorization", format!("API-Key {KEY}"))
                .header("accept", "application/json")
                .header("user-agent", pandadoc_api_ext::USER_AGENT)
                .query_param("timestamp_from", "2025-01-27T12:00:00Z")
                .query_param("timestamp_to", "2025-01-28T12:00:00Z");
            then.status(200).json_body(page());
        })
        .await;
    let client = client(&server.base_url())
        .clock(FixedClock(at("2025-01-28T12:00:00Z")))
        .build()
        .unwrap();
    let result = client
        .sms_opt_outs(TimeRange::last(TimeDelta::hours(24)))
        .await
        .unwrap();
    mock.assert_async().await;
    assert_eq!(result.window.from, at("2025-01-27T12:00:00Z"));
    assert_eq!(result.window.to, at("2025-01-28T12:00:00Z"));
    assert_eq!(result.changes.len(), 1);
    assert_eq!(
        result.changes[0].phone_number.as_deref(),
        Some("+1234567890")
    );
    assert_eq!(result.changes[0].status, Some(SmsOptOutStatus::OptOut));
    assert_eq!(
        result.changes[0].opt_out_changed,
        Some(at("2025-01-28T12:00:00Z"))
    );
}

#[tokio::test]
async fn default_range_is_the_last_hour_sent_explicitly() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.query_param("timestamp_from", "2025-01-28T11:00:00Z")
                .query_param("timestamp_to", "2025-01-28T12:00:00Z");
            then.status(200).json_body(page());
        })
        .await;
    let client = client(&server.base_url())
        .clock(FixedClock(at("2025-01-28T12:00:00Z")))
        .build()
        .unwrap();
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn bearer_token_is_sent() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.header("authorization", "Bearer tok-123");
            then.status(200).json_body(page());
        })
        .await;
    let client = Client::builder()
        .access_token("tok-123")
        .base_url(server.base_url())
        .build()
        .unwrap();
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    mock.assert_async().await;
}

#[tokio::test]
async fn unknown_statuses_and_missing_fields_are_kept_not_dropped() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(200).json_body(serde_json::json!({"results": [
                {"phone_number": "+1", "status": "pending", "opt_out_changed": "2025-01-28T12:00:00Z", "new": 1},
                {"phone_number": "+2"},
                {"status": "opt-in"}
            ]}));
        })
        .await;
    let client = client(&server.base_url()).build().unwrap();
    let changes = client
        .sms_opt_outs(TimeRange::default())
        .await
        .unwrap()
        .changes;
    assert_eq!(changes.len(), 3, "no record is dropped");
    assert_eq!(
        changes[0].status,
        Some(SmsOptOutStatus::Unknown("pending".into()))
    );
    assert_eq!(
        (changes[1].status.as_ref(), changes[1].opt_out_changed),
        (None, None)
    );
    assert_eq!(changes[2].phone_number, None);
    assert_eq!(
        serde_json::to_value(&changes[0]).unwrap()["status"],
        "pending"
    );
}

#[tokio::test]
async fn bad_input_is_invalid_input_and_sends_nothing() {
    let server = MockServer::start_async().await;
    let any = server
        .mock_async(|_, then| {
            then.status(200).json_body(page());
        })
        .await;
    let base = server.base_url();
    let builds = [
        Client::builder().api_key("").base_url(&base).build(),
        Client::builder()
            .api_key("abc\r\nX-Injected: 1")
            .base_url(&base)
            .build(),
        Client::builder().api_key("abc def").base_url(&base).build(),
        Client::builder()
            .api_key("abc\tdef")
            .base_url(&base)
            .build(),
        Client::builder()
            .access_token("tok\n")
            .base_url(&base)
            .build(),
        Client::builder().base_url(&base).build(),
        Client::builder().api_key("k").base_url("not a url").build(),
        Client::builder()
            .api_key("k")
            .base_url("http://api.pandadoc.com")
            .build(),
        Client::builder()
            .api_key("k")
            .base_url("ftp://127.0.0.1")
            .build(),
        Client::builder()
            .api_key("k")
            .base_url("https://user:pw@example.com")
            .build(),
    ];
    for (i, built) in builds.into_iter().enumerate() {
        let err = built.expect_err(&format!("case {i} must be refused"));
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "case {i}: {err}");
        assert!(
            !err.to_string().contains("abc"),
            "case {i}: the message never shows the secret: {err}"
        );
    }
    let client = client(&base).build().unwrap();
    let now = Utc::now();
    let err = client
        .sms_opt_outs(TimeRange::between(now, now - TimeDelta::hours(1)))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(any.calls_async().await, 0, "nothing was sent");
}

#[test]
fn loopback_http_is_allowed_and_https_anywhere() {
    for url in [
        "http://127.0.0.1:1",
        "http://localhost:8080/",
        "http://[::1]:9",
        "https://api.pandadoc.com",
        "https://eu.example.com/base",
    ] {
        Client::builder()
            .api_key("k")
            .base_url(url)
            .build()
            .unwrap_or_else(|e| panic!("{url}: {e}"));
    }
}

#[tokio::test]
async fn the_raw_client_is_authenticated_too() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.header("authorization", format!("API-Key {KEY}"));
            then.status(200).json_body(page());
        })
        .await;
    let client = client(&server.base_url()).build().unwrap();
    let page = client
        .raw()
        .list_recent_sms_opt_outs()
        .send()
        .await
        .unwrap();
    assert_eq!(page.results.len(), 1);
    mock.assert_async().await;
}
