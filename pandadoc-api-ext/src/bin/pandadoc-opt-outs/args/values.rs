//! The parsers of the command line's values. Self-contained (chrono only), so
//! that the fuzz crate runs them as they are (`pandadoc-api-ext/fuzz`, target `values`).

use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A span like `90s`, `15m`, `24h`, `30d` or `1h30m`: whole numbers, each with its unit (`ms`,
/// `s`, `m`, `h`, `d`, `w` or their long forms), summed with checked arithmetic. Its own parser:
/// humantime's panics on some overflowing inputs (found by fuzzing:
/// `18446744073709551615.8s0.2s...`, a `Duration::new` overflow in humantime 2.4).
pub fn span(text: &str) -> Result<TimeDelta, String> {
    let bad = |why: &str| format!("{text:?} is not a span like 90s, 15m, 24h or 30d ({why})");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(bad("it is empty"));
    }
    let mut total = TimeDelta::zero();
    while !rest.is_empty() {
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err(bad("a number is missing"));
        }
        let n: i64 = rest[..digits].parse().map_err(|_| bad("too long"))?;
        rest = rest[digits..].trim_start();
        let letters = rest.bytes().take_while(u8::is_ascii_alphabetic).count();
        let (unit, after) = rest.split_at(letters);
        rest = after.trim_start();
        let millis: i64 = match unit {
            "ms" | "msec" | "millis" | "millisecond" | "milliseconds" => 1,
            "s" | "sec" | "secs" | "second" | "seconds" => 1_000,
            "m" | "min" | "mins" | "minute" | "minutes" => 60_000,
            "h" | "hr" | "hrs" | "hour" | "hours" => 3_600_000,
            "d" | "day" | "days" => 86_400_000,
            "w" | "week" | "weeks" => 604_800_000,
            "" => return Err(bad("a number has no unit")),
            _ => {
                return Err(bad(&format!(
                    "unknown unit {unit:?}; use ms, s, m, h, d or w"
                )));
            }
        };
        total = n
            .checked_mul(millis)
            .and_then(TimeDelta::try_milliseconds)
            .and_then(|part| total.checked_add(&part))
            .ok_or_else(|| bad("too long"))?;
    }
    Ok(total)
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
