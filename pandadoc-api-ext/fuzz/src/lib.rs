//! The checks the fuzz targets run, one function per target, each taking the fuzzer's bytes.
//! They live here, not in the targets, so that `pandadoc-api-ext/tests/fuzz_corpus.rs` replays
//! the committed corpus through the same code in every `cargo test` (no cargo-fuzz needed).
//!
//! Each function decodes its input as libfuzzer-sys's `fuzz_target!` would (`&str`: UTF-8 or
//! skipped; typed: `Arbitrary::arbitrary_take_rest`), so that a corpus file means the same
//! thing to both.

mod response;
mod response_json;
#[path = "../../src/bin/pandadoc-opt-outs/args/values.rs"]
mod values;

use arbitrary::{Arbitrary, Unstructured};

pub use response::response;
pub use response_json::response_json;

/// The fuzzer's bytes as text, as `fuzz_target!(|text: &str| ..)` takes them.
fn text(data: &[u8]) -> Option<&str> {
    std::str::from_utf8(data).ok()
}

/// The fuzzer's bytes as a `T`, as `fuzz_target!(|input: T| ..)` takes them.
fn typed<'a, T: Arbitrary<'a>>(data: &'a [u8]) -> Option<T> {
    T::arbitrary_take_rest(Unstructured::new(data)).ok()
}

/// `pandadoc_api::Timestamp`, the lenient `date-time` of every generated type: any text parses
/// or is an error, never a panic; what parses prints as RFC 3339 and reads back the same.
pub fn timestamp(data: &[u8]) {
    use pandadoc_api::Timestamp;
    let Some(text) = text(data) else { return };
    if let Ok(t) = text.parse::<Timestamp>() {
        let printed = t.0.to_rfc3339();
        let again: Timestamp = printed.parse().expect("RFC 3339 reads back");
        assert_eq!(again.0, t.0);
    }
    // As a JSON string inside a document, the way the client meets it.
    let _ = serde_json::from_value::<Timestamp>(serde_json::Value::String(text.to_string()));
}

/// The phone-number rule of the ledger (`canonical_phone`): any text is a canonical E.164
/// number or an error, never a panic; a canonical number is its own canonical form.
pub fn phone(data: &[u8]) {
    use pandadoc_api_ext::ledger::canonical_phone;
    let Some(text) = text(data) else { return };
    if let Ok(number) = canonical_phone(text) {
        assert!(number.starts_with('+'), "{number}");
        assert!(number[1..].bytes().all(|b| b.is_ascii_digit()), "{number}");
        assert_eq!(
            canonical_phone(&number).ok().as_deref(),
            Some(number.as_str())
        );
    }
}

/// Ledger URLs (`LedgerUrl::parse`): any text is a URL or an error naming what is wrong, never
/// a panic; neither the URL shown nor the error repeats the password.
pub fn ledger_url(data: &[u8]) {
    use pandadoc_api_ext::ledger::LedgerUrl;
    /// A password no mutation is likely to make by chance, so that it can be looked for.
    const SECRET: &str = "Zq8SECRETx3";
    let Some(text) = text(data) else { return };
    for candidate in [text.to_string(), format!("postgres://u:{SECRET}@{text}")] {
        let shown = match LedgerUrl::parse(&candidate) {
            Ok(url) => format!("{url} {url:?}"),
            Err(e) => format!("{e} {e:?}"),
        };
        assert!(!shown.contains(SECRET), "{shown}");
    }
}

/// The program's value parsers (`--last 30d`, `--since`, `--rate 10/min`, ...), as they are:
/// any text is a value or a message, never a panic; a span is never negative, a `std_span`
/// never zero, a rate never zero, and a time prints as RFC 3339 that reads back the same.
pub fn values(data: &[u8]) {
    let Some(text) = text(data) else { return };
    if let Ok(span) = values::span(text) {
        assert!(span >= chrono::TimeDelta::zero(), "{text:?}");
    }
    if let Ok(span) = values::std_span(text) {
        assert!(!span.is_zero(), "{text:?}");
    }
    if let Ok(rate) = values::rate(text) {
        assert!(rate > 0);
    }
    if let Ok(t) = values::time(text) {
        assert_eq!(values::time(&t.to_rfc3339()), Ok(t));
    }
}
