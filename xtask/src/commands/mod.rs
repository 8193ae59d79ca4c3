//! The commands of `cargo xtask`, a file (or folder) each, named after the command.

pub mod build_cost;
pub mod bump;
pub mod corpus;
pub mod cut;
pub mod generate;
pub mod soak;
