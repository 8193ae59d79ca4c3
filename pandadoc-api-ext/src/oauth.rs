//! OAuth2 authorization-code flow at PandaDoc's endpoints: the authorize URL, the code
//! exchange and the refresh (`POST /oauth2/access_token`, form-encoded).

use std::fmt;
use std::sync::Arc;

use chrono::{DateTime, TimeDelta, Utc};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use tracing::Instrument;
use url::Url;

use crate::clock::{Clock, SharedClock, SystemClock};
use crate::error::Snippet;
use crate::validation::{check_secret, check_url};
use crate::{Error, ErrorKind};

/// Where PandaDoc sends the user to authorize an application (the spec's `authorizationUrl`).
pub const AUTHORIZE_URL: &str = "https://app.pandadoc.com/oauth2/authorize";
/// Where codes and refresh tokens are exchanged (the spec's `tokenUrl` and `refreshUrl`).
pub const TOKEN_URL: &str = "https://api.pandadoc.com/oauth2/access_token";
/// The scope PandaDoc grants (`read+write` in the authorize URL).
pub const SCOPE: &str = "read write";

/// An OAuth2 application registered with PandaDoc: its id, secret and redirect URI.
#[derive(Clone)]
pub struct OAuthApp {
    client_id: String,
    client_secret: SecretString,
    redirect_uri: Url,
    authorize_url: Url,
    token_url: Url,
    http: reqwest::Client,
    clock: SharedClock,
}

impl fmt::Debug for OAuthApp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OAuthApp")
            .field("client_id", &self.client_id)
            .field("client_secret", &"[REDACTED]")
            .field("redirect_uri", &self.redirect_uri.as_str())
            .field("token_url", &self.token_url.as_str())
            .finish()
    }
}

impl OAuthApp {
    /// An application with PandaDoc's production endpoints. Empty values, or a secret with
    /// whitespace or control characters, are [`ErrorKind::InvalidInput`].
    pub fn new(
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
        redirect_uri: &str,
    ) -> Result<Self, Error> {
        let client_id = client_id.into();
        check_secret("OAuth client id", &client_id)?;
        let client_secret = client_secret.into();
        check_secret("OAuth client secret", &client_secret)?;
        let redirect_uri = Url::parse(redirect_uri)
            .map_err(|e| Error::invalid_input(format!("redirect URI {redirect_uri:?}: {e}")))?;
        let http = reqwest::Client::builder()
            .user_agent(crate::USER_AGENT)
            .connect_timeout(std::time::Duration::from_secs(10))
            .timeout(std::time::Duration::from_secs(30))
            .build()
            .map_err(Error::from_reqwest)?;
        Ok(Self {
            client_id,
            client_secret: client_secret.into(),
            redirect_uri,
            authorize_url: Url::parse(AUTHORIZE_URL).expect("a valid constant"),
            token_url: Url::parse(TOKEN_URL).expect("a valid constant"),
            http,
            clock: Arc::new(SystemClock),
        })
    }

    /// Uses another token endpoint (a local mock, say). Plain `http` only on loopback.
    pub fn with_token_url(mut self, url: &str) -> Result<Self, Error> {
        self.token_url = check_url(url)?;
        Ok(self)
    }

    /// Uses another authorize endpoint.
    pub fn with_authorize_url(mut self, url: &str) -> Result<Self, Error> {
        self.authorize_url = check_url(url)?;
        Ok(self)
    }

    /// Uses another clock to compute token expiry.
    pub fn with_clock(mut self, clock: impl Clock) -> Self {
        self.clock = Arc::new(clock);
        self
    }

    pub(crate) fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// The URL to send the user to: `client_id`, `redirect_uri`, `scope=read+write`,
    /// `response_type=code` and your `state` (check it when the user comes back).
    pub fn authorize_url(&self, state: &str) -> Url {
        let mut url = self.authorize_url.clone();
        url.query_pairs_mut()
            .append_pair("client_id", &self.client_id)
            .append_pair("redirect_uri", self.redirect_uri.as_str())
            .append_pair("scope", SCOPE)
            .append_pair("response_type", "code")
            .append_pair("state", state);
        url
    }

    /// Exchanges the `code` the user came back with for tokens.
    pub async fn exchange_code(&self, code: &str) -> Result<TokenSet, Error> {
        check_secret("authorization code", code)?;
        self.token_request(&[("grant_type", "authorization_code"), ("code", code)])
            .await
    }

    /// Gets new tokens with a refresh token. When the answer has no new refresh token, the one
    /// given is kept in the result.
    pub async fn refresh(&self, refresh_token: &SecretString) -> Result<TokenSet, Error> {
        let token = refresh_token.expose_secret();
        check_secret("refresh token", token)?;
        let mut tokens = self
            .token_request(&[("grant_type", "refresh_token"), ("refresh_token", token)])
            .await?;
        if tokens.refresh_token.is_none() {
            tokens.refresh_token = Some(refresh_token.clone());
        }
        Ok(tokens)
    }

    async fn token_request(&self, grant: &[(&str, &str)]) -> Result<TokenSet, Error> {
        let mut form: Vec<(&str, &str)> = grant.to_vec();
        form.push(("client_id", &self.client_id));
        form.push(("client_secret", self.client_secret.expose_secret()));
        if grant[0].1 == "authorization_code" {
            form.push(("redirect_uri", self.redirect_uri.as_str()));
        }
        let span = tracing::info_span!(
            "pandadoc.oauth",
            grant_type = grant[0].1,
            status = tracing::field::Empty
        );
        // `instrument`, not a guard held across the awaits: concurrent token requests each stay
        // in their own span.
        let (status, headers, body) = async {
            let response = self
                .http
                .post(self.token_url.clone())
                .header(reqwest::header::ACCEPT, "application/json")
                .form(&form)
                .send()
                .await
                .map_err(Error::from_reqwest)?;
            let status = response.status();
            tracing::Span::current().record("status", status.as_u16());
            let headers = response.headers().clone();
            let body = response.bytes().await.map_err(Error::from_reqwest)?;
            Ok::<_, Error>((status, headers, body))
        }
        .instrument(span)
        .await?;
        if !status.is_success() {
            // An OAuth error body ({"error": "invalid_grant"}) carries no secret, but a body
            // we cannot read might: keep no snippet of the token endpoint's answers.
            let mut err = Error::from_response(status, &headers, &body, Snippet::Omit);
            if status.as_u16() == 400 && err.error_type().is_some_and(|t| t.starts_with("invalid_"))
            {
                err = err.reclassify(ErrorKind::Authentication);
            }
            return Err(err);
        }
        let answer: TokenAnswer = serde_json::from_slice(&body).map_err(|e| {
            Error::from_response(status, &headers, b"", Snippet::Omit).with_message(format!(
                "the token endpoint's answer is not the documented JSON: {e}"
            ))
        })?;
        let Some(access_token) = answer.access_token.filter(|t| !t.is_empty()) else {
            return Err(Error::from_response(status, &headers, b"", Snippet::Omit)
                .with_message("the token endpoint's answer has no access_token"));
        };
        check_secret("access token", &access_token)
            .map_err(|e| e.reclassify(ErrorKind::InvalidResponse))?;
        let expires_at = answer
            .expires_in
            .as_ref()
            .and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_str().and_then(|s| s.parse().ok()))
            })
            .map(|secs| self.clock.now() + TimeDelta::seconds(secs));
        Ok(TokenSet {
            access_token: access_token.into(),
            refresh_token: answer
                .refresh_token
                .filter(|t| !t.is_empty())
                .map(Into::into),
            expires_at,
            token_type: answer.token_type,
            scope: answer.scope,
        })
    }
}

#[derive(Deserialize)]
struct TokenAnswer {
    access_token: Option<String>,
    refresh_token: Option<String>,
    expires_in: Option<serde_json::Value>,
    token_type: Option<String>,
    scope: Option<String>,
}

/// An access token and what comes with it. Store it (e.g. from the refresh callback) to resume
/// without asking the user again. `Debug` shows no token.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct TokenSet {
    /// The bearer token.
    pub access_token: SecretString,
    /// The token that gets a new access token.
    pub refresh_token: Option<SecretString>,
    /// When the access token expires (`expires_in` from the time it was received).
    pub expires_at: Option<DateTime<Utc>>,
    /// `token_type`, usually `Bearer`.
    pub token_type: Option<String>,
    /// Granted scope.
    pub scope: Option<String>,
}

impl TokenSet {
    /// Tokens you already have.
    pub fn new(
        access_token: impl Into<String>,
        refresh_token: Option<String>,
        expires_at: Option<DateTime<Utc>>,
    ) -> Self {
        Self {
            access_token: access_token.into().into(),
            refresh_token: refresh_token.map(Into::into),
            expires_at,
            token_type: Some("Bearer".into()),
            scope: None,
        }
    }
}
