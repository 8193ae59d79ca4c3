//! The client: construction, and the loop every request goes through (auth refresh, error
//! classification, retries, tracing).

use std::cell::RefCell;
use std::fmt;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

pub use progenitor_client::ResponseValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use tracing::Instrument;

use crate::auth::{Auth, OAuthSession, RefreshCallback};
use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::classify;
use crate::oauth::{OAuthApp, TokenSet};
use crate::transport::{AuthTransport, EXCHANGE};
use crate::validation;
use crate::{Error, ErrorKind, RetryPolicy};

/// PandaDoc's production API.
pub const DEFAULT_BASE_URL: &str = "https://api.pandadoc.com";

/// A PandaDoc API client: authenticated, with classified errors and retries.
/// Cheap to clone; clones share the connection pool and the OAuth2 session.
#[derive(Clone)]
pub struct Client {
    raw: pandadoc_api::Client,
    auth: Auth,
    retry: RetryPolicy,
    // Read by the SMS opt-out layer, which resolves time ranges against it.
    #[cfg_attr(not(feature = "sms-opt-outs"), allow(dead_code))]
    clock: SharedClock,
}

impl fmt::Debug for Client {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use progenitor_client::ClientInfo;
        f.debug_struct("Client")
            .field("base_url", &self.raw.baseurl())
            .field("auth", &self.auth)
            .field("retry", &self.retry)
            .finish()
    }
}

enum Credentials {
    ApiKey(SecretString),
    AccessToken(SecretString),
    OAuth(Box<(OAuthApp, TokenSet)>),
}

/// Builds a [`Client`]. Nothing is checked until [`ClientBuilder::build`], which reports bad
/// input as [`ErrorKind::InvalidInput`] before any request is sent.
pub struct ClientBuilder {
    credentials: Option<Credentials>,
    on_refresh: Option<RefreshCallback>,
    base_url: String,
    connect_timeout: Duration,
    timeout: Duration,
    retry: RetryPolicy,
    clock: SharedClock,
}

impl fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .finish_non_exhaustive()
    }
}

impl Default for ClientBuilder {
    fn default() -> Self {
        Self {
            credentials: None,
            on_refresh: None,
            base_url: DEFAULT_BASE_URL.into(),
            connect_timeout: Duration::from_secs(10),
            timeout: Duration::from_secs(30),
            retry: RetryPolicy::default(),
            clock: Arc::new(SystemClock),
        }
    }
}

impl ClientBuilder {
    /// Authenticates with an API key: `Authorization: API-Key <key>`.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::ApiKey(key.into().into()));
        self
    }

    /// Authenticates with an OAuth2 access token that is not refreshed:
    /// `Authorization: Bearer <token>`.
    pub fn access_token(mut self, token: impl Into<String>) -> Self {
        self.credentials = Some(Credentials::AccessToken(token.into().into()));
        self
    }

    /// Authenticates with OAuth2 tokens that `app` refreshes: before they expire, and once after
    /// a 401.
    pub fn oauth(mut self, app: OAuthApp, tokens: TokenSet) -> Self {
        self.credentials = Some(Credentials::OAuth(Box::new((app, tokens))));
        self
    }

    /// Called with the new tokens after each refresh, to store them.
    pub fn on_token_refresh(
        mut self,
        callback: impl Fn(&TokenSet) + Send + Sync + 'static,
    ) -> Self {
        self.on_refresh = Some(Arc::new(callback));
        self
    }

    /// The API's base URL (default [`DEFAULT_BASE_URL`]). Plain `http` is refused except on
    /// loopback (tests, local mocks).
    pub fn base_url(mut self, url: impl Into<String>) -> Self {
        self.base_url = url.into();
        self
    }

    /// Time allowed to connect (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Time allowed for one attempt, from sending to the end of the body (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// The retry policy (default [`RetryPolicy::default`]).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// The clock time ranges are resolved against (default: the system clock).
    pub fn clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    /// Checks everything and builds the client.
    pub fn build(self) -> Result<Client, Error> {
        let base = validation::check_url(&self.base_url)?;
        let auth = match self.credentials {
            None => {
                return Err(Error::invalid_input(
                    "no credentials: set an API key, an access token or OAuth2 tokens",
                ));
            }
            Some(Credentials::ApiKey(key)) => Auth::Fixed {
                scheme: "API-Key",
                header: validation::header("API-Key", "API key", key.expose_secret())?,
            },
            Some(Credentials::AccessToken(token)) => Auth::Fixed {
                scheme: "Bearer",
                header: validation::header("Bearer", "access token", token.expose_secret())?,
            },
            Some(Credentials::OAuth(oauth)) => {
                let (app, tokens) = *oauth;
                Auth::OAuth(Arc::new(OAuthSession::new(app, tokens, self.on_refresh)?))
            }
        };
        if self.timeout.is_zero() || self.connect_timeout.is_zero() {
            return Err(Error::invalid_input("timeouts must be positive"));
        }
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .connect_timeout(self.connect_timeout)
            .timeout(self.timeout)
            .build()
            .map_err(Error::from_reqwest)?;
        let transport = Arc::new(AuthTransport { auth: auth.clone() });
        let raw = pandadoc_api::Client::new_with_client(
            base.as_str().trim_end_matches('/'),
            http,
            pandadoc_api::Hooks::new(transport),
        );
        Ok(Client {
            raw,
            auth,
            retry: self.retry,
            clock: self.clock,
        })
    }
}

impl Client {
    /// A builder with the defaults: production URL, 10 s connect and 30 s request timeouts,
    /// retries on.
    pub fn builder() -> ClientBuilder {
        ClientBuilder::default()
    }

    /// A client from the environment: `PANDADOC_API_KEY` or `PANDADOC_ACCESS_TOKEN` (one of
    /// them), and `PANDADOC_BASE_URL` if set.
    pub fn from_env() -> Result<Self, Error> {
        let var = |name: &str| std::env::var(name).ok();
        let mut builder = Self::builder();
        builder = match (var("PANDADOC_API_KEY"), var("PANDADOC_ACCESS_TOKEN")) {
            (Some(key), None) => builder.api_key(key),
            (None, Some(token)) => builder.access_token(token),
            (Some(_), Some(_)) => {
                return Err(Error::invalid_input(
                    "both PANDADOC_API_KEY and PANDADOC_ACCESS_TOKEN are set: set one",
                ));
            }
            (None, None) => {
                return Err(Error::invalid_input(
                    "set PANDADOC_API_KEY or PANDADOC_ACCESS_TOKEN",
                ));
            }
        };
        if let Some(url) = var("PANDADOC_BASE_URL") {
            builder = builder.base_url(url);
        }
        builder.build()
    }

    /// The generated client, authenticated, for every operation of the spec. Its calls get
    /// credentials (and OAuth2 refresh before expiry) but not the retries and error
    /// classification of this crate's own methods.
    pub fn raw(&self) -> &pandadoc_api::Client {
        &self.raw
    }

    #[cfg(feature = "sms-opt-outs")]
    pub(crate) fn now(&self) -> chrono::DateTime<chrono::Utc> {
        self.clock.now()
    }

    /// Runs any operation of the generated client with this crate's guarantees: OAuth2 refresh,
    /// classified [`Error`]s, retries (only when the operation is idempotent: GET, PUT,
    /// DELETE…) and a tracing span per attempt. `operation` is the spec's word on it (from
    /// [`pandadoc_api::operations`]); `attempt` builds and sends the request, once per attempt.
    ///
    /// ```no_run
    /// use pandadoc_api_ext::pandadoc_api::operations;
    ///
    /// # async fn demo(client: pandadoc_api_ext::Client) -> Result<(), pandadoc_api_ext::Error> {
    /// let page = client
    ///     .call(&operations::LIST_RECENT_SMS_OPT_OUTS, || {
    ///         client.raw().list_recent_sms_opt_outs().send()
    ///     })
    ///     .await?
    ///     .into_inner();
    /// # Ok(()) }
    /// ```
    pub async fn call<T, E, F, Fut>(
        &self,
        operation: &pandadoc_api::Operation,
        mut attempt: F,
    ) -> Result<ResponseValue<T>, Error>
    where
        E: Serialize,
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<ResponseValue<T>, pandadoc_api::Error<E>>>,
    {
        let started = Instant::now();
        let mut refreshed_after_401 = false;
        let mut number = 1;
        loop {
            if let Auth::OAuth(session) = &self.auth {
                session.ensure_fresh().await?;
            }
            let span = tracing::info_span!(
                "pandadoc.request",
                operation = operation.id,
                attempt = number,
                status = tracing::field::Empty,
                latency_ms = tracing::field::Empty,
            );
            let mut exchanged = std::pin::pin!(
                EXCHANGE
                    .scope(RefCell::default(), attempt())
                    .instrument(span)
            );
            let (error, auth_generation) = match exchanged.as_mut().await {
                Ok(value) => {
                    crate::metrics::request(operation.id, "success");
                    record_attempts(number);
                    return Ok(value);
                }
                Err(e) => {
                    let exchange = exchanged
                        .as_mut()
                        .inner_pin_mut()
                        .take_value()
                        .map(RefCell::into_inner)
                        .unwrap_or_default();
                    let error = classify(e, &exchange).await;
                    crate::metrics::request(operation.id, error.kind().as_str());
                    (error, exchange.auth_generation)
                }
            };
            if let (ErrorKind::Authentication, Auth::OAuth(session)) = (error.kind(), &self.auth)
                && !refreshed_after_401
            {
                refreshed_after_401 = true;
                if session.refresh_after_401(auth_generation).await? {
                    continue;
                }
            }
            let policy = if operation.idempotent {
                &self.retry
            } else {
                &RetryPolicy::disabled()
            };
            match policy.delay(number, started.elapsed(), &error) {
                Some(delay) => {
                    tracing::warn!(
                        operation = operation.id,
                        attempt = number,
                        delay_ms = delay.as_millis() as u64,
                        kind = error.kind().as_str(),
                        status = error.status().map(|s| s.as_u16()),
                        "retrying",
                    );
                    tokio::time::sleep(delay).await;
                    number += 1;
                }
                None => {
                    record_attempts(number);
                    return Err(error);
                }
            }
        }
    }
}

/// Records the attempts a call took on the caller's span, if it has an `attempts` field (the
/// sync's window span does); a no-op otherwise.
fn record_attempts(attempts: u32) {
    let span = tracing::Span::current();
    if !span.is_disabled() {
        span.record("attempts", attempts);
    }
}
