//! tidelog's Kafka front-end: TCP listener, framing, dispatch by API key, and the
//! mapping between Kafka messages and broker calls.
//!
//! Thin on purpose: codecs come from the `kafka-protocol` crate, behaviour from
//! `tidelog-broker`. Nothing here stores state beyond one connection.

mod api_versions;
mod connection;
mod dispatch;
mod errors;
mod frame;
mod handlers;
pub mod metrics;
mod server;

pub use server::{serve, KafkaListener};
