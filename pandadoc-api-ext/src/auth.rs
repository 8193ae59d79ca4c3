//! Credentials: the `Authorization` header of each request, and the OAuth2 session that keeps
//! a refreshable token fresh.

use std::fmt;
use std::sync::{Arc, RwLock};

use chrono::TimeDelta;
use reqwest::header::HeaderValue;
use secrecy::ExposeSecret;

use crate::oauth::{OAuthApp, TokenSet};
use crate::validation::{check_secret, header};
use crate::{Error, ErrorKind};

/// Refresh a token this long before it expires.
const EXPIRY_MARGIN: TimeDelta = TimeDelta::seconds(60);

/// Called with the new tokens after every refresh, so they can be stored.
pub type RefreshCallback = Arc<dyn Fn(&TokenSet) + Send + Sync>;

/// How requests are authenticated.
#[derive(Clone)]
pub(crate) enum Auth {
    /// A fixed header: `API-Key <key>` or `Bearer <token>`.
    Fixed {
        scheme: &'static str,
        header: HeaderValue,
    },
    /// A refreshable OAuth2 session.
    OAuth(Arc<OAuthSession>),
}

impl fmt::Debug for Auth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Fixed { scheme, .. } => write!(f, "{scheme} [REDACTED]"),
            Self::OAuth(_) => f.write_str("OAuth2 [REDACTED]"),
        }
    }
}

impl Auth {
    /// The header to send now, and the token generation it belongs to.
    pub(crate) fn current(&self) -> (HeaderValue, u64) {
        match self {
            Self::Fixed { header, .. } => (header.clone(), 0),
            Self::OAuth(session) => session.current(),
        }
    }
}

/// An OAuth2 token that renews itself: before it expires, and once after a 401. One refresh at
/// a time: concurrent callers wait for it and use its result.
pub(crate) struct OAuthSession {
    app: OAuthApp,
    state: RwLock<SessionState>,
    refresh_lock: tokio::sync::Mutex<()>,
    on_refresh: Option<RefreshCallback>,
}

struct SessionState {
    tokens: TokenSet,
    header: HeaderValue,
    generation: u64,
}

impl OAuthSession {
    pub(crate) fn new(
        app: OAuthApp,
        tokens: TokenSet,
        on_refresh: Option<RefreshCallback>,
    ) -> Result<Self, Error> {
        let header = header(
            "Bearer",
            "access token",
            tokens.access_token.expose_secret(),
        )?;
        if let Some(refresh) = &tokens.refresh_token {
            check_secret("refresh token", refresh.expose_secret())?;
        }
        Ok(Self {
            app,
            state: RwLock::new(SessionState {
                tokens,
                header,
                generation: 1,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            on_refresh,
        })
    }

    fn current(&self) -> (HeaderValue, u64) {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        (state.header.clone(), state.generation)
    }

    fn generation(&self) -> u64 {
        self.state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .generation
    }

    /// Whether the token expires within the margin and can be refreshed.
    pub(crate) fn needs_refresh(&self) -> bool {
        let state = self.state.read().unwrap_or_else(|p| p.into_inner());
        state.tokens.refresh_token.is_some()
            && state
                .tokens
                .expires_at
                .is_some_and(|at| at - EXPIRY_MARGIN <= self.app.clock().now())
    }

    /// Refreshes the token if it is about to expire.
    pub(crate) async fn ensure_fresh(&self) -> Result<(), Error> {
        if !self.needs_refresh() {
            return Ok(());
        }
        let _one_at_a_time = self.refresh_lock.lock().await;
        if !self.needs_refresh() {
            return Ok(()); // another caller refreshed while we waited
        }
        self.refresh_now().await
    }

    /// After a 401 with the token of `generation`: refreshes unless another caller already did.
    /// `Ok(false)` when there is no refresh token, so the 401 stands.
    pub(crate) async fn refresh_after_401(&self, generation: u64) -> Result<bool, Error> {
        let _one_at_a_time = self.refresh_lock.lock().await;
        if self.generation() != generation {
            return Ok(true);
        }
        let has_refresh_token = self
            .state
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .tokens
            .refresh_token
            .is_some();
        if !has_refresh_token {
            return Ok(false);
        }
        self.refresh_now().await.map(|()| true)
    }

    async fn refresh_now(&self) -> Result<(), Error> {
        let refresh_token = {
            let state = self.state.read().unwrap_or_else(|p| p.into_inner());
            state
                .tokens
                .refresh_token
                .clone()
                .ok_or_else(|| Error::new(ErrorKind::Authentication, "no refresh token"))?
        };
        tracing::debug!("refreshing the OAuth2 access token");
        let tokens = self.app.refresh(&refresh_token).await?;
        let header = header(
            "Bearer",
            "access token",
            tokens.access_token.expose_secret(),
        )
        .map_err(|e| e.reclassify(ErrorKind::InvalidResponse))?;
        {
            let mut state = self.state.write().unwrap_or_else(|p| p.into_inner());
            state.tokens = tokens.clone();
            state.header = header;
            state.generation += 1;
        }
        if let Some(callback) = &self.on_refresh {
            callback(&tokens);
        }
        Ok(())
    }
}
