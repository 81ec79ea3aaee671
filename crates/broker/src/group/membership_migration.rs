//! A classic group handing its members to a consumer-protocol group and taking them back
//! (KIP-848 online migration, Kafka's `group.consumer.migration.policy=bidirectional`).

use std::time::{Duration, Instant};

use super::{send, Group, GroupState, Member};
use crate::error::BrokerError;
use crate::group::consumer_group::ClassicMemberState;

impl Group {
    /// Empties the group for the consumer-protocol group that takes it over: joins and
    /// syncs still waiting are told to rejoin, which they then do there. Returns the
    /// generation and every member with its current assignment.
    pub fn take_members_for_upgrade(&mut self) -> (i32, Vec<ClassicMemberState>) {
        let generation = self.generation;
        let members = std::mem::take(&mut self.members)
            .into_iter()
            .map(|(member_id, mut m)| {
                send(m.join_waiter.take(), Err(BrokerError::RebalanceInProgress));
                send(m.sync_waiter.take(), Err(BrokerError::RebalanceInProgress));
                ClassicMemberState { member_id, params: m.params, assignment: m.assignment }
            })
            .collect();
        *self = Group::new(self.id.clone());
        (generation, members)
    }

    /// The classic group a consumer-protocol group becomes once only classic members are
    /// left. It starts a rebalance at once: the members learn of it through their next
    /// heartbeat and rejoin under the classic protocol proper.
    pub fn from_downgrade(id: String, generation: i32, members: Vec<ClassicMemberState>, now: Instant) -> Self {
        let mut group = Group::new(id);
        group.generation = generation;
        for ClassicMemberState { member_id, params, assignment } in members {
            if let Some(instance) = &params.group_instance_id {
                group.static_members.insert(instance.clone(), member_id.clone());
            }
            group.protocol_type.get_or_insert_with(|| params.protocol_type.clone());
            let session_deadline = now + params.session_timeout;
            group.members.insert(
                member_id,
                Member { params, assignment, session_deadline, join_waiter: None, sync_waiter: None },
            );
        }
        if group.members.is_empty() {
            return group;
        }
        group.protocol = Some(group.select_protocol());
        group.leader = group.members.keys().next().cloned();
        group.state = GroupState::Stable;
        group.prepare_rebalance(now, Duration::ZERO);
        group
    }
}
