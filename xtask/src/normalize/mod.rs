//! Normalization of an OpenAPI 3.0 document before progenitor sees it.
//!
//! The vendored spec is never edited: these rules rewrite an in-memory copy, deterministically
//! (same input, same output; maps keep the document's order). Each rule is general: it names no
//! operation, path or schema of PandaDoc's, and applies to any number of operations and statuses.
//! [`pointer_refs`] runs first (it is the one rule that can refuse a document), then the rules
//! of [`RULES`] in order; each is documented on its function, in a file of its family with its
//! fixture tests beside it.
//!
//! | rule | why |
//! | --- | --- |
//! | [`pointer_refs`] | typify panics on a `$ref` that is not a component's (one into a schema or an operation) |
//! | [`json_media_types`] | progenitor types only `application/json` bodies and panics on `encoding` |
//! | [`multipart_forms`] | progenitor cannot send `multipart/form-data`: each such body gets a typed form |
//! | [`one_request_media_type`] | progenitor panics on several request media types and refuses multipart |
//! | [`one_response_type_per_class`] | progenitor gives every status of a class the first one's type, or panics |
//! | [`date_time_spelling`] | `format: datetime` would leave a timestamp untyped |
//! | [`lenient_strings`] | a response string of another length or pattern failed the whole response |
//! | [`flatten_all_of`] | typify makes an uninhabitable type of an `allOf` whose members disagree |
//! | [`typed_unions`] | a union whose branch a value names (discriminator, disjoint required properties) is an enum |
//! | [`object_unions_as_json`] | typify's `anyOf`/`oneOf` of objects drop or mix up fields |
//! | [`object_type_from_properties`] | a schema with `properties` but no `type` is an object |
//! | [`open_string_enums`] | a closed enum fails the whole response when the server adds a value |
//! | [`tolerate_unknown_fields`] | `additionalProperties: false` fails a response when the server adds a field |
//! | [`tri_state_request_fields`] | an optional nullable request field could not be sent as `null` |
//! | [`titles_never_rename`] | a `title` equal to a component's name made typify emit two types of that name |

use anyhow::{Context, Result};
use serde_json::Value;

mod media;
mod names;
mod objects;
mod pointers;
mod requests;
mod responses;
mod scalars;
mod unions;
mod walk;

pub use media::{FORM_EXTENSION, json_media_types, multipart_forms, one_request_media_type};
pub use names::titles_never_rename;
pub use objects::{
    flatten_all_of, object_type_from_properties, object_unions_as_json, tolerate_unknown_fields,
};
pub use pointers::pointer_refs;
pub use requests::tri_state_request_fields;
pub use responses::one_response_type_per_class;
pub use scalars::{date_time_spelling, lenient_strings, open_string_enums};
pub use unions::{UNIONS_EXTENSION, typed_unions};

type Rule = fn(&mut Value);

/// The rules, in the order they run.
pub const RULES: &[(&str, Rule)] = &[
    ("titles_never_rename", titles_never_rename),
    ("json_media_types", json_media_types),
    ("multipart_forms", multipart_forms),
    ("one_request_media_type", one_request_media_type),
    ("one_response_type_per_class", one_response_type_per_class),
    ("date_time_spelling", date_time_spelling),
    ("lenient_strings", lenient_strings),
    ("flatten_all_of", flatten_all_of),
    ("typed_unions", typed_unions),
    ("object_unions_as_json", object_unions_as_json),
    ("object_type_from_properties", object_type_from_properties),
    ("open_string_enums", open_string_enums),
    ("tolerate_unknown_fields", tolerate_unknown_fields),
    ("tri_state_request_fields", tri_state_request_fields),
];

/// Applies [`pointer_refs`], then every rule of [`RULES`], to `spec`, in order.
pub fn normalize(spec: &mut Value) -> Result<()> {
    pointer_refs(spec).context("cannot make every `$ref` name a component")?;
    for (_, rule) in RULES {
        rule(spec);
    }
    Ok(())
}

/// The generated code for `spec` (a fixture), for tests that check what typify makes of a rule.
#[cfg(test)]
fn render_fixture(spec: &Value) -> String {
    let path = std::env::temp_dir().join(format!(
        "normalize-fixture-{}-{:?}.json",
        std::process::id(),
        std::thread::current().id()
    ));
    std::fs::write(&path, spec.to_string()).unwrap();
    let loaded = crate::codegen::generate::load(&path).unwrap();
    let _ = std::fs::remove_file(&path);
    crate::codegen::generate::render(&loaded, "spec.json")
        .unwrap()
        .client
}
