//! Tracing: a span per attempt and a log line per retry, never a secret.
//!
//! The subscriber is process-global state (tracing caches each callsite's interest for the
//! whole process), so this binary holds one test and installs the subscriber globally: no
//! other test thread can hit the same callsites before or while it is installed.

mod common;

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{KEY, Reply, Scripted, client, json, page};
use pandadoc_api_ext::sync::{MemoryStore, OptOutSync, SyncOptions};
use pandadoc_api_ext::{OAuthApp, RetryPolicy, TimeRange};

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn each_attempt_is_a_span_and_each_retry_a_log_line_without_secrets() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(move || writer.clone())
        .with_span_events(tracing_subscriber::fmt::format::FmtSpan::CLOSE)
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

    let server = Scripted::start(vec![
        Reply::Http(503, vec![], String::new()),
        json(200, page()),
    ])
    .await;
    let retry = RetryPolicy::default()
        .initial_backoff(Duration::from_millis(1))
        .max_backoff(Duration::from_millis(5));
    let client = client(&server.base_url)
        .retry(retry.clone())
        .build()
        .unwrap();
    client.sms_opt_outs(TimeRange::default()).await.unwrap();

    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(logs.contains("retrying"), "{logs}");
    // One spelling of the operation in every span and event: the spec's operationId (the
    // response event used to carry progenitor's method name).
    let operation = pandadoc_api_ext::pandadoc_api::operations::LIST_RECENT_SMS_OPT_OUTS;
    assert!(
        logs.contains(&format!("operation=\"{}\"", operation.id)),
        "{logs}"
    );
    assert!(
        !logs.contains("operation=\"list_recent_sms_opt_outs\""),
        "{logs}"
    );
    let responses: Vec<&str> = logs.lines().filter(|l| l.contains(" response")).collect();
    assert!(
        responses.len() >= 2
            && responses
                .iter()
                .all(|l| l.contains(&format!("operation=\"{}\"", operation.id))),
        "{logs}"
    );
    assert!(
        logs.contains("attempt=2") && logs.contains("status=200") && logs.contains("status=503"),
        "{logs}"
    );
    assert!(logs.contains("latency_ms="), "{logs}");
    assert!(!logs.contains(KEY), "no secret in the logs");

    // The sync: a span per window, with its changes, attempts and how far behind now it is.
    let server = Scripted::start(vec![
        Reply::Http(503, vec![], String::new()),
        json(200, page()),
    ])
    .await;
    let syncing = common::client(&server.base_url)
        .retry(retry)
        .build()
        .unwrap();
    let start = chrono::Utc::now() - chrono::TimeDelta::hours(2);
    let mut sync = OptOutSync::new(
        syncing,
        MemoryStore::default(),
        start,
        SyncOptions::default(),
    );
    sync.step(async |_| Ok::<(), std::convert::Infallible>(()))
        .await
        .unwrap()
        .expect("a window");
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let window = logs
        .lines()
        .find(|l| {
            l.contains("pandadoc.sync.window{")
                && l.contains("close")
                && !l.contains("pandadoc.request{")
        })
        .unwrap_or_else(|| panic!("no window span in {logs}"));
    assert!(
        window.contains("changes=1")
            && window.contains("attempts=2")
            && window.contains("behind_s="),
        "{window}"
    );

    // Two token refreshes at once on one thread: each in its own span, never one inside the
    // other (a span guard held across an await nested them).
    let token = r#"{"access_token":"at-1","refresh_token":"rt-2","expires_in":3600}"#;
    let tokens = Scripted::start(vec![Reply::Http(
        200,
        vec!["content-type: application/json".into()],
        token.into(),
    )])
    .await;
    let app = OAuthApp::new(
        "client-id",
        "client-secret-9f8e",
        "https://app.example.com/cb",
    )
    .unwrap()
    .with_token_url(&format!("{}/oauth2/access_token", tokens.base_url))
    .unwrap();
    let (rt_a, rt_b) = ("rt-a".into(), "rt-b".into());
    let (a, b) = tokio::join!(app.refresh(&rt_a), app.refresh(&rt_b));
    a.unwrap();
    b.unwrap();
    let logs = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    let closes: Vec<&str> = logs
        .lines()
        .filter(|l| l.contains("pandadoc.oauth{") && l.contains("close"))
        .collect();
    assert_eq!(closes.len(), 2, "{logs}");
    for line in closes {
        assert_eq!(line.matches("pandadoc.oauth{").count(), 1, "nested: {line}");
        assert!(line.contains("status=200"), "{line}");
    }
    assert!(!logs.contains("client-secret-9f8e") && !logs.contains("rt-a"));
}
