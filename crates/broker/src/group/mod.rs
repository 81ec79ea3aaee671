//! The group coordinator: consumer groups under the classic protocol (`membership.rs`)
//! and the consumer protocol of KIP-848 (`consumer_group.rs`, which also serves classic
//! members of a group being migrated, `migration.rs`), and their committed offsets
//! (`offsets.rs`). Membership logic is pure state; this module owns the
//! registry, the one timer task that expires sessions and completes rebalances, and the
//! broker calls front-ends make.

mod assignor;
mod consumer_group;
mod consumer_group_api;
mod consumer_protocol;
mod consumer_subscription;
mod membership;
mod membership_api;
mod migration;
mod offsets;
mod offsets_format;

use std::collections::{BTreeMap, HashMap, HashSet};
use std::sync::Arc;
use std::time::{Duration, Instant};

use parking_lot::Mutex;
use tokio::sync::Notify;

pub use consumer_group::{ConsumerHeartbeat, ConsumerMemberSummary, HeartbeatOutcome};
pub use membership::{GroupState, JoinOutcome, JoinParams, JoinedMember, MemberSummary, SyncOutcome};
pub use membership_api::decode_consumer_assignment;
pub use offsets::{OffsetCommit, PartitionLag, TopicOffsets};
pub use offsets_format::CommittedOffset;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::config::keys;
use crate::error::{BrokerError, Result};
use consumer_group::ConsumerGroup;
use membership::Group;

pub const OFFSETS_TOPIC: &str = "__consumer_offsets";

/// A group id's state and offsets. Its members are in `membership` (a classic group) or
/// in `consumer` (a consumer group, classic-protocol members included), never both.
pub(crate) struct GroupEntry {
    membership: Group,
    consumer: ConsumerGroup,
    offsets: BTreeMap<(String, i32), CommittedOffset>,
}

impl GroupEntry {
    fn new(id: &str) -> Self {
        GroupEntry { membership: Group::new(id.into()), consumer: ConsumerGroup::default(), offsets: BTreeMap::new() }
    }

    fn is_consumer_protocol(&self) -> bool {
        !self.consumer.is_empty() || (self.membership.is_empty() && self.consumer.group_epoch() > 0)
    }

    fn has_members(&self) -> bool {
        !self.membership.is_empty() || !self.consumer.is_empty()
    }

    /// Topics the group's members consume, under either protocol.
    fn subscribed_topics(&self) -> HashSet<String> {
        let mut topics = self.membership.subscribed_topics();
        topics.extend(self.consumer.subscribed_topics());
        topics
    }

    fn check_commit(&self, generation: i32, member_id: &str, instance: Option<&str>) -> Result<()> {
        if !self.consumer.is_empty() {
            return self.consumer.check_commit(member_id, generation);
        }
        self.membership.check_commit(generation, member_id, instance)
    }
}

/// Every group this broker coordinates (on one node: all of them).
#[derive(Default)]
pub(crate) struct Groups {
    entries: Mutex<HashMap<String, GroupEntry>>,
    /// Wakes the timer task when a deadline may have moved earlier.
    timers: Notify,
}

impl Groups {
    /// Is `group_id` a classic or consumer group (share groups keep their own namespace)?
    pub(crate) fn contains(&self, group_id: &str) -> bool {
        self.entries.lock().contains_key(group_id)
    }
}

#[derive(Debug, Clone)]
pub struct GroupListing {
    pub group_id: String,
    pub protocol_type: String,
    /// Kafka's state name ("Stable", "Empty", ...).
    pub state: &'static str,
    /// "classic", "consumer" (KIP-848) or "share" (KIP-932).
    pub group_type: &'static str,
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

#[derive(Debug, Clone)]
pub struct ConsumerGroupDescription {
    pub group_id: String,
    pub state: &'static str,
    pub group_epoch: i32,
    pub assignment_epoch: i32,
    pub assignor: String,
    pub members: Vec<ConsumerMemberSummary>,
}

impl Broker {
    fn session_bounds(&self) -> (i64, i64) {
        (self.config.get(keys::GROUP_MIN_SESSION_TIMEOUT_MS), self.config.get(keys::GROUP_MAX_SESSION_TIMEOUT_MS))
    }

    fn with_group<T>(&self, group_id: &str, f: impl FnOnce(&mut GroupEntry) -> T) -> T {
        let result =
            f(self.groups.entries.lock().entry(group_id.to_string()).or_insert_with(|| GroupEntry::new(group_id)));
        self.groups.timers.notify_one();
        result
    }

    fn with_existing_group<T>(&self, group_id: &str, f: impl FnOnce(&mut GroupEntry) -> Result<T>) -> Result<T> {
        let result = match self.groups.entries.lock().get_mut(group_id) {
            Some(entry) => f(entry),
            None => Err(BrokerError::UnknownMemberId(String::new())),
        };
        self.groups.timers.notify_one();
        result
    }

    pub async fn join_group(&self, ctx: &RequestContext, group_id: &str, params: JoinParams) -> Result<JoinOutcome> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        let (min, max) = self.session_bounds();
        let session_ms = params.session_timeout.as_millis() as i64;
        if session_ms < min || session_ms > max {
            return Err(BrokerError::InvalidSessionTimeout { given: session_ms as i32, min, max });
        }
        let initial_delay = Duration::from_millis(self.config.get(keys::GROUP_INITIAL_REBALANCE_DELAY_MS) as u64);
        let topics = self.topic_catalogue();
        let reply = self.with_group(group_id, |g| {
            if !g.consumer.is_empty() {
                // A consumer group serves classic members itself, answering at once.
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(g.consumer.classic_join(params, Instant::now(), &topics));
                return Ok::<_, BrokerError>(rx);
            }
            g.forget_empty_consumer_group();
            Ok(g.membership.join(params, Instant::now(), initial_delay))
        })?;
        reply.await.unwrap_or(Err(BrokerError::RebalanceInProgress))
    }

    pub async fn sync_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        assignments: Vec<(String, bytes::Bytes)>,
    ) -> Result<SyncOutcome> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        let reply = self.with_existing_group(group_id, |g| {
            if !g.consumer.is_empty() {
                let (tx, rx) = tokio::sync::oneshot::channel();
                let _ = tx.send(g.consumer.classic_sync(generation, member_id, instance, Instant::now()));
                return Ok(rx);
            }
            Ok(g.membership.sync(generation, member_id, instance, assignments, Instant::now()))
        })?;
        reply.await.unwrap_or(Err(BrokerError::RebalanceInProgress))
    }

    pub fn heartbeat(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<()> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        self.with_existing_group(group_id, |g| {
            if !g.consumer.is_empty() {
                return g.consumer.classic_heartbeat(generation, member_id, instance, Instant::now());
            }
            g.membership.heartbeat(generation, member_id, instance, Instant::now())
        })
    }

    /// Removes members; one result per (member id, instance id) given.
    pub fn leave_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        members: &[(String, Option<String>)],
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        let now = Instant::now();
        Ok(members
            .iter()
            .map(|(member_id, instance)| {
                self.with_existing_group(group_id, |g| {
                    if g.consumer.is_empty() {
                        return g.membership.leave(member_id, instance.as_deref(), now);
                    }
                    let left = g.consumer.classic_leave(member_id, instance.as_deref());
                    g.maybe_downgrade(now);
                    left
                })
            })
            .collect())
    }

    /// ConsumerGroupHeartbeat (KIP-848): join, stay, leave, and learn the assignment.
    pub fn consumer_group_heartbeat(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        heartbeat: ConsumerHeartbeat,
    ) -> Result<HeartbeatOutcome> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        // The group's own consumer.session.timeout.ms (GROUP config), else the broker's.
        let session = Duration::from_millis(self.group_config(group_id).consumer_session_timeout_ms as u64);
        let topics = self.topic_catalogue();
        self.with_group(group_id, |g| {
            let now = Instant::now();
            g.upgrade_for_consumer_protocol(group_id, now)?;
            let outcome = g.consumer.heartbeat(heartbeat, now, session, &topics);
            g.maybe_downgrade(now);
            outcome
        })
    }

    /// Every topic's partition count: what subscriptions resolve against. Read before
    /// the group lock is taken.
    fn topic_catalogue(&self) -> BTreeMap<String, i32> {
        self.all_topics().iter().map(|t| (t.meta.name.clone(), t.partitions.len() as i32)).collect()
    }

    pub fn consumer_heartbeat_interval(&self) -> Duration {
        Duration::from_millis(self.config.get(keys::GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS) as u64)
    }

    /// ConsumerGroupDescribe; `None` if the id names no consumer-protocol group.
    pub fn describe_consumer_group(
        &self,
        ctx: &RequestContext,
        group_id: &str,
    ) -> Result<Option<ConsumerGroupDescription>> {
        self.authorize(ctx, Operation::Describe, Resource::Group(group_id))?;
        let entries = self.groups.entries.lock();
        let Some(e) = entries.get(group_id).filter(|e| e.is_consumer_protocol()) else { return Ok(None) };
        Ok(Some(ConsumerGroupDescription {
            group_id: group_id.into(),
            state: e.consumer.state(),
            group_epoch: e.consumer.group_epoch(),
            assignment_epoch: e.consumer.assignment_epoch(),
            assignor: e.consumer.assignor().into(),
            members: e.consumer.members(),
        }))
    }

    /// True when `group_id` is a consumer-protocol group (DescribeGroups refuses those).
    pub fn is_consumer_protocol_group(&self, group_id: &str) -> bool {
        self.groups.entries.lock().get(group_id).is_some_and(|e| e.is_consumer_protocol())
    }

    pub fn list_groups(&self, ctx: &RequestContext) -> Result<Vec<GroupListing>> {
        self.authorize(ctx, Operation::Describe, Resource::Cluster)?;
        let entries = self.groups.entries.lock();
        let mut groups: Vec<GroupListing> = entries
            .values()
            .map(|e| {
                if e.is_consumer_protocol() {
                    return GroupListing {
                        group_id: e.membership.id.clone(),
                        protocol_type: "consumer".into(),
                        state: e.consumer.state(),
                        group_type: "consumer",
                    };
                }
                let protocol_type =
                    e.membership.protocol_type().unwrap_or(if e.offsets.is_empty() { "" } else { "consumer" });
                GroupListing {
                    group_id: e.membership.id.clone(),
                    protocol_type: protocol_type.to_string(),
                    state: e.membership.state().as_str(),
                    group_type: "classic",
                }
            })
            .collect();
        drop(entries);
        groups.extend(self.share_group_listing().into_iter().map(|(group_id, state)| GroupListing {
            group_id,
            protocol_type: "share".into(),
            state,
            group_type: "share",
        }));
        groups.sort_by(|a, b| a.group_id.cmp(&b.group_id));
        Ok(groups)
    }

    pub fn describe_group(&self, ctx: &RequestContext, group_id: &str) -> Result<GroupDescription> {
        self.authorize(ctx, Operation::Describe, Resource::Group(group_id))?;
        let entries = self.groups.entries.lock();
        Ok(match entries.get(group_id) {
            Some(e) => GroupDescription {
                group_id: group_id.into(),
                state: Some(e.membership.state()),
                // As ListGroups: a group emptied of members keeps the type its offsets imply.
                protocol_type: e
                    .membership
                    .protocol_type()
                    .unwrap_or(if e.offsets.is_empty() { "" } else { "consumer" })
                    .into(),
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
        })
    }

    /// Expires member sessions, completes rebalances at their deadlines and expires old
    /// offsets, sleeping until the next deadline or until a group operation may have moved it.
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
                        for id in e.consumer.tick(now) {
                            tracing::info!(group = %e.membership.id, member = %id, "consumer-protocol member session expired");
                        }
                        e.maybe_downgrade(now);
                        [e.membership.next_deadline(), e.consumer.next_deadline()].into_iter().flatten().min()
                    })
                    .min()
                    .map_or(next_retention_check, |d| d.min(next_retention_check))
            };
            tokio::select! {
                _ = tokio::time::sleep_until(tokio::time::Instant::from_std(next)) => {}
                _ = notified => {}
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
        }
    }
}

#[cfg(test)]
mod tests;
