//! The code generator: progenitor's client from the normalized spec ([`generate`], after the
//! rules of [`crate::normalize`], which keep their own folder: the generated file's header names
//! it), and what is generated beside it from progenitor's own output ([`forms`],
//! [`union_enums`], [`harness`]); rules on progenitor's own output ([`string_enums`]); the
//! manifest kept in step ([`features`], [`dependencies`]).
//! Dependencies run one way: `generate` → the passes → `progenitor_output`.

pub mod dependencies;
pub mod features;
pub mod forms;
pub mod generate;
pub mod harness;
pub mod progenitor_output;
pub mod string_enums;
pub mod union_enums;
