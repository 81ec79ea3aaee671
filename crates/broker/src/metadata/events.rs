//! The metadata events: every change to topics, partitions, stream settings and
//! producer-id blocks is one of these, committed through the [`super::MetadataStore`].
//! Events are JSON on disk and must keep replaying: new fields get serde defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetadataEvent {
    ClusterCreated {
        cluster_id: String,
    },
    TopicCreated {
        name: String,
        topic_id: Uuid,
        partitions: u32,
        configs: BTreeMap<String, String>,
        /// Front-ends' attributes of the topic, created with it in one event.
        #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
        attributes: BTreeMap<String, Value>,
    },
    PartitionsAdded {
        name: String,
        partitions: u32,
    },
    TopicDeleted {
        name: String,
    },
    /// A topic's overrides replaced as a whole (AlterConfigs, IncrementalAlterConfigs).
    TopicConfigsChanged {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Producer ids below `next` are handed out (or reserved): never reused.
    ProducerIdsReserved {
        next: i64,
    },
    /// A front-end's attribute of a topic (its own model of the topic, opaque here)
    /// replaced as a whole.
    TopicAttributeChanged {
        name: String,
        namespace: String,
        value: Value,
    },
    /// Partitions sealed at their log end, partitions added and attributes replaced, in
    /// one event so that a crash never leaves half a reshape (a Kinesis reshard).
    TopicReshaped {
        name: String,
        partitions: u32,
        #[serde(default)]
        sealed: BTreeMap<i32, Seal>,
        #[serde(default)]
        attributes: BTreeMap<String, Value>,
    },
    /// Written before topic attributes existed: a stream's settings replaced as a whole.
    /// Replayed as the topic's `kinesis` attribute.
    StreamSettingsChanged {
        name: String,
        settings: Value,
    },
    /// Written before topic attributes existed: shards closed and children added. Replayed
    /// as the partition count and the `kinesis` attribute (which then held the seals).
    StreamResharded {
        name: String,
        partitions: u32,
        settings: Value,
    },
    /// Client quotas set or removed (AlterClientQuotas), all of one request in one event.
    ClientQuotasAltered {
        changes: Vec<crate::quotas::QuotaChange>,
    },
    /// A dynamic broker config layer replaced as a whole (KIP-226): `resource` "" is every
    /// broker's default, a node id that broker's own.
    BrokerConfigsChanged {
        resource: String,
        configs: BTreeMap<String, String>,
    },
    /// A group's configs (GROUP resources, KIP-848) replaced as a whole; empty removes them.
    GroupConfigsChanged {
        group: String,
        configs: BTreeMap<String, String>,
    },
}

impl MetadataEvent {
    /// The topic the event changes, if any: the partition registry reconciles just it.
    pub fn topic(&self) -> Option<&str> {
        match self {
            MetadataEvent::TopicCreated { name, .. }
            | MetadataEvent::PartitionsAdded { name, .. }
            | MetadataEvent::TopicDeleted { name }
            | MetadataEvent::TopicConfigsChanged { name, .. }
            | MetadataEvent::TopicAttributeChanged { name, .. }
            | MetadataEvent::TopicReshaped { name, .. }
            | MetadataEvent::StreamSettingsChanged { name, .. }
            | MetadataEvent::StreamResharded { name, .. } => Some(name),
            MetadataEvent::ClusterCreated { .. }
            | MetadataEvent::ProducerIdsReserved { .. }
            | MetadataEvent::ClientQuotasAltered { .. }
            | MetadataEvent::BrokerConfigsChanged { .. }
            | MetadataEvent::GroupConfigsChanged { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: u32,
    pub configs: BTreeMap<String, String>,
    /// Front-ends' own models of the topic, by namespace (`kinesis`: the stream's
    /// settings and shard layout). The core stores them and never looks inside.
    pub attributes: BTreeMap<String, Value>,
    /// Partitions sealed at an offset: a view that treats the partition as closed (a
    /// closed Kinesis shard) ends there. Kafka clients may still write past it.
    pub sealed: BTreeMap<i32, Seal>,
}

/// Where a sealed partition ends, and when it was sealed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Seal {
    /// The log end offset when the partition was sealed.
    pub offset: u64,
    pub sealed_ms: i64,
}

/// The namespace the attributes of events written before attributes existed belong to.
pub(crate) const LEGACY_STREAM_NAMESPACE: &str = "kinesis";
