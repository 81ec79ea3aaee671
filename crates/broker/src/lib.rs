//! tidelog's domain: topics, partitions, produce, fetch and offsets, metadata as an
//! event log. Protocol-agnostic: the Kafka and Kinesis front-ends are thin adapters
//! onto this crate, and it never sees a wire format other than the stored batch format.

pub mod access;
mod admin;
mod attributes;
mod broker;
mod compaction;
pub mod config;
mod config_change;
mod dynamic_configs;
mod error;
mod fetch;
pub mod group;
mod internal_topics;
mod leader_epochs;
pub mod metadata;
pub mod metrics;
mod offsets;
mod partition;
mod placement;
mod producer_ids;
mod producer_state;
pub mod quotas;
mod record_access;
pub mod records;
mod registry;
pub mod schema_validation;
pub mod share;
pub mod shutdown;
#[cfg(test)]
mod test_support;
pub mod txn;
mod validate;

pub use admin::{validate_topic_name, ConfigChange, NewTopic};
pub use attributes::Reshape;
pub use broker::{now_ms, Broker, Produced, Retention, TopicHandle};
pub use config::{BrokerConfig, ConfigEntry, ConfigError, ConfigSource};
pub use error::{BrokerError, Result};
pub use fetch::{FetchLimits, FetchPartition, FetchedPartition};
pub use offsets::{OffsetAnswer, OffsetQuery};
pub use partition::{Partition, PartitionRead};
pub use producer_state::{AbortedTxn, ProducerSummary};
pub use record_access::{RecordsRead, StoredRecord};
pub use schema_validation::{SchemaValidation, SchemaValidator};
pub use tidelog_log::{FileSlice, LogOffsets, Records};
pub use validate::{validate_batch, BatchLimits};
