//! Share groups (KIP-932): queues on the log. The consumers of a share group read the same
//! partitions together; each record goes to one of them at a time, locked for a while,
//! and is done with once acknowledged (or archived after too many deliveries).
//!
//! - `in_flight.rs`: the delivery state of one share-partition, protocol-agnostic (Pub/Sub
//!   subscriptions are to be built on it too);
//! - `group.rs`: membership and the assignor;
//! - `state_log.rs`: the share-partition states, durable in the compacted internal topic
//!   `__share_group_state` before an acknowledgement is answered, replayed at start;
//! - `api.rs`: the broker's operations, one per Kafka request.
//!
//! Membership lives in memory, as consumer group membership does: after a restart members
//! rejoin with their next heartbeat. Acquisitions do not survive a restart either: the
//! records go back to Available, with their delivery counts.

mod api;
mod group;
mod in_flight;
mod state_log;

use std::collections::HashMap;
use std::sync::Arc;

use parking_lot::Mutex;

pub use api::{
    ShareAcknowledgeBatch, ShareFetched, ShareGroupDescription, ShareHeartbeat, ShareHeartbeatOutcome,
    SharePartitionOffset,
};
pub use group::ShareMember;
pub use in_flight::{Acknowledgement, AcquiredRange, RecordState};

pub const SHARE_STATE_TOPIC: &str = "__share_group_state";

/// (group, topic, partition).
type SharePartitionKey = (String, String, i32);

/// One share-partition: its delivery state, serialised by an async lock held across the
/// state write that makes an acknowledgement durable.
type SharePartitionSlot = Arc<tokio::sync::Mutex<in_flight::SharePartitionState>>;

#[derive(Default)]
pub(crate) struct ShareGroups {
    groups: Mutex<HashMap<String, group::ShareGroup>>,
    partitions: Mutex<HashMap<SharePartitionKey, SharePartitionSlot>>,
    /// Records became available again (released, or a lock ran out): waiting fetches
    /// look again.
    released: tokio::sync::Notify,
}

impl ShareGroups {
    fn slot(&self, key: &SharePartitionKey) -> Option<SharePartitionSlot> {
        self.partitions.lock().get(key).cloned()
    }

    /// The share-partitions of `group`.
    fn partitions_of(&self, group: &str) -> Vec<(SharePartitionKey, SharePartitionSlot)> {
        self.partitions.lock().iter().filter(|(k, _)| k.0 == group).map(|(k, s)| (k.clone(), s.clone())).collect()
    }

    fn all_partitions(&self) -> Vec<(SharePartitionKey, SharePartitionSlot)> {
        self.partitions.lock().iter().map(|(k, s)| (k.clone(), s.clone())).collect()
    }
}
