//! [`Timestamp`]: every `format: date-time` of the spec, read leniently.

use std::fmt;
use std::ops::Deref;
use std::str::FromStr;

use chrono::{DateTime, NaiveDateTime, SecondsFormat, Utc};
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `date-time` of the spec, in UTC.
///
/// Reading is lenient where it loses nothing: RFC 3339 with any offset, and also a date-time
/// **without an offset**, which is read as UTC (PandaDoc's own examples carry
/// `"2024-07-18T13:11:42.326997"`; a strict client would fail the whole response). A value that
/// is not a date-time at all still fails, and the error quotes it. Written as RFC 3339 in UTC
/// (`2025-01-28T12:00:00Z`), exactly as `chrono` writes a `DateTime<Utc>`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(pub DateTime<Utc>);

impl Timestamp {
    /// The instant as a `chrono` date-time.
    pub fn into_inner(self) -> DateTime<Utc> {
        self.0
    }
}

impl Deref for Timestamp {
    type Target = DateTime<Utc>;
    fn deref(&self) -> &DateTime<Utc> {
        &self.0
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Self(t)
    }
}

impl From<Timestamp> for DateTime<Utc> {
    fn from(t: Timestamp) -> Self {
        t.0
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// The text was not a date-time.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TimestampError(String);

impl fmt::Display for TimestampError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "not a date-time: {:?}", self.0)
    }
}

impl std::error::Error for TimestampError {}

impl FromStr for Timestamp {
    type Err = TimestampError;

    fn from_str(text: &str) -> Result<Self, TimestampError> {
        // An offset can carry year 0000 into year -1 (or 9999 into 10000) in UTC, which RFC
        // 3339 cannot write: not a date-time this type could hand on (found by fuzzing).
        let writable = |t: DateTime<Utc>| (0..=9999).contains(&chrono::Datelike::year(&t));
        if let Ok(t) = DateTime::parse_from_rfc3339(text) {
            let t = t.with_timezone(&Utc);
            if writable(t) {
                return Ok(Self(t));
            }
        }
        // No offset: UTC. `T` or a space between date and time, optional fractions; the shape
        // checked first, as chrono's own parser would also take a signed or short year,
        // one-digit fields and any whitespace (found by fuzzing: `-50-2-1\n16:5:1`).
        if naive_shape(text) {
            for format in ["%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
                if let Ok(naive) = NaiveDateTime::parse_from_str(text, format) {
                    if writable(naive.and_utc()) {
                        return Ok(Self(naive.and_utc()));
                    }
                }
            }
        }
        let shown: String = text.chars().take(64).collect();
        Err(TimestampError(shown))
    }
}

/// `YYYY-MM-DD[T ]HH:MM:SS`, then nothing or `.` and 1 to 9 digits.
fn naive_shape(text: &str) -> bool {
    let b = text.as_bytes();
    let digits = |range: std::ops::Range<usize>| b[range].iter().all(u8::is_ascii_digit);
    b.len() >= 19
        && digits(0..4)
        && b[4] == b'-'
        && digits(5..7)
        && b[7] == b'-'
        && digits(8..10)
        && (b[10] == b'T' || b[10] == b' ')
        && digits(11..13)
        && b[13] == b':'
        && digits(14..16)
        && b[16] == b':'
        && digits(17..19)
        && match &b[19..] {
            [] => true,
            [b'.', fraction @ ..] => {
                (1..=9).contains(&fraction.len()) && fraction.iter().all(u8::is_ascii_digit)
            }
            _ => false,
        }
}

impl Serialize for Timestamp {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Timestamp {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Visitor;
        impl serde::de::Visitor<'_> for Visitor {
            type Value = Timestamp;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a date-time")
            }
            fn visit_str<E: serde::de::Error>(self, text: &str) -> Result<Timestamp, E> {
                text.parse().map_err(E::custom)
            }
        }
        deserializer.deserialize_str(Visitor)
    }
}

#[cfg(feature = "schemars")]
impl schemars::JsonSchema for Timestamp {
    fn schema_name() -> String {
        <DateTime<Utc> as schemars::JsonSchema>::schema_name()
    }
    fn json_schema(generator: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        <DateTime<Utc> as schemars::JsonSchema>::json_schema(generator)
    }
    fn is_referenceable() -> bool {
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Timestamp, serde_json::Error> {
        serde_json::from_str(&format!("{text:?}"))
    }

    #[test]
    fn offsets_are_kept_and_a_missing_offset_is_utc() {
        let utc = parse("2024-07-18T13:11:42.326997Z").unwrap();
        assert_eq!(
            parse("2024-07-18T13:11:42.326997").unwrap(),
            utc,
            "no offset: UTC"
        );
        assert_eq!(parse("2024-07-18 13:11:42.326997").unwrap(), utc);
        assert_eq!(parse("2024-07-18T15:11:42.326997+02:00").unwrap(), utc);
        assert_eq!(
            serde_json::to_string(&parse("2025-01-28T12:00:00+00:00").unwrap()).unwrap(),
            "\"2025-01-28T12:00:00Z\"",
            "written as chrono writes it"
        );
        let err = parse("yesterday").unwrap_err().to_string();
        assert!(err.contains("not a date-time: \"yesterday\""), "{err}");
        assert!(parse("2024-13-45T99:00:00").is_err());
    }

    /// Found by fuzzing (`pandadoc-api-ext/fuzz`, target `timestamp`): chrono's format parser
    /// alone took these, and a year -50 then printed as text that does not read back.
    #[test]
    fn only_the_rfc_3339_shape_is_read_without_an_offset() {
        for bad in [
            "-50-2-1\n16:5:1.112445",
            "\n-23515-2-115:15:5",
            "2024-7-18T13:11:42",
            "2024-07-18T13:11:42.",
            "2024-07-18T13:11:42.1234567890",
            "02024-07-18T13:11:42",
            "2024-07-18\t13:11:42",
            "2024-07-18T13:11:42 ",
            "0000-01-01T00:10:11+10:00",
            "9999-12-31T23:00:00-02:00",
        ] {
            assert!(parse(bad).is_err(), "{bad:?}");
        }
        for good in [
            "0000-12-06T03:59:00",
            "0000-01-01T00:00:00Z",
            "2024-07-18T13:11:42",
            "2024-07-18 13:11:42.5",
            "2024-07-18T13:11:42.123456789",
        ] {
            let t = parse(good).unwrap();
            assert_eq!(t.0.to_rfc3339().parse::<Timestamp>().unwrap(), t);
        }
    }
}
