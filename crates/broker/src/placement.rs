//! Manual replica assignments (the `assignments` of CreateTopics and CreatePartitions),
//! checked as Kafka's controller checks them (`ReplicationControlManager`) against the
//! brokers registered in the cluster, before anything is committed. Only checks: with one
//! node every replica is this broker, so there is nothing to place.

use std::collections::BTreeSet;

use crate::broker::Broker;
use crate::error::{BrokerError, Result};

fn invalid(message: String) -> BrokerError {
    BrokerError::InvalidReplicaAssignment(message)
}

impl Broker {
    /// The brokers registered in the cluster: this node alone.
    pub fn registered_brokers(&self) -> Vec<i32> {
        vec![self.node_id()]
    }

    /// Checks a CreateTopics manual assignment, `(partition index, replicas)` per
    /// partition, and returns the topic's partition count and replication factor.
    pub fn check_topic_assignment(&self, assignments: &[(i32, Vec<i32>)]) -> Result<(i32, i16)> {
        let registered = self.registered_brokers();
        let mut indexes = BTreeSet::new();
        let mut replication_factor = None;
        for (index, replicas) in assignments {
            if !indexes.insert(*index) {
                return Err(invalid(format!("Found multiple manual partition assignments for partition {index}")));
            }
            // The first partition sets the replication factor the others must match.
            check_replicas(&registered, replicas, replication_factor)?;
            replication_factor = Some(replicas.len());
        }
        if !indexes.iter().copied().eq(0..indexes.len() as i32) {
            return Err(invalid("partitions should be a consecutive 0-based integer sequence".into()));
        }
        let partitions = i32::try_from(assignments.len())
            .map_err(|_| invalid(format!("{} partitions are more than a topic can have", assignments.len())))?;
        // Every replica list is non-empty, duplicate-free and of registered brokers, so
        // its length is at most the number of brokers.
        let replication_factor = replication_factor.unwrap_or_default() as i16;
        Ok((partitions, replication_factor))
    }

    /// Checks the assignment of `additional` new partitions of a topic whose partitions
    /// have `replication_factor` replicas each.
    pub(crate) fn check_added_partitions(
        &self,
        additional: i32,
        replication_factor: usize,
        assignments: &[Vec<i32>],
    ) -> Result<()> {
        if assignments.len() as i64 != i64::from(additional) {
            return Err(invalid(format!(
                "Attempted to add {additional} additional partition(s), but only {} assignment(s) were specified.",
                assignments.len()
            )));
        }
        let registered = self.registered_brokers();
        assignments.iter().try_for_each(|replicas| check_replicas(&registered, replicas, Some(replication_factor)))
    }
}

/// One partition's replica list: non-empty, registered brokers only, each once, and as
/// many as `replication_factor` when that is fixed. Kafka checks in this order, on the
/// sorted list, so the lowest offending broker id is the one named.
fn check_replicas(registered: &[i32], replicas: &[i32], replication_factor: Option<usize>) -> Result<()> {
    if replicas.is_empty() {
        return Err(invalid("The manual partition assignment includes an empty replica list.".into()));
    }
    let mut sorted = replicas.to_vec();
    sorted.sort_unstable();
    let mut previous = None;
    for broker in sorted {
        if !registered.contains(&broker) {
            return Err(invalid(format!(
                "The manual partition assignment includes broker {broker}, but no such broker is registered."
            )));
        }
        if previous == Some(broker) {
            return Err(invalid(format!(
                "The manual partition assignment includes the broker {broker} more than once."
            )));
        }
        previous = Some(broker);
    }
    match replication_factor {
        Some(expected) if replicas.len() != expected => Err(invalid(format!(
            "The manual partition assignment includes a partition with {} replica(s), but this is not consistent with previous partitions, which have {expected} replica(s).",
            replicas.len()
        ))),
        _ => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::BrokerConfig;

    fn message(result: Result<impl std::fmt::Debug>) -> String {
        match result {
            Err(BrokerError::InvalidReplicaAssignment(m)) => m,
            other => panic!("expected an invalid replica assignment, got {other:?}"),
        }
    }

    #[test]
    fn topic_assignments_are_checked_as_kafkas_controller_does() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let node = broker.node_id();
        assert_eq!(broker.check_topic_assignment(&[(1, vec![node]), (0, vec![node])]).unwrap(), (2, 1));
        type Case<'a> = (&'a [(i32, Vec<i32>)], String);
        let cases: [Case; 6] = [
            (&[(0, vec![node]), (0, vec![node])], "Found multiple manual partition assignments for partition 0".into()),
            (&[(0, vec![])], "The manual partition assignment includes an empty replica list.".into()),
            (
                &[(0, vec![node + 9, node + 7])],
                format!(
                    "The manual partition assignment includes broker {}, but no such broker is registered.",
                    node + 7
                ),
            ),
            (
                &[(0, vec![node, node])],
                format!("The manual partition assignment includes the broker {node} more than once."),
            ),
            (&[(0, vec![node]), (2, vec![node])], "partitions should be a consecutive 0-based integer sequence".into()),
            (&[(0, vec![node]), (1, vec![])], "The manual partition assignment includes an empty replica list.".into()),
        ];
        for (assignment, expected) in cases {
            assert_eq!(message(broker.check_topic_assignment(assignment)), expected, "{assignment:?}");
        }
    }

    #[test]
    fn added_partitions_need_one_assignment_each_of_the_topics_replication_factor() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let node = broker.node_id();
        broker.check_added_partitions(2, 1, &[vec![node], vec![node]]).unwrap();
        assert_eq!(
            message(broker.check_added_partitions(2, 1, &[vec![node]])),
            "Attempted to add 2 additional partition(s), but only 1 assignment(s) were specified."
        );
        assert_eq!(
            message(broker.check_added_partitions(1, 1, &[vec![12]])),
            "The manual partition assignment includes broker 12, but no such broker is registered."
        );
        assert_eq!(
            message(broker.check_added_partitions(1, 2, &[vec![node]])),
            "The manual partition assignment includes a partition with 1 replica(s), but this is not consistent with previous partitions, which have 2 replica(s)."
        );
    }

    #[test]
    fn a_refused_assignment_adds_no_partitions() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let ctx = crate::access::RequestContext::local();
        let topic = crate::NewTopic { name: "t".into(), partitions: Some(1), ..Default::default() };
        broker.create_topic(&ctx, topic, false).unwrap();
        let refused = broker.create_partitions(&ctx, "t", 2, Some(&[vec![12]]), false).unwrap_err();
        assert!(matches!(refused, BrokerError::InvalidReplicaAssignment(_)), "{refused}");
        assert_eq!(broker.topic("t").unwrap().partitions.len(), 1);
        broker.create_partitions(&ctx, "t", 2, Some(&[vec![broker.node_id()]]), false).unwrap();
        assert_eq!(broker.topic("t").unwrap().partitions.len(), 2);
    }
}
