//! OAuth2: authorize URL, code exchange, refresh before expiry and after a 401, one refresh for
//! concurrent callers, the refresh callback, and no secret in any Debug output.

use crate::common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use common::page;
use httpmock::prelude::*;
use pandadoc_api_ext::{Client, ErrorKind, FixedClock, OAuthApp, TimeRange, TokenSet};
use secrecy::ExposeSecret;
use serde_json::json;

const SECRET: &str = "client-secret-9d8e7f";
const NOW: &str = "2025-01-28T12:00:00Z";

fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(NOW)
        .unwrap()
        .with_timezone(&Utc)
}

fn app(server: &MockServer) -> OAuthApp {
    OAuthApp::new("client-id", SECRET, "https://app.example.com/callback")
        .unwrap()
        .with_token_url(&server.url("/oauth2/access_token"))
        .unwrap()
        .with_clock(FixedClock(now()))
}

async fn token_endpoint<'a>(
    server: &'a MockServer,
    grant: &str,
    answer: serde_json::Value,
    delay: Duration,
) -> httpmock::Mock<'a> {
    let grant = grant.to_string();
    server
        .mock_async(move |when, then| {
            when.method(POST)
                .path("/oauth2/access_token")
                .header("content-type", "application/x-www-form-urlencoded")
                .form_urlencoded_tuple("grant_type", grant)
                .form_urlencoded_tuple("client_id", "client-id")
                .form_urlencoded_tuple("client_secret", SECRET);
            then.status(200).json_body(answer).delay(delay);
        })
        .await
}

#[test]
fn authorize_url_has_the_documented_parameters() {
    let app = OAuthApp::new("client-id", SECRET, "https://app.example.com/callback").unwrap();
    let url = app.authorize_url("xyz");
    assert!(
        url.as_str()
            .starts_with("https://app.pandadoc.com/oauth2/authorize?"),
        "{url}"
    );
    assert!(url.as_str().contains("scope=read+write"), "{url}");
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .map(|(k, v)| (k.into(), v.into()))
        .collect();
    for (k, v) in [
        ("client_id", "client-id"),
        ("redirect_uri", "https://app.example.com/callback"),
        ("scope", "read write"),
        ("response_type", "code"),
        ("state", "xyz"),
    ] {
        assert!(
            pairs.contains(&(k.to_string(), v.to_string())),
            "{k}={v} in {url}"
        );
    }
    assert!(!url.as_str().contains(SECRET));
    assert!(!format!("{app:?}").contains(SECRET));
}

#[tokio::test]
async fn code_exchange_returns_tokens_with_expiry() {
    let server = MockServer::start_async().await;
    let mock = server
        .mock_async(|when, then| {
            when.method(POST)
                .path("/oauth2/access_token")
                .form_urlencoded_tuple("grant_type", "authorization_code")
                .form_urlencoded_tuple("code", "the-code")
                .form_urlencoded_tuple("client_id", "client-id")
                .form_urlencoded_tuple("client_secret", SECRET)
                .form_urlencoded_tuple("redirect_uri", "https://app.example.com/callback");
            then.status(200).json_body(
                json!({"access_token": "at-1", "refresh_token": "rt-1", "expires_in": 3600,
                                              "token_type": "Bearer", "scope": "read+write"}),
            );
        })
        .await;
    let tokens = app(&server).exchange_code("the-code").await.unwrap();
    mock.assert_async().await;
    assert_eq!(tokens.access_token.expose_secret(), "at-1");
    assert_eq!(
        tokens.refresh_token.as_ref().unwrap().expose_secret(),
        "rt-1"
    );
    assert_eq!(tokens.expires_at, Some(now() + TimeDelta::hours(1)));
    assert_eq!(tokens.scope.as_deref(), Some("read+write"));
    let debug = format!("{tokens:?}");
    assert!(
        !debug.contains("at-1") && !debug.contains("rt-1"),
        "{debug}"
    );
}

#[tokio::test]
async fn an_answer_with_only_an_access_token_is_enough() {
    let server = MockServer::start_async().await;
    token_endpoint(
        &server,
        "authorization_code",
        json!({"access_token": "at-only"}),
        Duration::ZERO,
    )
    .await;
    let tokens = app(&server).exchange_code("c").await.unwrap();
    assert_eq!(tokens.access_token.expose_secret(), "at-only");
    assert!(tokens.refresh_token.is_none() && tokens.expires_at.is_none());
}

#[tokio::test]
async fn oauth_errors_are_classified_without_secrets() {
    let server = MockServer::start_async().await;
    server
        .mock_async(|when, then| {
            when.method(POST).path("/oauth2/access_token");
            then.status(400)
                .json_body(json!({"error": "invalid_grant"}));
        })
        .await;
    let err = app(&server)
        .exchange_code("expired-code")
        .await
        .unwrap_err();
    assert_eq!(
        (err.kind(), err.status().map(|s| s.as_u16())),
        (ErrorKind::Authentication, Some(400))
    );
    assert_eq!(err.error_type(), Some("invalid_grant"));
    let shown = format!("{err} {err:?}");
    assert!(
        !shown.contains(SECRET) && !shown.contains("expired-code"),
        "{shown}"
    );

    let err = OAuthApp::new("id", "zqx\r\nwvy", "https://x.test/cb").unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert!(
        !err.to_string().contains("zqx") && !format!("{err:?}").contains("wvy"),
        "{err}"
    );
}

fn oauth_client(server: &MockServer, tokens: TokenSet, seen: Arc<Mutex<Vec<String>>>) -> Client {
    Client::builder()
        .oauth(app(server), tokens)
        .on_token_refresh(move |t| {
            seen.lock()
                .unwrap()
                .push(t.access_token.expose_secret().to_string())
        })
        .base_url(server.base_url())
        .clock(FixedClock(now()))
        .build()
        .unwrap()
}

/// A token endpoint that answers `at-2`, the API answering only `at-2`, and a client whose
/// token `at-1` expires in 30 s (within the refresh margin).
async fn about_to_expire(
    server: &MockServer,
    seen: Arc<Mutex<Vec<String>>>,
) -> (httpmock::Mock<'_>, httpmock::Mock<'_>, Client) {
    let refresh = token_endpoint(
        server,
        "refresh_token",
        json!({"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}),
        Duration::ZERO,
    )
    .await;
    let api = server
        .mock_async(|when, then| {
            when.path("/public/v1/sms-opt-outs")
                .header("authorization", "Bearer at-2");
            then.status(200).json_body(page());
        })
        .await;
    let tokens = TokenSet::new(
        "at-1",
        Some("rt-1".into()),
        Some(now() + TimeDelta::seconds(30)),
    );
    (refresh, api, oauth_client(server, tokens, seen))
}

#[tokio::test]
async fn a_token_about_to_expire_is_refreshed_before_the_request() {
    let server = MockServer::start_async().await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (refresh, api, client) = about_to_expire(&server, seen.clone()).await;
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert_eq!(
        (refresh.calls_async().await, api.calls_async().await),
        (1, 1)
    );
    assert_eq!(
        *seen.lock().unwrap(),
        ["at-2"],
        "the callback got the new tokens"
    );
    let debug = format!("{client:?}");
    assert!(!debug.contains("at-2") && !debug.contains("rt-"), "{debug}");
}

/// The generated client's own calls go through the transport's `ready` hook: a token about to
/// expire is refreshed before them too.
#[tokio::test]
async fn the_raw_client_refreshes_a_token_about_to_expire_before_its_request() {
    let server = MockServer::start_async().await;
    let (refresh, api, client) = about_to_expire(&server, Arc::default()).await;
    let raw = client.raw();
    let page = raw.list_recent_sms_opt_outs().send().await.unwrap();
    assert_eq!(page.results.len(), 1);
    // A second call finds the token fresh: no second refresh.
    raw.list_recent_sms_opt_outs().send().await.unwrap();
    assert_eq!(
        (refresh.calls_async().await, api.calls_async().await),
        (1, 2)
    );
}

#[tokio::test]
async fn a_401_refreshes_once_and_retries() {
    let server = MockServer::start_async().await;
    let refresh = token_endpoint(
        &server,
        "refresh_token",
        json!({"access_token": "at-new", "expires_in": 3600}),
        Duration::ZERO,
    )
    .await;
    let old = server
        .mock_async(|when, then| {
            when.header("authorization", "Bearer at-old");
            then.status(401)
                .json_body(json!({"type": "authentication_error", "detail": "expired"}));
        })
        .await;
    let new = server
        .mock_async(|when, then| {
            when.header("authorization", "Bearer at-new");
            then.status(200).json_body(page());
        })
        .await;
    let seen = Arc::new(Mutex::new(Vec::new()));
    let client = oauth_client(
        &server,
        TokenSet::new("at-old", Some("rt-1".into()), None),
        seen.clone(),
    );
    client.sms_opt_outs(TimeRange::default()).await.unwrap();
    assert_eq!(
        (
            old.calls_async().await,
            refresh.calls_async().await,
            new.calls_async().await
        ),
        (1, 1, 1)
    );
    assert_eq!(*seen.lock().unwrap(), ["at-new"]);
}

#[tokio::test]
async fn a_401_after_a_refresh_is_returned_not_looped() {
    let server = MockServer::start_async().await;
    let refresh = token_endpoint(
        &server,
        "refresh_token",
        json!({"access_token": "at-new"}),
        Duration::ZERO,
    )
    .await;
    let api = server
        .mock_async(|when, then| {
            when.path("/public/v1/sms-opt-outs");
            then.status(401)
                .json_body(json!({"type": "authentication_error", "detail": "revoked"}));
        })
        .await;
    let client = oauth_client(
        &server,
        TokenSet::new("at-old", Some("rt-1".into()), None),
        Arc::default(),
    );
    let err = client.sms_opt_outs(TimeRange::default()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Authentication);
    assert_eq!(
        (api.calls_async().await, refresh.calls_async().await),
        (2, 1)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_trigger_exactly_one_refresh() {
    let server = MockServer::start_async().await;
    let refresh = token_endpoint(
        &server,
        "refresh_token",
        json!({"access_token": "at-2", "refresh_token": "rt-2", "expires_in": 3600}),
        Duration::from_millis(300),
    )
    .await;
    let api = server
        .mock_async(|when, then| {
            when.header("authorization", "Bearer at-2");
            then.status(200).json_body(page());
        })
        .await;
    let expired = TokenSet::new(
        "at-1",
        Some("rt-1".into()),
        Some(now() - TimeDelta::minutes(5)),
    );
    let client = oauth_client(&server, expired, Arc::default());
    let calls: Vec<_> = (0..8)
        .map(|_| {
            let client = client.clone();
            tokio::spawn(async move { client.sms_opt_outs(TimeRange::default()).await })
        })
        .collect();
    for call in calls {
        call.await.unwrap().unwrap();
    }
    assert_eq!(
        refresh.calls_async().await,
        1,
        "one refresh for eight callers"
    );
    assert_eq!(api.calls_async().await, 8);
}
