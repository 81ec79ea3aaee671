//! What callers give the consumer-protocol group state (KIP-848) and get back from it.

use std::collections::BTreeSet;
use std::time::Duration;

use super::assignor::TopicPartition;

#[derive(Debug, Clone)]
pub struct ConsumerHeartbeat {
    pub member_id: String,
    /// 0 joins, -1 leaves, -2 leaves a static member's place open; otherwise the epoch.
    pub member_epoch: i32,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    pub rebalance_timeout: Duration,
    /// `None`: unchanged since the last heartbeat.
    pub subscribed_topics: Option<Vec<String>>,
    /// `None`: unchanged; `Some("")`: no regex any more.
    pub subscribed_topic_regex: Option<String>,
    pub server_assignor: Option<String>,
    /// Partitions the member holds now; `None`: unchanged.
    pub owned: Option<Vec<TopicPartition>>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HeartbeatOutcome {
    pub member_id: String,
    pub member_epoch: i32,
    /// The member's new assignment, when it changed.
    pub assignment: Option<BTreeSet<TopicPartition>>,
}

/// A member as ConsumerGroupDescribe shows it.
#[derive(Debug, Clone)]
pub struct ConsumerMemberSummary {
    pub member_id: String,
    pub instance_id: Option<String>,
    pub rack_id: Option<String>,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub subscribed_topics: Vec<String>,
    pub subscribed_topic_regex: Option<String>,
    pub assignment: BTreeSet<TopicPartition>,
    pub target_assignment: BTreeSet<TopicPartition>,
    /// A classic-protocol member served by this group (KIP-848 online migration).
    pub classic: bool,
}
