//! Retries: throttling, 502/503/504, timeouts and dropped connections; never sooner than the
//! server asked; capped; switchable off. Tracing is tested in `tracing.rs`, a process of its own.

use crate::common;

use std::time::{Duration, Instant};

use common::{Reply, Scripted, client, json, page};
use pandadoc_api_ext::{ErrorKind, RetryPolicy, TimeRange};
use serde_json::json as j;

fn fast() -> RetryPolicy {
    RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5))
}

#[tokio::test]
async fn throttled_with_retry_after_then_ok_waits_at_least_the_delay() {
    let server = Scripted::start(vec![
        Reply::Http(
            429,
            vec![
                "retry-after: 1".into(),
                "content-type: application/json".into(),
            ],
            j!({"type": "throttled", "detail": "Request was throttled."}).to_string(),
        ),
        json(200, page()),
    ])
    .await;
    let client = client(&server.base_url).retry(fast()).build().unwrap();
    let started = Instant::now();
    let result = client.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "never sooner than Retry-After"
    );
    assert_eq!(result.changes.len(), 1);
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn throttled_with_pandadoc_detail_text_waits_that_long() {
    let server = Scripted::start(vec![
        json(429, j!({"type": "throttled", "detail": "Request was throttled. Expected available in 1 seconds."})),
        json(200, page()),
    ])
    .await;
    let client = client(&server.base_url).retry(fast()).build().unwrap();
    let started = Instant::now();
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert!(started.elapsed() >= Duration::from_secs(1));
    assert_eq!(server.hits(), 2);
}

#[tokio::test]
async fn transient_failures_are_retried_until_success() {
    let server = Scripted::start(vec![
        Reply::Http(503, vec![], "<html>down</html>".into()),
        Reply::Drop,
        Reply::Http(502, vec![], String::new()),
        json(200, page()),
    ])
    .await;
    let client = client(&server.base_url).retry(fast()).build().unwrap();
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert_eq!(server.hits(), 4);
}

#[tokio::test]
async fn attempts_are_capped_and_the_last_error_returned() {
    let server = Scripted::start(vec![Reply::Http(503, vec![], "busy".into())]).await;
    let client = client(&server.base_url)
        .retry(fast().max_attempts(3))
        .build()
        .unwrap();
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Server, Some(503))
    );
    assert_eq!(server.hits(), 3);
}

#[tokio::test]
async fn a_server_delay_past_the_time_budget_is_not_waited_for() {
    let server = Scripted::start(vec![json(
        429,
        j!({"type": "throttled", "detail": "Expected available in 3600 seconds."}),
    )])
    .await;
    let client = client(&server.base_url)
        .retry(fast().max_elapsed(Duration::from_secs(5)))
        .build()
        .unwrap();
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(
        err.retry_after(),
        Some(Duration::from_secs(3600)),
        "the caller learns when to come back"
    );
    assert_eq!(server.hits(), 1);
}

#[tokio::test]
async fn client_errors_and_500_are_not_retried_and_retries_switch_off() {
    for reply in [
        json(400, j!({"detail": "bad"})),
        json(401, j!({})),
        json(403, j!({})),
        Reply::Http(500, vec![], String::new()),
    ] {
        let server = Scripted::start(vec![reply, json(200, page())]).await;
        let client = client(&server.base_url).retry(fast()).build().unwrap();
        client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
        assert_eq!(server.hits(), 1);
    }
    let server = Scripted::start(vec![
        Reply::Http(503, vec![], String::new()),
        json(200, page()),
    ])
    .await;
    let client = client(&server.base_url)
        .retry(RetryPolicy::disabled())
        .build()
        .unwrap();
    assert_eq!(
        client
            .sms_opt_outs(TimeRange::default())
            .await
            .unwrap_err()
            .status()
            .map(|s| s.as_u16()),
        Some(503)
    );
    assert_eq!(server.hits(), 1);
}
