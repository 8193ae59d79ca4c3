//! Checks on what a caller gives the client before anything is sent: credentials and URLs.
//! Every failure is an `invalid_input` [`Error`] that never shows a secret.

use reqwest::header::HeaderValue;
use url::Url;

use crate::Error;

/// Checks a credential before it goes into a header: not empty, printable ASCII, no whitespace
/// or control characters (CR/LF would split the header). The message never shows the value.
pub(crate) fn check_secret(what: &str, value: &str) -> Result<(), Error> {
    if value.is_empty() {
        return Err(Error::invalid_input(format!("{what} is empty")));
    }
    if let Some(c) = value.chars().find(|c| !c.is_ascii_graphic()) {
        let class = if c.is_control() {
            "control characters"
        } else if c.is_whitespace() {
            "whitespace"
        } else {
            "non-ASCII characters"
        };
        return Err(Error::invalid_input(format!("{what} contains {class}")));
    }
    Ok(())
}

/// `scheme secret` as a header value marked sensitive (hidden from `Debug` and HTTP/2 HPACK
/// indexing).
pub(crate) fn header(scheme: &str, what: &str, secret: &str) -> Result<HeaderValue, Error> {
    check_secret(what, secret)?;
    let mut value = HeaderValue::from_str(&format!("{scheme} {secret}"))
        .map_err(|_| Error::invalid_input(format!("{what} is not a valid header value")))?;
    value.set_sensitive(true);
    Ok(value)
}

/// Parses a base or endpoint URL: `https`, or `http` on loopback only; no query or fragment.
pub(crate) fn check_url(input: &str) -> Result<Url, Error> {
    let url = Url::parse(input).map_err(|e| Error::invalid_input(format!("URL {input:?}: {e}")))?;
    let loopback = match url.host() {
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        None => false,
    };
    match url.scheme() {
        "https" => {}
        "http" if loopback => {}
        "http" => {
            return Err(Error::invalid_input(format!(
                "URL {input:?}: plain http is refused except on loopback"
            )));
        }
        other => {
            return Err(Error::invalid_input(format!(
                "URL {input:?}: unsupported scheme {other:?}"
            )));
        }
    }
    if url.host().is_none()
        || url.query().is_some()
        || url.fragment().is_some()
        || !url.username().is_empty()
        || url.password().is_some()
    {
        return Err(Error::invalid_input(format!(
            "URL {input:?}: expected scheme://host[:port][/path], without credentials, query or fragment"
        )));
    }
    Ok(url)
}
