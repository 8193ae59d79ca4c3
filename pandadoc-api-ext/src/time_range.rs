//! Time ranges for polling, resolved against a [`Clock`](crate::Clock).

use std::fmt;

use chrono::{DateTime, TimeDelta, Timelike, Utc};

use crate::Error;

/// Which changes to ask for. The default is the last hour ending now, the server's own default;
/// the client always sends both ends explicitly.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TimeRange {
    /// The hour ending now.
    #[default]
    LastHour,
    /// The given span ending now.
    Last(TimeDelta),
    /// From the given time until now.
    Since(DateTime<Utc>),
    /// From `from` (inclusive) to `to`.
    Between(DateTime<Utc>, DateTime<Utc>),
}

impl TimeRange {
    /// The `span` ending now.
    pub fn last(span: TimeDelta) -> Self {
        Self::Last(span)
    }

    /// From `from` until now.
    pub fn since(from: DateTime<Utc>) -> Self {
        Self::Since(from)
    }

    /// From `from` to `to`.
    pub fn between(from: DateTime<Utc>, to: DateTime<Utc>) -> Self {
        Self::Between(from, to)
    }

    /// The window this range means at `now`. The ends are widened to whole seconds (`from`
    /// down, `to` up), so a window is never narrower than asked and consecutive polls overlap
    /// rather than leave gaps. `from >= to` is [`ErrorKind::InvalidInput`](crate::ErrorKind).
    pub fn resolve(self, now: DateTime<Utc>) -> Result<Window, Error> {
        self.resolve_with(|| now)
    }

    /// [`resolve`](Self::resolve), asking the clock only when the range ends now.
    pub(crate) fn resolve_with(self, now: impl FnOnce() -> DateTime<Utc>) -> Result<Window, Error> {
        let (from, to) = match self {
            Self::Between(from, to) => (from, to),
            Self::LastHour => return Self::Last(TimeDelta::hours(1)).resolve_with(now),
            Self::Last(span) => {
                let now = now();
                if span <= TimeDelta::zero() {
                    return Err(Error::invalid_input(format!(
                        "time range: the span must be positive, got {span}"
                    )));
                }
                let from = now.checked_sub_signed(span).ok_or_else(|| {
                    Error::invalid_input(format!("time range: the span {span} is too long"))
                })?;
                (from, now)
            }
            Self::Since(from) => (from, now()),
        };
        // Whole seconds: `from` down, `to` up (a leap second's nanoseconds, 1e9 and more, count
        // as a fraction too).
        let from = from.with_nanosecond(0).unwrap_or(from);
        let to = match to.with_nanosecond(0) {
            Some(t) if t != to => t.checked_add_signed(TimeDelta::seconds(1)).unwrap_or(to),
            _ => to,
        };
        if from >= to {
            return Err(Error::invalid_input(format!(
                "time range: `from` ({}) must be before `to` ({})",
                from.to_rfc3339(),
                to.to_rfc3339()
            )));
        }
        Ok(Window { from, to })
    }
}

/// The window a request covered: both ends sent explicitly, in UTC.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Window {
    /// Start (`timestamp_from`).
    pub from: DateTime<Utc>,
    /// End (`timestamp_to`).
    pub to: DateTime<Utc>,
}

impl fmt::Display for Window {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use chrono::SecondsFormat::Secs;
        write!(
            f,
            "{}..{}",
            self.from.to_rfc3339_opts(Secs, true),
            self.to.to_rfc3339_opts(Secs, true)
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ErrorKind;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    #[test]
    fn default_is_the_last_hour() {
        let w = TimeRange::default()
            .resolve(at("2025-01-28T12:00:00Z"))
            .unwrap();
        assert_eq!(
            (w.from, w.to),
            (at("2025-01-28T11:00:00Z"), at("2025-01-28T12:00:00Z"))
        );
    }

    #[test]
    fn last_since_between() {
        let now = at("2025-01-28T12:00:00Z");
        let w = TimeRange::last(TimeDelta::hours(24)).resolve(now).unwrap();
        assert_eq!(w.from, at("2025-01-27T12:00:00Z"));
        let w = TimeRange::since(at("2025-01-28T10:00:00Z"))
            .resolve(now)
            .unwrap();
        assert_eq!((w.from, w.to), (at("2025-01-28T10:00:00Z"), now));
        let w = TimeRange::between(at("2025-01-01T00:00:00Z"), at("2025-01-02T00:00:00Z"))
            .resolve(now)
            .unwrap();
        assert_eq!(w.to, at("2025-01-02T00:00:00Z"));
        assert_eq!(w.to_string(), "2025-01-01T00:00:00Z..2025-01-02T00:00:00Z");
    }

    #[test]
    fn windows_widen_to_whole_seconds() {
        let w = TimeRange::between(
            at("2025-01-28T10:00:00.700Z"),
            at("2025-01-28T10:00:05.200Z"),
        )
        .resolve(at("2030-01-01T00:00:00Z"))
        .unwrap();
        assert_eq!(
            (w.from, w.to),
            (at("2025-01-28T10:00:00Z"), at("2025-01-28T10:00:06Z"))
        );
    }

    #[test]
    fn explicit_windows_do_not_ask_the_clock_and_the_ends_of_time_do_not_panic() {
        let (from, to) = (at("2025-01-28T10:00:00Z"), at("2025-01-28T11:00:00Z"));
        let w = TimeRange::between(from, to)
            .resolve_with(|| unreachable!("an explicit window needs no clock"))
            .unwrap();
        assert_eq!((w.from, w.to), (from, to));

        let last = DateTime::<Utc>::MAX_UTC;
        let w = TimeRange::between(last - TimeDelta::hours(1), last)
            .resolve(last)
            .unwrap();
        assert_eq!(w.to, last, "cannot widen past the last instant");
        let first = DateTime::<Utc>::MIN_UTC;
        assert_eq!(
            TimeRange::default().resolve(first).unwrap_err().kind(),
            ErrorKind::InvalidInput
        );
    }

    #[test]
    fn empty_or_reversed_ranges_are_invalid_input() {
        let now = at("2025-01-28T12:00:00Z");
        for range in [
            TimeRange::between(now, now),
            TimeRange::between(now, now - TimeDelta::seconds(5)),
            TimeRange::since(now + TimeDelta::hours(1)),
            TimeRange::last(TimeDelta::zero()),
            TimeRange::last(TimeDelta::hours(-1)),
        ] {
            assert_eq!(
                range.resolve(now).unwrap_err().kind(),
                ErrorKind::InvalidInput,
                "{range:?}"
            );
        }
    }
}
