//! Who may ask: a bearer token from a file, compared in constant time, required of every
//! client where one is configured; none needed on a loopback address.

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;

use axum::extract::{Request, State};
use axum::http::header::{AUTHORIZATION, WWW_AUTHENTICATE};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use subtle::ConstantTimeEq;

use std::sync::Arc;

use super::error::ApiError;
use crate::failure::Failure;

/// The shortest token accepted: shorter ones can be guessed.
const SHORTEST: usize = 16;

/// A bearer token. Its `Debug` does not show it.
pub struct Token(Vec<u8>);

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<redacted>)")
    }
}

impl Token {
    /// Whether an `Authorization` header value carries this token (`Bearer <token>`). The
    /// comparison takes the same time wherever the first difference is (a token's length
    /// may show).
    fn admits(&self, header: &[u8]) -> bool {
        let Some(scheme) = header.get(..7) else {
            return false;
        };
        scheme.eq_ignore_ascii_case(b"bearer ") && bool::from(header[7..].ct_eq(&self.0))
    }
}

/// The token `serve` requires, if any: read from `token_file`; without one, a non-loopback
/// `listen` needs `insecure_no_auth` (exit 2 otherwise, before anything is bound).
pub fn token(
    listen: SocketAddr,
    token_file: Option<&Path>,
    insecure_no_auth: bool,
) -> Result<Option<Arc<Token>>, Failure> {
    if let Some(path) = token_file {
        let text = std::fs::read(path).map_err(|e| {
            Failure::invalid(format!(
                "cannot read the token file {}: {e}",
                path.display()
            ))
        })?;
        let token = text.trim_ascii();
        if token.len() < SHORTEST || token.iter().any(|b| !b.is_ascii_graphic()) {
            return Err(Failure::invalid(format!(
                "the token in {} must be at least {SHORTEST} printable ASCII characters, \
                 without spaces",
                path.display()
            )));
        }
        return Ok(Some(Arc::new(Token(token.to_vec()))));
    }
    if !listen.ip().is_loopback() && !insecure_no_auth {
        return Err(Failure::invalid(format!(
            "--listen {listen} is reachable from other machines: give --token-file PATH (a \
             bearer token clients must send) or --insecure-no-auth"
        )));
    }
    Ok(None)
}

/// The middleware of the routes that need the token (the API and /metrics), where one is
/// configured.
pub async fn require(State(token): State<Arc<Token>>, request: Request, next: Next) -> Response {
    let given = request.headers().get(AUTHORIZATION);
    if !given.is_some_and(|h| token.admits(h.as_bytes())) {
        let mut response = ApiError::unauthorized().into_response();
        response
            .headers_mut()
            .insert(WWW_AUTHENTICATE, "Bearer".parse().expect("a valid header"));
        return response;
    }
    next.run(request).await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_exact_token_is_admitted() {
        let token = Token(b"0123456789abcdef".to_vec());
        assert!(token.admits(b"Bearer 0123456789abcdef"));
        assert!(token.admits(b"bearer 0123456789abcdef"));
        for bad in [
            &b"Bearer 0123456789abcdeF"[..],
            b"Bearer 0123456789abcde",
            b"Bearer 0123456789abcdef0",
            b"Basic 0123456789abcdef",
            b"Bearer",
            b"",
            b"Bearer  0123456789abcdef",
        ] {
            assert!(!token.admits(bad), "{}", String::from_utf8_lossy(bad));
        }
        assert!(!format!("{token:?}").contains("0123"));
    }

    #[test]
    fn a_public_address_needs_a_token_or_an_explicit_no() {
        let public: SocketAddr = "0.0.0.0:8080".parse().unwrap();
        let local: SocketAddr = "[::1]:8080".parse().unwrap();
        assert!(token(public, None, false).is_err());
        assert!(token(public, None, true).unwrap().is_none());
        assert!(token(local, None, false).unwrap().is_none());
        let dir = tempfile::tempdir().unwrap();
        let short = dir.path().join("short");
        std::fs::write(&short, "abc\n").unwrap();
        assert!(token(local, Some(&short), false).is_err());
        let good = dir.path().join("good");
        std::fs::write(&good, "  0123456789abcdef\n").unwrap();
        let t = token(public, Some(&good), false).unwrap().unwrap();
        assert!(t.admits(b"Bearer 0123456789abcdef"));
    }
}
