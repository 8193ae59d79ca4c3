//! The structure-aware response target: pages that look like the operation's (records with numbers, statuses and
//! times that are right, nearly right or of the wrong type), decoded through the whole stack.
//! A page (an object with a `results` array) always decodes, one change per record: a record
//! with a field of the wrong type is marked unreadable and kept as received, and the others
//! read as usual.
use arbitrary::Arbitrary;
use serde_json::{Map, Value, json};

#[derive(Arbitrary, Debug)]
enum Json {
    Null,
    Bool(bool),
    Int(i64),
    Float(f64),
    Text(String),
    Array(Vec<Json>),
    Object(Vec<(String, Json)>),
}

impl Json {
    fn value(&self, depth: u8) -> Value {
        match self {
            Self::Null => Value::Null,
            Self::Bool(b) => json!(b),
            Self::Int(i) => json!(i),
            Self::Float(f) => json!(f),
            Self::Text(t) => json!(t),
            _ if depth > 4 => Value::Null,
            Self::Array(items) => Value::Array(items.iter().map(|j| j.value(depth + 1)).collect()),
            Self::Object(fields) => Value::Object(
                fields
                    .iter()
                    .map(|(k, j)| (k.clone(), j.value(depth + 1)))
                    .collect(),
            ),
        }
    }
}

#[derive(Arbitrary, Debug)]
enum Field {
    Absent,
    Phone(u64),
    Status(bool),
    Time(i64, u32, bool),
    Other(Json),
}

impl Field {
    fn put(&self, record: &mut Map<String, Value>, name: &str) {
        let value = match self {
            Self::Absent => return,
            Self::Phone(n) => json!(format!("+{}", n % 1_000_000_000_000_000)),
            Self::Status(out) => json!(if *out { "opt-out" } else { "opt-in" }),
            Self::Time(secs, nanos, offset) => {
                let t =
                    chrono::DateTime::from_timestamp(secs % 10_000_000_000, nanos % 1_000_000_000)
                        .unwrap_or_default();
                if *offset {
                    json!(t.to_rfc3339())
                } else {
                    json!(t.naive_utc().format("%Y-%m-%dT%H:%M:%S%.f").to_string())
                }
            }
            Self::Other(j) => j.value(0),
        };
        record.insert(name.into(), value);
    }
}

#[derive(Arbitrary, Debug)]
struct Record {
    phone: Field,
    status: Field,
    changed: Field,
    extra: Vec<(String, Json)>,
}

#[derive(Arbitrary, Debug)]
struct Page {
    results: Vec<Record>,
    extra: Vec<(String, Json)>,
}

/// Structure-aware pages through the whole stack (see the module docs).
pub fn response_json(data: &[u8]) {
    let Some(page) = super::typed::<Page>(data) else {
        return;
    };
    let mut top = Map::new();
    for (k, j) in &page.extra {
        top.insert(k.clone(), j.value(0));
    }
    let records: Vec<Value> = page
        .results
        .iter()
        .map(|r| {
            let mut record = Map::new();
            for (k, j) in &r.extra {
                record.insert(k.clone(), j.value(0));
            }
            r.phone.put(&mut record, "phone_number");
            r.status.put(&mut record, "status");
            r.changed.put(&mut record, "opt_out_changed");
            Value::Object(record)
        })
        .collect();
    let count = records.len();
    top.insert("results".into(), Value::Array(records.clone()));
    let body = serde_json::to_vec(&Value::Object(top)).unwrap();
    let decoded = super::response::exchange(200, &body)
        .unwrap_or_else(|e| panic!("a page with a results array is read: {e}"));
    assert_eq!(decoded.changes.len(), count);
    for ((record, change), sent) in page.results.iter().zip(&decoded.changes).zip(&records) {
        // Judged on what was sent (an absent field leaves an extra of the same name in place):
        // any text reads as a number or a status; only a time (or nothing) reads as a time.
        let text_or_nothing =
            |name: &str| sent.get(name).is_none_or(|v| v.is_null() || v.is_string());
        let well_formed = text_or_nothing("phone_number")
            && text_or_nothing("status")
            && (matches!(record.changed, Field::Time(..))
                || sent.get("opt_out_changed").is_none_or(Value::is_null));
        if well_formed {
            assert!(change.unreadable.is_none(), "{change:?}");
            if let Field::Phone(_) = record.phone {
                assert_eq!(
                    change.phone_number.as_deref(),
                    sent["phone_number"].as_str()
                );
            }
        }
        // Judged on what was sent (a float that is not finite is sent as `null`).
        let wrong_type = ["phone_number", "status", "opt_out_changed"]
            .iter()
            .any(|name| {
                sent.get(name)
                    .is_some_and(|v| !v.is_null() && !v.is_string())
            });
        if wrong_type {
            assert!(change.unreadable.is_some(), "{change:?} from {sent}");
        }
        if let Some(unreadable) = &change.unreadable {
            // Byte for byte: the body is this record's text among others.
            assert_eq!(unreadable.record, sent.to_string(), "kept as received");
            assert!(!unreadable.reason.is_empty());
        }
    }
}
