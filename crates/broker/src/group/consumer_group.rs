//! One group under the consumer rebalance protocol (KIP-848): members heartbeat, the
//! broker computes the target assignment with a server-side assignor, and each member is
//! reconciled towards its target one heartbeat at a time. A partition moves only after
//! its previous owner has confirmed releasing it, so no partition ever has two owners.
//!
//! Static members (KIP-345 under KIP-848) keep their place while they restart: a member
//! that leaves with epoch -2 stays in the group, holding its partitions, until its session
//! expires or a new member with the same instance id takes over its assignment. A live
//! instance id cannot be taken (UNRELEASED_INSTANCE_ID).
//!
//! Pure state like `membership.rs`: callers pass `now` and the topic catalogue.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::assignor::{self, TopicPartition};
pub use super::consumer_group_api::*;
use super::consumer_subscription::{Subscription, TopicRegex};
use super::membership_api::JoinParams;
use crate::error::BrokerError;

pub const DEFAULT_ASSIGNOR: &str = "uniform";
const ASSIGNORS: &[&str] = &["uniform", "range"];
/// The epoch a static member leaves with when it means to come back.
const LEAVE_STATIC_EPOCH: i32 = -2;
const LEAVE_EPOCH: i32 = -1;

#[derive(Debug)]
struct Member {
    epoch: i32,
    previous_epoch: i32,
    instance_id: Option<String>,
    rack_id: Option<String>,
    client_id: String,
    client_host: String,
    subscription: Subscription,
    assigned: BTreeSet<TopicPartition>,
    /// Taken from the member, not yet confirmed released.
    revoking: BTreeSet<TopicPartition>,
    last_sent: Option<BTreeSet<TopicPartition>>,
    session_deadline: Instant,
    /// Set for a member speaking the classic protocol (JoinGroup/SyncGroup/Heartbeat):
    /// its join, whose session timeout and protocols it keeps.
    classic: Option<JoinParams>,
}

#[derive(Debug, Default)]
pub struct ConsumerGroup {
    group_epoch: i32,
    assignment_epoch: i32,
    assignor: Option<String>,
    members: BTreeMap<String, Member>,
    target: BTreeMap<String, BTreeSet<TopicPartition>>,
    /// The resolved subscriptions and partition counts the target was computed from:
    /// a change (a topic created, deleted or grown) means recompute.
    target_subscriptions: BTreeMap<String, Vec<String>>,
    target_partitions: BTreeMap<String, i32>,
    /// A hash of the topic catalogue last resolved against: while it and the group epoch
    /// stay the same, heartbeats skip resolving every member's regex again.
    target_catalogue: u64,
}

impl ConsumerGroup {
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    pub fn group_epoch(&self) -> i32 {
        self.group_epoch
    }

    pub fn assignment_epoch(&self) -> i32 {
        self.assignment_epoch
    }

    pub fn assignor(&self) -> &str {
        self.assignor.as_deref().unwrap_or(DEFAULT_ASSIGNOR)
    }

    /// Every topic some member subscribes to, by name or through its regex.
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        let named = self.members.values().flat_map(|m| m.subscription.names.iter().cloned());
        named.chain(self.target_subscriptions.values().flatten().cloned()).collect()
    }

    /// Kafka's consumer group states.
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else if self.group_epoch != self.assignment_epoch {
            "Assigning"
        } else if self.members.values().any(|m| m.epoch != self.assignment_epoch || !m.revoking.is_empty()) {
            "Reconciling"
        } else {
            "Stable"
        }
    }

    pub fn members(&self) -> Vec<ConsumerMemberSummary> {
        self.members
            .iter()
            .map(|(id, m)| ConsumerMemberSummary {
                member_id: id.clone(),
                instance_id: m.instance_id.clone(),
                rack_id: m.rack_id.clone(),
                member_epoch: m.epoch,
                client_id: m.client_id.clone(),
                client_host: m.client_host.clone(),
                subscribed_topics: m.subscription.names.clone(),
                subscribed_topic_regex: m.subscription.regex.as_ref().map(|r| r.as_str().to_string()),
                assignment: m.assigned.clone(),
                target_assignment: self.target.get(id).cloned().unwrap_or_default(),
                classic: m.classic.is_some(),
            })
            .collect()
    }

    /// The member holding `instance`, if any.
    fn static_member(&self, instance: &str) -> Option<(&String, &Member)> {
        self.members.iter().find(|(_, m)| m.instance_id.as_deref() == Some(instance))
    }

    /// Handles ConsumerGroupHeartbeat. `topics` is the catalogue: every existing topic's
    /// partition count, against which names and regexes are resolved.
    pub fn heartbeat(
        &mut self,
        hb: ConsumerHeartbeat,
        now: Instant,
        session_timeout: Duration,
        topics: &BTreeMap<String, i32>,
    ) -> Result<HeartbeatOutcome, BrokerError> {
        if let Some(a) = &hb.server_assignor {
            if !ASSIGNORS.contains(&a.as_str()) {
                return Err(BrokerError::UnsupportedAssignor(a.clone()));
            }
        }
        // Validated before anything changes: a refused heartbeat leaves the group as it was.
        let regex = match hb.subscribed_topic_regex.as_deref() {
            None => None,
            Some("") => Some(None),
            Some(source) => Some(Some(TopicRegex::parse(source)?)),
        };
        let member_id = match hb.member_epoch {
            LEAVE_EPOCH | LEAVE_STATIC_EPOCH => return self.leave(hb),
            0 => self.join(&hb, now, session_timeout)?,
            epoch => {
                if let Some(instance) = &hb.instance_id {
                    match self.static_member(instance) {
                        None => return Err(BrokerError::UnknownMemberId(hb.member_id.clone())),
                        Some((id, _)) if *id != hb.member_id => {
                            return Err(BrokerError::FencedInstanceId(instance.clone()))
                        }
                        Some(_) => {}
                    }
                }
                let m = self
                    .members
                    .get(&hb.member_id)
                    .ok_or_else(|| BrokerError::UnknownMemberId(hb.member_id.clone()))?;
                if epoch != m.epoch && epoch != m.previous_epoch {
                    return Err(BrokerError::FencedMemberEpoch { given: epoch, current: m.epoch });
                }
                hb.member_id.clone()
            }
        };
        let Some(member) = self.members.get_mut(&member_id) else {
            return Err(BrokerError::UnknownMemberId(member_id));
        };
        member.session_deadline = now + session_timeout;
        let mut subscription_changed = false;
        if let Some(names) = hb.subscribed_topics {
            subscription_changed |= member.subscription.set_names(names);
        }
        if let Some(regex) = regex {
            subscription_changed |= member.subscription.set_regex(regex);
        }
        if subscription_changed {
            self.group_epoch += 1;
        }
        if let Some(owned) = hb.owned {
            let owned: BTreeSet<TopicPartition> = owned.into_iter().collect();
            member.revoking.retain(|p| owned.contains(p));
        }
        if let Some(a) = hb.server_assignor {
            self.assignor = Some(a);
        }
        self.maybe_compute_target(topics);
        self.reconcile(&member_id);
        let member = self.members.get_mut(&member_id).ok_or_else(|| BrokerError::UnknownMemberId(member_id.clone()))?;
        let changed = member.last_sent.as_ref() != Some(&member.assigned);
        if changed {
            member.last_sent = Some(member.assigned.clone());
        }
        Ok(HeartbeatOutcome {
            member_id,
            member_epoch: member.epoch,
            assignment: changed.then(|| member.assigned.clone()),
        })
    }

    /// A heartbeat with epoch 0: a new member, a member starting over, or a static member
    /// taking over the place its instance id left open. Returns the member id.
    fn join(&mut self, hb: &ConsumerHeartbeat, now: Instant, session_timeout: Duration) -> Result<String, BrokerError> {
        let id = if hb.member_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { hb.member_id.clone() };
        let previous = hb
            .instance_id
            .as_deref()
            .and_then(|instance| self.static_member(instance))
            .filter(|(old_id, _)| **old_id != id)
            .map(|(old_id, old)| (old_id.clone(), old.epoch, old.classic.is_some()));
        if let Some((old_id, old_epoch, old_is_classic)) = previous {
            // Kafka lets an instance move from the classic protocol to this one at once.
            if old_epoch != LEAVE_STATIC_EPOCH && !old_is_classic {
                return Err(BrokerError::UnreleasedInstanceId(hb.instance_id.clone().unwrap_or_default()));
            }
            // The restarted instance takes over the old member's assignment under its new
            // id, without a rebalance.
            if let Some(mut m) = self.members.remove(&old_id) {
                m.epoch = 0;
                m.previous_epoch = 0;
                m.rack_id = hb.rack_id.clone();
                m.client_id = hb.client_id.clone();
                m.client_host = hb.client_host.clone();
                m.last_sent = None;
                m.session_deadline = now + session_timeout;
                m.classic = None;
                self.members.insert(id.clone(), m);
            }
            if let Some(t) = self.target.remove(&old_id) {
                self.target.insert(id.clone(), t);
            }
            if let Some(s) = self.target_subscriptions.remove(&old_id) {
                self.target_subscriptions.insert(id.clone(), s);
            }
            return Ok(id);
        }
        let fresh = Member {
            epoch: 0,
            previous_epoch: 0,
            instance_id: hb.instance_id.clone(),
            rack_id: hb.rack_id.clone(),
            client_id: hb.client_id.clone(),
            client_host: hb.client_host.clone(),
            subscription: Subscription::default(),
            assigned: BTreeSet::new(),
            revoking: BTreeSet::new(),
            last_sent: None,
            session_deadline: now + session_timeout,
            classic: None,
        };
        // Joining again with epoch 0 means the member holds nothing any more.
        self.members.insert(id.clone(), fresh);
        self.group_epoch += 1;
        Ok(id)
    }

    /// A heartbeat with epoch -1 (leave) or -2 (a static member leaving for a restart).
    fn leave(&mut self, hb: ConsumerHeartbeat) -> Result<HeartbeatOutcome, BrokerError> {
        let outcome =
            Ok(HeartbeatOutcome { member_id: hb.member_id.clone(), member_epoch: hb.member_epoch, assignment: None });
        let Some(instance) = &hb.instance_id else {
            if self.members.remove(&hb.member_id).is_none() {
                return Err(BrokerError::UnknownMemberId(hb.member_id));
            }
            self.group_epoch += 1;
            return outcome;
        };
        let id = match self.static_member(instance) {
            None => return Err(BrokerError::UnknownMemberId(hb.member_id)),
            Some((id, _)) if *id != hb.member_id => return Err(BrokerError::FencedInstanceId(instance.clone())),
            Some((id, _)) => id.clone(),
        };
        if hb.member_epoch == LEAVE_STATIC_EPOCH {
            // Kept, partitions and all, until the session expires or the instance returns.
            if let Some(m) = self.members.get_mut(&id) {
                m.epoch = LEAVE_STATIC_EPOCH;
            }
        } else {
            self.members.remove(&id);
            self.group_epoch += 1;
        }
        outcome
    }

    /// Recomputes the target assignment when the group epoch moved on or the resolved
    /// subscriptions or partition counts differ from those of the current target.
    fn maybe_compute_target(&mut self, topics: &BTreeMap<String, i32>) {
        let catalogue = {
            use std::hash::{Hash, Hasher};
            let mut h = std::collections::hash_map::DefaultHasher::new();
            topics.hash(&mut h);
            h.finish()
        };
        if self.group_epoch == self.assignment_epoch && catalogue == self.target_catalogue {
            return;
        }
        self.target_catalogue = catalogue;
        let subscriptions: BTreeMap<String, Vec<String>> =
            self.members.iter().map(|(id, m)| (id.clone(), m.subscription.resolve(topics))).collect();
        let counts: BTreeMap<String, i32> =
            subscriptions.values().flatten().filter_map(|t| topics.get(t).map(|count| (t.clone(), *count))).collect();
        if self.group_epoch > self.assignment_epoch
            || counts != self.target_partitions
            || subscriptions != self.target_subscriptions
        {
            self.target = assignor::assign(self.assignor(), &subscriptions, &counts);
            self.target_subscriptions = subscriptions;
            self.target_partitions = counts;
            self.group_epoch = self.group_epoch.max(self.assignment_epoch + 1);
            self.assignment_epoch = self.group_epoch;
        }
    }

    /// Moves one member towards its target: first take away what it must give up; once
    /// it has confirmed, advance its epoch and grant the target partitions nobody holds.
    fn reconcile(&mut self, member_id: &str) {
        let target = self.target.get(member_id).cloned().unwrap_or_default();
        let held_by_others: BTreeSet<TopicPartition> = self
            .members
            .iter()
            .filter(|(id, _)| id.as_str() != member_id)
            .flat_map(|(_, m)| m.assigned.iter().chain(m.revoking.iter()).cloned())
            .collect();
        let assignment_epoch = self.assignment_epoch;
        let Some(member) = self.members.get_mut(member_id) else { return };
        let to_revoke: BTreeSet<TopicPartition> = member.assigned.difference(&target).cloned().collect();
        if !to_revoke.is_empty() {
            member.assigned.retain(|p| target.contains(p));
            member.revoking.extend(to_revoke);
            return;
        }
        if !member.revoking.is_empty() {
            return;
        }
        member.assigned =
            target.into_iter().filter(|p| member.assigned.contains(p) || !held_by_others.contains(p)).collect();
        if member.epoch != assignment_epoch {
            member.previous_epoch = member.epoch;
            member.epoch = assignment_epoch;
        }
    }

    /// Validates an offset commit as Kafka's `ConsumerGroup.validateOffsetCommit`: a
    /// negative epoch while the group has no members is a commit from outside the group
    /// (an admin client, or a consumer using `assign()`); otherwise the member must exist
    /// and commit at exactly its current epoch.
    pub fn check_commit(&self, member_id: &str, epoch: i32) -> Result<(), BrokerError> {
        if epoch < 0 && self.members.is_empty() {
            return Ok(());
        }
        let m = self.members.get(member_id).ok_or_else(|| BrokerError::UnknownMemberId(member_id.into()))?;
        match (epoch == m.epoch, m.classic.is_some()) {
            (true, _) => Ok(()),
            // A classic member's generation is its member epoch.
            (false, true) => Err(BrokerError::IllegalGeneration { given: epoch, current: m.epoch }),
            (false, false) => Err(BrokerError::StaleMemberEpoch { given: epoch, current: m.epoch }),
        }
    }

    /// Removes members whose session expired; returns their ids.
    pub fn tick(&mut self, now: Instant) -> Vec<String> {
        let expired: Vec<String> =
            self.members.iter().filter(|(_, m)| m.session_deadline <= now).map(|(id, _)| id.clone()).collect();
        for id in &expired {
            self.members.remove(id);
        }
        if !expired.is_empty() {
            self.group_epoch += 1;
        }
        expired
    }

    pub fn next_deadline(&self) -> Option<Instant> {
        self.members.values().map(|m| m.session_deadline).min()
    }
}

#[path = "consumer_group_classic.rs"]
mod classic;
pub use classic::ClassicMemberState;

#[cfg(test)]
#[path = "consumer_group_tests.rs"]
mod tests;
