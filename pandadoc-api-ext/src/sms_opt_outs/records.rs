//! A page the generated types refuse, read again record by record, so that one record the
//! client cannot read never stops the others.
//!
//! The generated client decodes a page whole: one record with a field of the wrong type (a
//! number where the phone number's text belongs, a time that does not parse) fails the page,
//! and a sync that cannot read a window cannot move past it. When that happens to a success
//! answer, [`changes`] reads the same body again, each record on its own, with the same rules
//! as the generated types for the three fields the client uses (text, open status text, a
//! lenient [`Timestamp`]); any other field is not looked at. A record that still cannot be read
//! whole keeps what could be read, the record as received and what is wrong with it
//! ([`Unreadable`]); the ledger sets it aside and holds its number.

use std::fmt;

use pandadoc_api::Timestamp;
use serde::Deserialize;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::Value;
use serde_json::value::RawValue;

use super::{SmsOptOutChange, SmsOptOutStatus, Unreadable};

/// At most this many bytes of each problem go into a reason (the record itself is kept whole).
const PROBLEM_LIMIT: usize = 200;

/// The records of a page body, each read on its own; `None` when the body is not an object with
/// a `results` array, which leaves the page unreadable.
pub(crate) fn changes(body: &[u8]) -> Option<Vec<SmsOptOutChange>> {
    #[derive(Deserialize)]
    struct Page<'a> {
        #[serde(borrow)]
        results: Vec<&'a RawValue>,
    }
    let page: Page<'_> = serde_json::from_slice(body).ok()?;
    Some(page.results.iter().map(|raw| change(raw.get())).collect())
}

/// One record (valid JSON: it came out of a parsed page).
fn change(record: &str) -> SmsOptOutChange {
    let mut change = SmsOptOutChange {
        phone_number: None,
        status: None,
        opt_out_changed: None,
        unreadable: None,
    };
    let mut problems = Vec::new();
    let fields = match serde_json::from_str::<Fields>(record) {
        Ok(Fields(fields)) => fields,
        Err(_) => {
            problems.push("not an object".to_string());
            Vec::new()
        }
    };
    let mut seen = [false; 3];
    for (name, value) in &fields {
        let slot = match name.as_str() {
            "phone_number" => 0,
            "status" => 1,
            "opt_out_changed" => 2,
            _ => continue,
        };
        if std::mem::replace(&mut seen[slot], true) {
            problems.push(format!("{name} appears more than once"));
            continue;
        }
        let read = match slot {
            0 => Option::<String>::deserialize(value).map(|v| change.phone_number = v),
            1 => Option::<String>::deserialize(value)
                .map(|v| change.status = v.as_deref().map(SmsOptOutStatus::from)),
            _ => Option::<Timestamp>::deserialize(value)
                .map(|v| change.opt_out_changed = v.map(Timestamp::into_inner)),
        };
        if let Err(e) = read {
            problems.push(bounded(format!("{name}: {e}")));
        }
    }
    if !problems.is_empty() {
        let reason = problems.join("; ");
        tracing::warn!(
            record,
            reason,
            "an SMS opt-out record the client cannot read whole"
        );
        change.unreadable = Some(Box::new(Unreadable {
            record: record.to_string(),
            reason,
        }));
    }
    change
}

/// A problem cut to [`PROBLEM_LIMIT`] bytes at a character boundary.
fn bounded(problem: String) -> String {
    crate::error::cut(problem.as_bytes(), PROBLEM_LIMIT)
}

/// An object's fields in order, repeats included (a map would keep one of them silently).
struct Fields(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Fields {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        struct Ordered;
        impl<'de> Visitor<'de> for Ordered {
            type Value = Fields;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("an object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Fields, A::Error> {
                let mut fields = Vec::new();
                while let Some(field) = map.next_entry()? {
                    fields.push(field);
                }
                Ok(Fields(fields))
            }
        }
        deserializer.deserialize_map(Ordered)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(body: &str) -> Vec<SmsOptOutChange> {
        changes(body.as_bytes()).expect("a page")
    }

    #[test]
    fn well_formed_records_read_as_the_generated_types_read_them() {
        let page = read(
            r#"{"results": [
                {"phone_number": "+15550100", "status": "opt-out", "opt_out_changed": "2025-01-28T12:00:00"},
                {"phone_number": null, "status": "paused", "extra": [1, 2]},
                {}
            ]}"#,
        );
        assert_eq!(page.len(), 3);
        assert_eq!(page[0].phone_number.as_deref(), Some("+15550100"));
        assert_eq!(page[0].status, Some(SmsOptOutStatus::OptOut));
        assert_eq!(
            page[0].opt_out_changed.map(|t| t.to_rfc3339()),
            Some("2025-01-28T12:00:00+00:00".into())
        );
        assert_eq!(
            page[1].status,
            Some(SmsOptOutStatus::Unknown("paused".into()))
        );
        assert!(page.iter().all(|c| c.unreadable.is_none()), "{page:?}");
        assert_eq!(page[2].phone_number, None);
    }

    #[test]
    fn a_record_that_cannot_be_read_whole_keeps_what_can_be_read_and_says_why() {
        let body = r#"{"results": [
            {"phone_number": "+15550101", "status": "opt-out", "opt_out_changed": "yesterday"},
            {"phone_number": 15550102, "status": "opt-in", "opt_out_changed": "2025-01-28T12:00:00Z"},
            "+15550103",
            {"phone_number": "+15550104", "status": "opt-in", "status": "opt-out"},
            {"phone_number": "+15550105", "status": "opt-in", "opt_out_changed": "2025-01-28T12:00:00Z"}
        ]}"#;
        let page = read(body);
        assert_eq!(page.len(), 5, "no record is dropped");
        let bad_time = page[0].unreadable.as_ref().expect("unreadable");
        assert!(bad_time.reason.contains("opt_out_changed"), "{bad_time:?}");
        assert!(bad_time.reason.contains("yesterday"), "{bad_time:?}");
        assert_eq!(page[0].phone_number.as_deref(), Some("+15550101"));
        assert_eq!(page[0].status, Some(SmsOptOutStatus::OptOut));
        assert_eq!(page[0].opt_out_changed, None);
        let bad_phone = page[1].unreadable.as_ref().expect("unreadable");
        assert!(
            bad_phone.reason.starts_with("phone_number: "),
            "{bad_phone:?}"
        );
        assert_eq!(page[1].phone_number, None);
        assert!(page[1].opt_out_changed.is_some());
        let not_object = page[2].unreadable.as_ref().expect("unreadable");
        assert_eq!(not_object.record, r#""+15550103""#);
        assert_eq!(not_object.reason, "not an object");
        let twice = page[3].unreadable.as_ref().expect("unreadable");
        assert_eq!(twice.reason, "status appears more than once");
        assert_eq!(
            page[3].status,
            Some(SmsOptOutStatus::OptIn),
            "the first is kept"
        );
        assert!(page[4].unreadable.is_none());
        // Each record is kept exactly as received.
        for change in &page[..4] {
            let record = &change.unreadable.as_ref().unwrap().record;
            assert!(body.contains(record.as_str()), "{record}");
        }
    }

    #[test]
    fn a_body_without_a_results_array_is_not_a_page() {
        for body in ["", "[]", "null", r#"{"results": 3}"#, r#"{"results": [1,"#] {
            assert!(changes(body.as_bytes()).is_none(), "{body}");
        }
    }

    #[test]
    fn a_long_problem_is_cut_at_a_character_boundary() {
        let cut = bounded("é".repeat(400));
        assert!(cut.len() <= PROBLEM_LIMIT + '…'.len_utf8(), "{}", cut.len());
        assert!(cut.ends_with('…') && cut.starts_with("éé"), "{cut}");
        assert_eq!(bounded("short".into()), "short");
        // A long value in a record stays bounded in the reason (the record is kept whole).
        let value = "9".repeat(10_000);
        let body = format!(r#"{{"results": [{{"opt_out_changed": "{value}"}}]}}"#);
        let unreadable = read(&body)[0].unreadable.clone().unwrap();
        assert!(unreadable.reason.len() <= PROBLEM_LIMIT + '…'.len_utf8());
        assert!(unreadable.record.contains(&value));
    }
}
