//! The parsers of the command line's values. Self-contained (chrono and humantime only), so
//! that the fuzz crate runs them as they are (`pandadoc-api-ext/fuzz`, target `values`).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A span like `90s`, `15m`, `24h`, `30d`.
pub fn span(text: &str) -> Result<TimeDelta, String> {
    let d = humantime::parse_duration(text)
        .map_err(|e| format!("{text:?} is not a span like 90s, 15m, 24h or 30d ({e})"))?;
    TimeDelta::from_std(d).map_err(|_| format!("{text:?} is too long"))
}

/// A positive span, as a `Duration`.
pub fn std_span(text: &str) -> Result<Duration, String> {
    let d = span(text)?;
    if d <= TimeDelta::zero() {
        return Err("must be positive".into());
    }
    d.to_std().map_err(|e| e.to_string())
}

/// An RFC 3339 time, in the years 0000 to 9999 once in UTC (what RFC 3339 can write back:
/// `0000-01-01T00:00:00+10:00` is in year -1; found by fuzzing).
pub fn time(text: &str) -> Result<DateTime<Utc>, String> {
    let t = DateTime::parse_from_rfc3339(text)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|e| format!("{text:?} is not an RFC 3339 time like 2025-01-28T12:00:00Z ({e})"))?;
    if (0..=9999).contains(&chrono::Datelike::year(&t)) {
        Ok(t)
    } else {
        Err(format!("{text:?} is outside the years 0000 to 9999 in UTC"))
    }
}

/// Requests a minute: `10` or `10/min`, at least 1.
pub fn rate(text: &str) -> Result<u32, String> {
    text.trim_end_matches("/min")
        .parse()
        .ok()
        .filter(|n| *n > 0)
        .ok_or_else(|| format!("{text:?}: expected requests per minute, like 10/min"))
}
