//! Every failure is classified, keeps its HTTP status and never shows a secret.

use crate::common;

use std::time::Duration;

use common::{KEY, Reply, Scripted, client, json};
use httpmock::prelude::*;
use pandadoc_api_ext::pandadoc_api::operations;
use pandadoc_api_ext::{Detail, ErrorKind, RetryPolicy, TimeRange};
use serde_json::json as j;

async fn one_answer(reply: Reply) -> pandadoc_api_ext::Error {
    let server = Scripted::start(vec![reply]).await;
    let client = client(&server.base_url)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(server.hits(), 1);
    let debug = format!("{err:?} {err}");
    assert!(!debug.contains(KEY), "no secret in {debug}");
    err
}

#[tokio::test]
async fn documented_error_statuses_keep_type_and_detail() {
    let err = one_answer(json(
        400,
        j!({"type": "request_error", "detail": {"timestamp_from": ["Invalid."]}}),
    ))
    .await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::BadRequest, Some(400))
    );
    assert_eq!(err.error_type(), Some("request_error"));
    assert_eq!(err.field_errors().unwrap()["timestamp_from"], ["Invalid."]);

    let err = one_answer(json(
        400,
        j!({"type": "request_error", "detail": "Bad things."}),
    ))
    .await;
    assert_eq!(err.detail(), Some(&Detail::Text("Bad things.".into())));
    assert_eq!(err.message(), "Bad things.");

    let err = one_answer(json(
        401,
        j!({"type": "authentication_error", "detail": "Nope."}),
    ))
    .await;
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert!(!err.is_retryable() && err.is_client_error());

    let err = one_answer(json(
        403,
        j!({"type": "permission_error", "detail": "No.", "info_message": "Ask an admin.",
        "links": [{"rel": "status", "href": "https://x.test/s", "type": "GET"}]}),
    ))
    .await;
    assert_eq!(err.kind(), ErrorKind::Permission);
    assert_eq!(err.info_message(), Some("Ask an admin."));
    assert_eq!(err.links()[0].href.as_deref(), Some("https://x.test/s"));
    assert_eq!(err.links()[0].method.as_deref(), Some("GET"));

    let err = one_answer(json(429, j!({"type": "throttled", "detail": "Request was throttled. Expected available in 13 seconds."}))).await;
    assert_eq!(err.kind(), ErrorKind::Throttled);
    assert_eq!(err.retry_after(), Some(Duration::from_secs(13)));
    assert!(err.is_retryable() && err.is_throttling());
}

/// The error is read from the body as received, whatever the release declares for the status:
/// a field a release leaves out of its error schema (or one it does not document the status
/// of) still reaches the caller.
#[tokio::test]
async fn error_bodies_keep_every_field_the_server_sent() {
    for status in [400, 401, 403, 404, 409, 429, 500, 503] {
        let err = one_answer(json(
            status,
            j!({"type": "t", "detail": "d", "info_message": "i", "undeclared": {"x": 1},
                "links": [{"rel": "r", "href": "https://x.test/h", "type": "GET"}]}),
        ))
        .await;
        assert_eq!(err.status().map(|s| s.as_u16()), Some(status));
        assert_eq!(
            (err.error_type(), err.message(), err.info_message()),
            (Some("t"), "d", Some("i")),
            "{status}"
        );
        assert_eq!(err.links().len(), 1, "{status}");
        assert_eq!(err.links()[0].href.as_deref(), Some("https://x.test/h"));
    }
}

/// Error bodies are read up to a bound: a longer one is classified by its status with a
/// snippet, and one cut short by the server keeps its status and the cause.
#[tokio::test]
async fn long_and_cut_short_error_bodies_keep_their_status() {
    let long = format!(r#"{{"type": "t", "detail": "{}"}}"#, "x".repeat(200 * 1024));
    let err = one_answer(Reply::Http(
        400,
        vec!["content-type: application/json".into()],
        long,
    ))
    .await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::BadRequest, Some(400))
    );
    assert!(
        err.body_snippet()
            .unwrap()
            .starts_with(r#"{"type": "t", "detail": "xxx"#)
    );
    assert!(err.body_snippet().unwrap().len() <= pandadoc_api_ext::SNIPPET_LIMIT + 3);

    let err = one_answer(Reply::CutShort(503, r#"{"type": "t", "det"#.into())).await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Server, Some(503)),
        "{err}"
    );
    let cause = std::error::Error::source(&err).expect("the body's read error is kept");
    assert!(
        cause.downcast_ref::<reqwest::Error>().is_some(),
        "{cause:?}"
    );
}

#[tokio::test]
async fn undocumented_and_malformed_answers_are_classified_with_status_and_snippet() {
    let html = "<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>";
    let err = one_answer(Reply::Http(
        503,
        vec!["content-type: text/html".into()],
        html.into(),
    ))
    .await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Server, Some(503))
    );
    assert_eq!(err.body_snippet(), Some(html));
    assert!(err.is_transient());

    let err = one_answer(Reply::Http(500, vec![], String::new())).await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Server, Some(500))
    );
    assert!(!err.is_retryable(), "500 is not retried");

    let err = one_answer(Reply::Http(
        200,
        vec!["content-type: application/json".into()],
        r#"{"results": [{"phone_"#.into(),
    ))
    .await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::InvalidResponse, Some(200))
    );
    assert_eq!(err.body_snippet(), Some(r#"{"results": [{"phone_"#));
    assert!(err.message().contains("does not match the spec"), "{err}");

    let err = one_answer(json(200, j!({"results": "not a list"}))).await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::InvalidResponse, Some(200))
    );

    let err = one_answer(Reply::Http(
        200,
        vec!["content-type: text/html".into()],
        "<html></html>".into(),
    ))
    .await;
    assert_eq!(err.kind(), ErrorKind::InvalidResponse, "wrong content type");

    let err = one_answer(Reply::Http(204, vec![], String::new())).await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::InvalidResponse, Some(204))
    );

    let err = one_answer(Reply::Http(
        429,
        vec!["retry-after: 7".into(), "content-type: text/html".into()],
        "<p>slow down</p>".into(),
    ))
    .await;
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Throttled, Some(429)),
        "a 429 is throttling whatever its body"
    );
    assert_eq!(err.retry_after(), Some(Duration::from_secs(7)));
    assert_eq!(err.body_snippet(), Some("<p>slow down</p>"));

    for (status, kind) in [
        (404, ErrorKind::NotFound),
        (418, ErrorKind::ClientError),
        (502, ErrorKind::Server),
        (504, ErrorKind::Server),
    ] {
        let err = one_answer(json(status, j!({"type": "x", "detail": "d"}))).await;
        assert_eq!(
            (err.kind(), err.status().map(|s| s.as_u16())),
            (kind, Some(status))
        );
        assert_eq!(err.error_type(), Some("x"));
        assert_eq!(err.message(), "d");
    }

    let big = "x".repeat(10_000);
    let err = one_answer(Reply::Http(500, vec![], big)).await;
    assert!(
        err.body_snippet().unwrap().len() <= pandadoc_api_ext::SNIPPET_LIMIT + 3,
        "bounded"
    );
}

#[tokio::test]
async fn dropped_connections_and_refused_connects_are_network_errors() {
    let err = one_answer(Reply::Drop).await;
    assert_eq!((err.kind(), err.status()), (ErrorKind::Network, None));
    assert!(err.is_transient());

    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    drop(listener);
    let client = client(&format!("http://{addr}"))
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Network, "{err}");
    // The cause is kept: the reqwest::Error, and under it the io::Error of the refused connect.
    let cause = std::error::Error::source(&err).expect("a source");
    assert!(
        cause.downcast_ref::<reqwest::Error>().is_some(),
        "{cause:?}"
    );
    let mut chain = Some(cause);
    let mut io = None;
    while let Some(e) = chain {
        io = io.or(e.downcast_ref::<std::io::Error>());
        chain = e.source();
    }
    assert_eq!(
        io.expect("an io::Error in the chain").kind(),
        std::io::ErrorKind::ConnectionRefused
    );
    let copy = err.clone();
    assert!(std::error::Error::source(&copy).is_some(), "clones keep it");
}

#[tokio::test]
async fn a_delay_past_the_timeout_is_a_timeout() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|_, then| {
            then.status(200)
                .json_body(common::page())
                .delay(Duration::from_secs(3));
        })
        .await;
    let client = client(&server.base_url())
        .timeout(Duration::from_millis(200))
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.status()),
        (ErrorKind::Timeout, None),
        "{err}"
    );
    assert!(err.is_retryable());
}

#[test]
fn debug_of_clients_and_builders_never_shows_the_key() {
    let builder = client("http://127.0.0.1:1");
    assert!(!format!("{builder:?}").contains(KEY));
    let client = builder.build().unwrap();
    let debug = format!("{client:?} {:?}", client.raw());
    assert!(!debug.contains(KEY), "{debug}");
    assert!(debug.contains("API-Key [REDACTED]"), "{debug}");
}

#[tokio::test]
async fn a_date_time_without_offset_is_utc_and_one_that_does_not_parse_is_invalid_response() {
    let server = Scripted::start(vec![json(
        200,
        j!({"results": [
            {"phone_number": "+1234567890", "status": "opt-out", "opt_out_changed": "2024-07-18T13:11:42.326997"}
        ]}),
    )])
    .await;
    let lenient = client(&server.base_url).build().unwrap();
    let page = lenient.sms_opt_outs(TimeRange::default()).await.unwrap();
    let utc = chrono::DateTime::parse_from_rfc3339("2024-07-18T13:11:42.326997Z").unwrap();
    assert_eq!(page.changes[0].opt_out_changed, Some(utc.to_utc()));

    // The generated operation, called through the ext client, fails the page and names where.
    let bad = j!({"results": [
        {"phone_number": "+1", "status": "opt-out", "opt_out_changed": "yesterday"},
        {"phone_number": "+15550100", "status": "opt-in", "opt_out_changed": "2024-07-18T13:11:42Z"}
    ]});
    let server = Scripted::start(vec![json(200, bad.clone()), json(200, bad)]).await;
    let ext = client(&server.base_url)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    let err = ext
        .call(&operations::LIST_RECENT_SMS_OPT_OUTS, || {
            ext.raw().list_recent_sms_opt_outs().send()
        })
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::InvalidResponse, Some(200))
    );
    assert!(
        err.message().contains("not a date-time: \"yesterday\""),
        "{err}"
    );
    assert!(
        err.message().contains(" at $.results[0].opt_out_changed: "),
        "the field is named: {err}"
    );
    assert!(err.body_snippet().unwrap().contains("yesterday"), "{err}");

    // `sms_opt_outs` reads the same page record by record: the bad record is kept, marked
    // unreadable with what could be read, and the good one is read as usual.
    let page = ext.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert_eq!(server.hits(), 2);
    assert_eq!(page.changes.len(), 2);
    let unreadable = page.changes[0]
        .unreadable
        .as_ref()
        .expect("marked unreadable");
    assert!(unreadable.reason.contains("yesterday"), "{unreadable:?}");
    assert!(
        unreadable.record.contains("\"yesterday\""),
        "{unreadable:?}"
    );
    assert_eq!(page.changes[0].phone_number.as_deref(), Some("+1"));
    assert_eq!(page.changes[0].opt_out_changed, None);
    assert!(page.changes[1].unreadable.is_none());
    assert_eq!(page.changes[1].phone_number.as_deref(), Some("+15550100"));
}

/// A status is a string: `{"opt-in": null}` (which serde's enum derive would read as `opt-in`)
/// is not misread as one; the record is marked unreadable and its neighbours read.
#[tokio::test]
async fn a_status_that_is_not_a_string_is_never_read_as_one() {
    let server = Scripted::start(vec![json(
        200,
        j!({"results": [
            {"phone_number": "+15550100", "status": {"opt-in": null}, "opt_out_changed": "2025-01-28T12:00:00Z"},
            {"phone_number": "+15550101", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00Z"}
        ]}),
    )])
    .await;
    let lenient = client(&server.base_url).build().unwrap();
    let page = lenient.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert_eq!(page.changes[0].status, None);
    let unreadable = page.changes[0].unreadable.as_ref().expect("unreadable");
    assert!(unreadable.reason.starts_with("status: "), "{unreadable:?}");
    assert!(page.changes[1].unreadable.is_none());
}

#[tokio::test]
async fn a_success_body_that_is_not_a_page_is_still_invalid_response() {
    for body in [j!({"results": "none"}), j!([1, 2])] {
        let err = one_answer(json(200, body)).await;
        assert_eq!(
            (err.kind(), err.status().map(|s| s.as_u16())),
            (ErrorKind::InvalidResponse, Some(200)),
            "{err}"
        );
    }
}
