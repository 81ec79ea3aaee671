//! The metadata events: every change to topics, partitions, stream settings and
//! producer-id blocks is one of these, committed through the [`super::MetadataStore`].
//! Events are JSON on disk and must keep replaying: new fields get serde defaults.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
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
        /// A Kinesis stream's attributes, created with its topic in one event.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        stream: Option<crate::streams::StreamSettings>,
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
    /// A topic's Kinesis view (mode, tags, encryption...) replaced as a whole.
    StreamSettingsChanged {
        name: String,
        settings: crate::streams::StreamSettings,
    },
    /// Shards closed and child partitions added, in one event so that a crash never
    /// leaves half a reshard.
    StreamResharded {
        name: String,
        partitions: u32,
        settings: crate::streams::StreamSettings,
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
            | MetadataEvent::StreamSettingsChanged { name, .. }
            | MetadataEvent::StreamResharded { name, .. } => Some(name),
            MetadataEvent::ClusterCreated { .. } | MetadataEvent::ProducerIdsReserved { .. } => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: u32,
    pub configs: BTreeMap<String, String>,
    /// Set once the topic is created or changed as a Kinesis stream.
    pub stream: Option<crate::streams::StreamSettings>,
}
