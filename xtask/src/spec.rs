//! Facts of OpenAPI 3.0 the xtask's modules share.

/// The HTTP methods a path item may hold an operation under, in the order OpenAPI lists them.
pub const METHODS: [&str; 8] = [
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];
