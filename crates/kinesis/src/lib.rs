//! The Kinesis Data Streams front-end: HTTP on its own listener, `X-Amz-Target`
//! dispatch, AWS JSON 1.1 and CBOR bodies, and a mapping of streams and shards onto the broker's
//! topics and partitions. Thin on purpose: every operation ends in one broker call.

mod answer;
mod body;
mod cbor;
mod error;
mod eventstream;
mod http;
mod iterator;
mod limits;
pub mod metrics;
pub mod model;
mod ops;
mod sequence;
mod server;
mod spec;
mod stream_ref;

pub use error::KinesisError;
pub use server::serve;
