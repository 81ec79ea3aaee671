//! Share group membership (KIP-932): members join with the topics they subscribe to, the
//! group's epoch moves on every change, and the assignor gives each member partitions.
//! Unlike a consumer group, members may share a partition, so an assignment takes effect
//! at once: nothing is revoked first.

use std::collections::{BTreeMap, BTreeSet};

/// One member, as ShareGroupHeartbeat and ShareGroupDescribe see it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShareMember {
    pub member_id: String,
    pub member_epoch: i32,
    pub client_id: String,
    pub client_host: String,
    pub rack_id: Option<String>,
    pub subscribed: BTreeSet<String>,
    /// topic → partitions.
    pub assignment: BTreeMap<String, Vec<i32>>,
    pub last_heartbeat_ms: i64,
}

#[derive(Debug, Clone, Default)]
pub struct ShareGroup {
    /// Moves on when members or their subscriptions change.
    pub epoch: i32,
    pub members: BTreeMap<String, ShareMember>,
    /// The partition counts the current assignment was made from.
    pub assigned_from: BTreeMap<String, i32>,
}

impl ShareGroup {
    /// Kafka's names: Empty with no members, Stable otherwise (nothing to reconcile).
    pub fn state(&self) -> &'static str {
        if self.members.is_empty() {
            "Empty"
        } else {
            "Stable"
        }
    }

    /// The topics any member subscribes to.
    pub fn subscribed_topics(&self) -> BTreeSet<String> {
        self.members.values().flat_map(|m| m.subscribed.iter().cloned()).collect()
    }

    /// Reassigns every member under a new group epoch. Each member learns both with its
    /// next heartbeat, whose answer carries its new member epoch. `partitions` is the
    /// partition count of each subscribed topic that exists.
    pub fn reassign(&mut self, partitions: &BTreeMap<String, i32>) {
        self.epoch += 1;
        self.assigned_from = partitions.clone();
        let assignments = assign(&self.members, partitions);
        for (id, member) in self.members.iter_mut() {
            member.assignment = assignments.get(id).cloned().unwrap_or_default();
        }
    }
}

/// Kafka's simple share assignor, per topic: with at least as many partitions as
/// subscribers, the partitions are dealt out round-robin; with more subscribers than
/// partitions, every subscriber gets one and several share each partition.
fn assign(
    members: &BTreeMap<String, ShareMember>,
    partitions: &BTreeMap<String, i32>,
) -> BTreeMap<String, BTreeMap<String, Vec<i32>>> {
    let mut out: BTreeMap<String, BTreeMap<String, Vec<i32>>> = BTreeMap::new();
    for (topic, &count) in partitions {
        let subscribers: Vec<&String> =
            members.iter().filter(|(_, m)| m.subscribed.contains(topic)).map(|(id, _)| id).collect();
        if subscribers.is_empty() || count <= 0 {
            continue;
        }
        let mut give = |member: &String, partition: i32| {
            out.entry(member.clone()).or_default().entry(topic.clone()).or_default().push(partition)
        };
        if count as usize >= subscribers.len() {
            for partition in 0..count {
                give(subscribers[partition as usize % subscribers.len()], partition);
            }
        } else {
            for (i, member) in subscribers.iter().enumerate() {
                give(member, (i % count as usize) as i32);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn member(id: &str, topics: &[&str]) -> ShareMember {
        ShareMember {
            member_id: id.into(),
            member_epoch: 0,
            client_id: String::new(),
            client_host: String::new(),
            rack_id: None,
            subscribed: topics.iter().map(|t| t.to_string()).collect(),
            assignment: BTreeMap::new(),
            last_heartbeat_ms: 0,
        }
    }

    #[test]
    fn members_share_partitions_when_there_are_fewer_partitions() {
        let mut group = ShareGroup::default();
        for id in ["a", "b", "c"] {
            group.members.insert(id.into(), member(id, &["one", "four"]));
        }
        group.reassign(&[("one".to_string(), 1), ("four".to_string(), 4)].into());
        assert_eq!(group.epoch, 1);
        for m in group.members.values() {
            assert_eq!(m.assignment["one"], vec![0], "all three share the single partition");
        }
        let four: Vec<Vec<i32>> = group.members.values().map(|m| m.assignment["four"].clone()).collect();
        assert_eq!(four, vec![vec![0, 3], vec![1], vec![2]]);
    }
}
