//! The Kinesis service model as the spec of every request: which operations exist and
//! how their input is checked before anything is looked up (AWS's order: shape and
//! constraints first, existence after).

mod check;
mod model;

pub use check::{blob_error, blob_value, check, drop_nulls, Violations};
#[cfg(test)]
pub use model::MODEL;
