//! The facts of an OpenAPI 3.0 document that the workspace's tools share: the HTTP methods an
//! operation may sit under and local `$ref`s (one resolver, bounded, with a clear error).
//!
//! Used by the xtask (generation, normalization, bump reports) and by the contract tests, so both
//! read a document the same way.

mod reference;

pub use reference::{MAX_HOPS, RefError, lookup, pointer_segments, resolve};

/// The HTTP methods a path item may hold an operation under, in the order OpenAPI lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
