//! What every generated union enum (the `unions` module) uses to read and write its values. A
//! spec without such unions uses none of it.
#![allow(dead_code)]

use std::cell::Cell;

use serde::Serialize;

/// Serializes `value` with `tag: tag_value` (written back if its type lacks it).
pub(crate) fn tagged<T: Serialize, S: serde::Serializer>(
    value: &T,
    tag: &str,
    tag_value: &str,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    let mut json = serde_json::to_value(value).map_err(serde::ser::Error::custom)?;
    if let Some(fields) = json.as_object_mut() {
        fields
            .entry(tag)
            .or_insert_with(|| serde_json::Value::String(tag_value.into()));
    }
    json.serialize(serializer)
}

/// Decodes `value` as the branch it names; `None` when it does not fit that branch (the caller
/// keeps it as `Other`: one inconsistent value never fails a response).
pub(crate) fn branch<T: serde::de::DeserializeOwned>(value: &serde_json::Value) -> Option<T> {
    let decoded = T::deserialize(value).ok();
    if decoded.is_none() {
        FALLBACKS.with(|count| count.set(count.get() + 1));
    }
    decoded
}

thread_local! {
    static FALLBACKS: Cell<u64> = const { Cell::new(0) };
}

/// How many union values decoded on this thread so far named a branch they did not fit (each
/// kept as `Other`). The contract tests read it to decode strictly; it costs nothing while
/// values fit.
#[doc(hidden)]
pub fn union_fallbacks_on_this_thread() -> u64 {
    FALLBACKS.with(Cell::get)
}
