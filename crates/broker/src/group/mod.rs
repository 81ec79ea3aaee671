//! The group coordinator: consumer groups (classic protocol) and their committed
//! offsets. Membership logic lives in `membership.rs` as pure state; this module owns
//! the registry, the one timer task that expires sessions and completes rebalances, and
//! the broker calls front-ends make. Offsets are stored in `offsets.rs`.

mod membership;
mod offsets;
mod offsets_format;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use membership::{
    GroupState, JoinOutcome, JoinParams, JoinedMember, MemberSummary, SyncOutcome,
};
pub use offsets::{OffsetCommit, PartitionLag, TopicOffsets};
pub use offsets_format::CommittedOffset;

use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use membership::Group;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

pub(crate) struct GroupEntry {
    membership: Group,
    offsets: BTreeMap<(String, i32), CommittedOffset>,
}

impl GroupEntry {
    fn new(id: &str) -> Self {
        GroupEntry {
            membership: Group::new(id.into()),
            offsets: BTreeMap::new(),
        }
    }
}

/// Every group this broker coordinates (on one node: all of them).
#[derive(Default)]
pub(crate) struct Groups {
    entries: Mutex<HashMap<String, GroupEntry>>,
    /// Wakes the timer task when a deadline may have moved earlier.
    timers: Notify,
}

#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    pub state: GroupState,
}

#[derive(Debug, Clone)]
pub struct GroupDescription {
    pub group_id: String,
    /// `None`: no such group (Kafka reports it as "Dead").
    pub state: Option<GroupState>,
    pub protocol_type: String,
    pub protocol: String,
    pub members: Vec<MemberSummary>,
}

impl Broker {
    fn session_bounds(&self) -> (i64, i64) {
        (
            self.config.long("group.min.session.timeout.ms"),
            self.config.long("group.max.session.timeout.ms"),
        )
    }

    fn with_group<T>(&self, group_id: &str, f: impl FnOnce(&mut GroupEntry) -> T) -> T {
        let result = f(self
            .groups
            .entries
            .lock()
            .entry(group_id.to_string())
            .or_insert_with(|| GroupEntry::new(group_id)));
        self.groups.timers.notify_one();
        result
    }

    fn with_existing_group<T>(
        &self,
        group_id: &str,
        f: impl FnOnce(&mut GroupEntry) -> Result<T>,
    ) -> Result<T> {
        let result = match self.groups.entries.lock().get_mut(group_id) {
            Some(entry) => f(entry),
            None => Err(BrokerError::UnknownMemberId(String::new())),
        };
        self.groups.timers.notify_one();
        result
    }

    pub async fn join_group(&self, group_id: &str, params: JoinParams) -> Result<JoinOutcome> {
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        let (min, max) = self.session_bounds();
        let session_ms = params.session_timeout.as_millis() as i64;
        if session_ms < min || session_ms > max {
            return Err(BrokerError::InvalidSessionTimeout {
                given: session_ms as i32,
                min,
                max,
            });
        }
        let initial_delay =
            Duration::from_millis(self.config.long("group.initial.rebalance.delay.ms") as u64);
        let reply = self.with_group(group_id, |g| {
            g.membership.join(params, Instant::now(), initial_delay)
        });
        reply.await.unwrap_or(Err(BrokerError::RebalanceInProgress))
    }

    pub async fn sync_group(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        assignments: Vec<(String, bytes::Bytes)>,
    ) -> Result<SyncOutcome> {
        let reply = self.with_existing_group(group_id, |g| {
            Ok(g.membership
                .sync(generation, member_id, instance, assignments, Instant::now()))
        })?;
        reply.await.unwrap_or(Err(BrokerError::RebalanceInProgress))
    }

    pub fn heartbeat(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<()> {
        self.with_existing_group(group_id, |g| {
            g.membership
                .heartbeat(generation, member_id, instance, Instant::now())
        })
    }

    /// Removes members; one result per (member id, instance id) given.
    pub fn leave_group(
        &self,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Vec<Result<()>> {
        let now = Instant::now();
        members
            .iter()
            .map(|(member_id, instance)| {
                self.with_existing_group(group_id, |g| {
                    g.membership.leave(member_id, instance.as_deref(), now)
                })
            })
            .collect()
    }

    pub fn list_groups(&self) -> Vec<GroupListing> {
        let entries = self.groups.entries.lock();
        let mut groups: Vec<GroupListing> = entries
            .values()
            .map(|e| GroupListing {
                group_id: e.membership.id.clone(),
                protocol_type: e
                    .membership
                    .protocol_type()
                    .unwrap_or(if e.offsets.is_empty() { "" } else { "consumer" })
                    .to_string(),
                state: e.membership.state(),
            })
            .collect();
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        groups
    }

    pub fn describe_group(&self, group_id: &str) -> GroupDescription {
        let entries = self.groups.entries.lock();
        match entries.get(group_id) {
            Some(e) => GroupDescription {
                group_id: group_id.into(),
                state: Some(e.membership.state()),
                protocol_type: e.membership.protocol_type().unwrap_or_default().into(),
                protocol: e.membership.protocol().unwrap_or_default().into(),
                members: e.membership.members(),
            },
            None => GroupDescription {
                group_id: group_id.into(),
                state: None,
                protocol_type: String::new(),
                protocol: String::new(),
                members: Vec::new(),
            },
        }
    }

    /// Expires member sessions and completes rebalances at their deadlines, sleeping
    /// until the next deadline or until a group operation may have moved it.
    pub async fn run_group_timers(self: Arc<Self>) {
        const RETENTION_CHECK: Duration = Duration::from_secs(60);
        let mut shutdown = self.shutdown_signal();
        let mut next_retention_check = Instant::now();
        loop {
            if Instant::now() >= next_retention_check {
                if let Err(e) = self.expire_offsets().await {
                    tracing::warn!(error = %e, "offset retention failed");
                }
                next_retention_check = Instant::now() + RETENTION_CHECK;
            }
            let notified = self.groups.timers.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let next = {
                let now = Instant::now();
                let mut entries = self.groups.entries.lock();
                entries
                    .values_mut()
                    .filter_map(|e| {
                        e.membership.tick(now);
                        e.membership.next_deadline()
                    })
                    .min()
                    .map_or(next_retention_check, |d| d.min(next_retention_check))
            };
            let sleep_until = tokio::time::Instant::from_std(next);
            tokio::select! {
                _ = tokio::time::sleep_until(sleep_until) => {}
                _ = notified => {}
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
