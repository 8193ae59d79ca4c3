//! Local `$ref`s: `#` followed by a JSON pointer (RFC 6901), percent-encoded as a URI fragment.

use std::fmt;

use serde_json::Value;

/// How many `$ref`s in a row [`resolve`] follows before it gives up: far more than any real
/// document chains, few enough that a mistake is reported at once.
pub const MAX_HOPS: usize = 64;

/// Why a `$ref` could not be followed. Every variant names the reference.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RefError {
    /// Not a local reference (`#/...`): another file or a URL.
    NotLocal { reference: String },
    /// Percent-encoding that does not decode to UTF-8 text.
    BadEncoding { reference: String },
    /// The pointer leads nowhere: `missing` is the first segment not found, under `parent`.
    Unresolved {
        reference: String,
        parent: String,
        missing: String,
    },
    /// The references lead back to one already followed: the chain, in order.
    Cycle { chain: Vec<String> },
    /// More than [`MAX_HOPS`] references in a row.
    TooDeep { reference: String },
}

impl fmt::Display for RefError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotLocal { reference } => {
                write!(
                    f,
                    "$ref {reference:?} is not local to the document (`#/...`)"
                )
            }
            Self::BadEncoding { reference } => {
                write!(f, "$ref {reference:?} is not valid percent-encoded UTF-8")
            }
            Self::Unresolved {
                reference,
                parent,
                missing,
            } => write!(
                f,
                "$ref {reference:?} does not resolve: {parent:?} has no {missing:?}"
            ),
            Self::Cycle { chain } => write!(f, "$ref cycle: {}", chain.join(" -> ")),
            Self::TooDeep { reference } => write!(
                f,
                "$ref {reference:?}: more than {MAX_HOPS} references in a row"
            ),
        }
    }
}

impl std::error::Error for RefError {}

/// The segments of a local reference: `#/paths/~1a~1%7Bid%7D/get` is `["paths", "/a/{id}",
/// "get"]`. The fragment is percent-decoded first, then split, then `~1` and `~0` unescaped.
pub fn pointer_segments(reference: &str) -> Result<Vec<String>, RefError> {
    let not_local = || RefError::NotLocal {
        reference: reference.to_string(),
    };
    let fragment = reference.strip_prefix('#').ok_or_else(not_local)?;
    let decoded = percent_decode(fragment).ok_or_else(|| RefError::BadEncoding {
        reference: reference.to_string(),
    })?;
    if decoded.is_empty() {
        return Ok(Vec::new());
    }
    let rest = decoded.strip_prefix('/').ok_or_else(not_local)?;
    Ok(rest
        .split('/')
        .map(|s| s.replace("~1", "/").replace("~0", "~"))
        .collect())
}

fn percent_decode(text: &str) -> Option<String> {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = std::str::from_utf8(bytes.get(i + 1..i + 3)?).ok()?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

/// The value `reference` points at in `doc`, exactly (a `$ref` met on the way is not followed).
pub fn lookup<'a>(doc: &'a Value, reference: &str) -> Result<&'a Value, RefError> {
    let mut value = doc;
    let mut parent = String::from("#");
    for segment in pointer_segments(reference)? {
        let next = match value {
            Value::Object(map) => map.get(&segment),
            Value::Array(items) => segment.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        };
        value = next.ok_or_else(|| RefError::Unresolved {
            reference: reference.to_string(),
            parent: parent.clone(),
            missing: segment.clone(),
        })?;
        parent.push('/');
        parent.push_str(&segment.replace('~', "~0").replace('/', "~1"));
    }
    Ok(value)
}

/// Follows `value`'s `$ref` (and the target's, and so on) to the first value that is not a
/// reference. A reference that leads nowhere, back to itself, or on for more than [`MAX_HOPS`]
/// is an error naming it.
pub fn resolve<'a>(doc: &'a Value, mut value: &'a Value) -> Result<&'a Value, RefError> {
    let mut chain: Vec<String> = Vec::new();
    while let Some(reference) = value.get("$ref").and_then(Value::as_str) {
        if chain.iter().any(|seen| seen == reference) {
            chain.push(reference.to_string());
            return Err(RefError::Cycle { chain });
        }
        if chain.len() == MAX_HOPS {
            return Err(RefError::TooDeep {
                reference: reference.to_string(),
            });
        }
        chain.push(reference.to_string());
        value = lookup(doc, reference)?;
    }
    Ok(value)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn pointers_decode_percent_encoding_then_tildes() {
        assert_eq!(
            pointer_segments("#/paths/~1a~1%7Bid%7D/get/x~0y").unwrap(),
            ["paths", "/a/{id}", "get", "x~y"]
        );
        assert_eq!(pointer_segments("#").unwrap(), Vec::<String>::new());
        assert!(matches!(
            pointer_segments("other.json#/a"),
            Err(RefError::NotLocal { .. })
        ));
        assert!(matches!(
            pointer_segments("#/a%ZZ"),
            Err(RefError::BadEncoding { .. })
        ));
    }

    #[test]
    fn lookup_walks_objects_and_arrays_and_names_what_is_missing() {
        let doc = json!({ "a": { "allOf": [{ "x": 1 }, { "y": 2 }] }, "p": { "/v1/{id}": 3 } });
        assert_eq!(lookup(&doc, "#/a/allOf/1/y").unwrap(), &json!(2));
        assert_eq!(lookup(&doc, "#/p/~1v1~1%7Bid%7D").unwrap(), &json!(3));
        let err = lookup(&doc, "#/a/allOf/2").unwrap_err();
        assert_eq!(
            err.to_string(),
            r##"$ref "#/a/allOf/2" does not resolve: "#/a/allOf" has no "2""##
        );
    }

    #[test]
    fn resolve_follows_chains_and_reports_cycles() {
        let doc = json!({
            "a": { "$ref": "#/b" }, "b": { "$ref": "#/c" }, "c": { "type": "string" },
            "x": { "$ref": "#/y" }, "y": { "$ref": "#/x" }
        });
        assert_eq!(
            resolve(&doc, &doc["a"]).unwrap(),
            &json!({ "type": "string" })
        );
        let err = resolve(&doc, &doc["x"]).unwrap_err();
        assert_eq!(err.to_string(), "$ref cycle: #/y -> #/x -> #/y");
    }

    #[test]
    fn resolve_gives_up_after_max_hops() {
        let mut doc = serde_json::Map::new();
        for i in 0..=MAX_HOPS + 1 {
            doc.insert(format!("n{i}"), json!({ "$ref": format!("#/n{}", i + 1) }));
        }
        doc.insert(format!("n{}", MAX_HOPS + 2), json!(true));
        let doc = Value::Object(doc);
        assert!(matches!(
            resolve(&doc, &doc["n0"]),
            Err(RefError::TooDeep { .. })
        ));
    }
}
