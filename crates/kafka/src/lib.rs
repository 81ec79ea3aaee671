//! tidelog's Kafka front-end: TCP listener, framing, dispatch by API key, and the
//! mapping between Kafka messages and broker calls.
//!
//! Thin on purpose: codecs come from the `kafka-protocol` crate, behaviour from
//! `tidelog-broker`. Nothing here stores state beyond one connection, except what bounds
//! them all: the connection counts (`admission`) and the request-byte budget (`budget`).

mod admission;
mod api_versions;
mod budget;
mod connection;
mod dispatch;
mod errors;
mod frame;
mod handlers;
pub mod metrics;
mod offload;
mod quota_throttle;
mod request_frame;
mod scope;
mod server;
mod share_sessions;

pub use server::{serve, KafkaListener};
