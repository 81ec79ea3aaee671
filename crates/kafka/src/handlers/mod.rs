//! One module per Kafka API family; each maps a decoded request onto broker calls and
//! builds the response. No handler holds state between requests.

pub mod authorized_operations;
pub mod client_quotas;
pub mod cluster;
pub mod config_resources;
pub mod configs;
pub mod consumer_groups;
pub mod delete_records;
pub mod describe_topic_partitions;
pub mod fetch;
pub mod find_coordinator;
pub mod groups;
pub mod list_offsets;
pub mod log_dirs;
pub mod metadata;
pub mod offset_for_leader_epoch;
pub mod offsets;
pub mod produce;
pub mod producer_ids;
pub mod share_fetch;
pub mod share_groups;
pub mod topics;
pub mod transactions;

use kafka_protocol::protocol::StrBytes;

pub(crate) fn str_bytes(s: impl Into<String>) -> StrBytes {
    StrBytes::from_string(s.into())
}
