//! One group under the consumer rebalance protocol (KIP-848): members heartbeat, the
//! broker computes the target assignment with a server-side assignor, and each member is
//! reconciled towards its target one heartbeat at a time. A partition moves only after
//! its previous owner has confirmed releasing it, so no partition ever has two owners.
//!
//! Pure state like `membership.rs`: callers pass `now` and the topics' partition counts.

use std::collections::{BTreeMap, BTreeSet};
use std::time::{Duration, Instant};

use super::assignor::{self, TopicPartition};
use crate::error::BrokerError;

pub const DEFAULT_ASSIGNOR: &str = "uniform";
const ASSIGNORS: &[&str] = &["uniform", "range"];

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
    pub assignment: BTreeSet<TopicPartition>,
    pub target_assignment: BTreeSet<TopicPartition>,
}

#[derive(Debug)]
struct Member {
    epoch: i32,
    previous_epoch: i32,
    instance_id: Option<String>,
    rack_id: Option<String>,
    client_id: String,
    client_host: String,
    subscribed: Vec<String>,
    assigned: BTreeSet<TopicPartition>,
    /// Taken from the member, not yet confirmed released.
    revoking: BTreeSet<TopicPartition>,
    last_sent: Option<BTreeSet<TopicPartition>>,
    session_deadline: Instant,
}

#[derive(Debug, Default)]
pub struct ConsumerGroup {
    group_epoch: i32,
    assignment_epoch: i32,
    assignor: Option<String>,
    members: BTreeMap<String, Member>,
    target: BTreeMap<String, BTreeSet<TopicPartition>>,
    /// Partition counts the target was computed from: a change means recompute.
    target_partitions: BTreeMap<String, i32>,
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

    /// Every topic some member subscribes to.
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members.values().flat_map(|m| m.subscribed.iter().cloned()).collect()
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
                subscribed_topics: m.subscribed.clone(),
                assignment: m.assigned.clone(),
                target_assignment: self.target.get(id).cloned().unwrap_or_default(),
            })
            .collect()
    }

    /// Handles ConsumerGroupHeartbeat. `partitions` gives the partition count of every
    /// existing topic any member subscribes to (after this heartbeat's subscription).
    pub fn heartbeat(
        &mut self,
        hb: ConsumerHeartbeat,
        now: Instant,
        session_timeout: Duration,
        partitions: impl Fn(&BTreeSet<String>) -> BTreeMap<String, i32>,
    ) -> Result<HeartbeatOutcome, BrokerError> {
        if let Some(a) = &hb.server_assignor {
            if !ASSIGNORS.contains(&a.as_str()) {
                return Err(BrokerError::UnsupportedAssignor(a.clone()));
            }
        }
        let member_id = match hb.member_epoch {
            -1 | -2 => {
                if self.members.remove(&hb.member_id).is_some() {
                    self.group_epoch += 1;
                }
                return Ok(HeartbeatOutcome {
                    member_id: hb.member_id,
                    member_epoch: hb.member_epoch,
                    assignment: None,
                });
            }
            0 => {
                let id = if hb.member_id.is_empty() { uuid::Uuid::new_v4().to_string() } else { hb.member_id.clone() };
                if let Some(instance) = &hb.instance_id {
                    // A restarted static member takes over its instance's previous place.
                    let previous: Vec<String> = self
                        .members
                        .iter()
                        .filter(|(mid, m)| m.instance_id.as_ref() == Some(instance) && **mid != id)
                        .map(|(mid, _)| mid.clone())
                        .collect();
                    for old in previous {
                        self.members.remove(&old);
                    }
                }
                let fresh = Member {
                    epoch: 0,
                    previous_epoch: 0,
                    instance_id: hb.instance_id.clone(),
                    rack_id: hb.rack_id.clone(),
                    client_id: hb.client_id.clone(),
                    client_host: hb.client_host.clone(),
                    subscribed: Vec::new(),
                    assigned: BTreeSet::new(),
                    revoking: BTreeSet::new(),
                    last_sent: None,
                    session_deadline: now + session_timeout,
                };
                // Joining again with epoch 0 means the member holds nothing any more.
                self.members.insert(id.clone(), fresh);
                self.group_epoch += 1;
                id
            }
            epoch => {
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
        if let Some(mut topics) = hb.subscribed_topics {
            topics.sort();
            topics.dedup();
            if topics != member.subscribed {
                member.subscribed = topics;
                self.group_epoch += 1;
            }
        }
        if let Some(owned) = hb.owned {
            let owned: BTreeSet<TopicPartition> = owned.into_iter().collect();
            member.revoking.retain(|p| owned.contains(p));
        }
        if let Some(a) = hb.server_assignor {
            self.assignor = Some(a);
        }
        let counts = partitions(&self.subscribed_topics());
        if self.group_epoch > self.assignment_epoch || counts != self.target_partitions {
            let subscriptions = self.members.iter().map(|(id, m)| (id.clone(), m.subscribed.clone())).collect();
            self.target = assignor::assign(self.assignor(), &subscriptions, &counts);
            self.target_partitions = counts;
            self.group_epoch = self.group_epoch.max(self.assignment_epoch + 1);
            self.assignment_epoch = self.group_epoch;
        }
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

    /// Validates an offset commit from a member of this protocol.
    pub fn check_commit(&self, member_id: &str, epoch: i32) -> Result<(), BrokerError> {
        let m = self.members.get(member_id).ok_or_else(|| BrokerError::UnknownMemberId(member_id.into()))?;
        if epoch > m.epoch {
            return Err(BrokerError::FencedMemberEpoch { given: epoch, current: m.epoch });
        }
        if epoch < m.epoch {
            return Err(BrokerError::StaleMemberEpoch { given: epoch, current: m.epoch });
        }
        Ok(())
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

#[cfg(test)]
mod tests {
    use super::*;

    fn hb(
        member_id: &str,
        epoch: i32,
        topics: Option<&[&str]>,
        owned: Option<Vec<TopicPartition>>,
    ) -> ConsumerHeartbeat {
        ConsumerHeartbeat {
            member_id: member_id.into(),
            member_epoch: epoch,
            instance_id: None,
            rack_id: None,
            client_id: "c".into(),
            client_host: "/127.0.0.1".into(),
            rebalance_timeout: Duration::from_secs(30),
            subscribed_topics: topics.map(|t| t.iter().map(|s| s.to_string()).collect()),
            server_assignor: None,
            owned,
        }
    }

    fn four(_: &BTreeSet<String>) -> BTreeMap<String, i32> {
        [("t".to_string(), 4)].into()
    }

    #[test]
    fn a_partition_moves_only_after_its_owner_releases_it() {
        let (mut g, now, s) = (ConsumerGroup::default(), Instant::now(), Duration::from_secs(45));
        let a = g.heartbeat(hb("a", 0, Some(&["t"]), None), now, s, four).unwrap();
        assert_eq!(a.assignment.as_ref().unwrap().len(), 4);
        let a_epoch = a.member_epoch;
        let b = g.heartbeat(hb("b", 0, Some(&["t"]), None), now, s, four).unwrap();
        assert_eq!(b.assignment, Some(BTreeSet::new()), "b waits: a still owns everything");
        assert_eq!(g.state(), "Reconciling");
        // a is told to give two partitions up, at its old epoch.
        let a = g.heartbeat(hb("a", a_epoch, None, None), now, s, four).unwrap();
        let kept = a.assignment.unwrap();
        assert_eq!((kept.len(), a.member_epoch), (2, a_epoch));
        // b still gets nothing until a confirms.
        assert_eq!(g.heartbeat(hb("b", b.member_epoch, None, None), now, s, four).unwrap().assignment, None);
        let a = g.heartbeat(hb("a", a_epoch, None, Some(kept.iter().cloned().collect())), now, s, four).unwrap();
        assert!(a.member_epoch > a_epoch);
        let b = g.heartbeat(hb("b", b.member_epoch, None, None), now, s, four).unwrap();
        let got = b.assignment.unwrap();
        assert_eq!(got.len(), 2);
        assert!(got.is_disjoint(&kept));
        assert_eq!(g.state(), "Stable");
        // Leaving hands b's partitions back to a at the next heartbeat.
        g.heartbeat(hb("b", -1, None, None), now, s, four).unwrap();
        let a = g.heartbeat(hb("a", a.member_epoch, None, None), now, s, four).unwrap();
        assert_eq!(a.assignment.unwrap().len(), 4);
    }

    #[test]
    fn stale_epochs_and_unknown_members_are_refused() {
        let (mut g, now, s) = (ConsumerGroup::default(), Instant::now(), Duration::from_secs(45));
        let a = g.heartbeat(hb("a", 0, Some(&["t"]), None), now, s, four).unwrap();
        assert!(matches!(
            g.heartbeat(hb("a", a.member_epoch + 5, None, None), now, s, four),
            Err(BrokerError::FencedMemberEpoch { .. })
        ));
        assert!(matches!(g.heartbeat(hb("zz", 3, None, None), now, s, four), Err(BrokerError::UnknownMemberId(_))));
        assert!(matches!(g.check_commit("a", a.member_epoch - 1), Err(BrokerError::StaleMemberEpoch { .. })));
        assert_eq!(g.tick(now + Duration::from_secs(46)), vec!["a".to_string()]);
        assert_eq!(g.state(), "Empty");
    }
}
