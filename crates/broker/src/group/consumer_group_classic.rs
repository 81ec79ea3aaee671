//! Classic-protocol members inside a consumer-protocol group (KIP-848 online migration),
//! as Kafka's `classicGroupJoinToConsumerGroup` and its Sync/Heartbeat/Leave siblings:
//! the group computes their assignment like any member's; JoinGroup answers at once with
//! the member epoch as the generation and no leader (every classic member is a follower),
//! SyncGroup hands out the member's current assignment, and Heartbeat answers
//! REBALANCE_IN_PROGRESS whenever the member must rejoin to give partitions up or to
//! collect ones that came free. A rejoin reports what the member still owns in its
//! subscription metadata, which is how it confirms a revocation.
//!
//! Also the conversions themselves: a classic group's members and assignments become
//! this group's (upgrade), and a group left with only classic members hands them back
//! (downgrade).

use std::collections::{BTreeMap, BTreeSet};
use std::time::Instant;

use bytes::Bytes;

use super::super::consumer_protocol::{decode_subscription, encode_assignment};
use super::super::membership_api::{decode_consumer_assignment, JoinOutcome, JoinParams, SyncOutcome};
use super::{ConsumerGroup, Member};
use crate::error::BrokerError;
use crate::group::consumer_subscription::Subscription;

const CONSUMER_PROTOCOL_TYPE: &str = "consumer";

/// A classic member as it moves between the two kinds of group.
#[derive(Debug, Clone)]
pub struct ClassicMemberState {
    pub member_id: String,
    pub params: JoinParams,
    /// The member's current assignment in the consumer embedded protocol.
    pub assignment: Bytes,
}

impl ConsumerGroup {
    /// True when every member speaks the classic protocol (and there is one): the group
    /// can go back to being a classic group.
    pub fn only_classic_members(&self) -> bool {
        !self.members.is_empty() && self.members.values().all(|m| m.classic.is_some())
    }

    /// The group a classic group becomes when a consumer-protocol member joins it: the
    /// generation is the group and assignment epoch, each member keeps its assignment.
    pub fn from_classic(generation: i32, members: Vec<ClassicMemberState>, now: Instant) -> Self {
        let mut group = ConsumerGroup { group_epoch: generation, assignment_epoch: generation, ..Default::default() };
        for ClassicMemberState { member_id, params, assignment } in members {
            let assigned: BTreeSet<_> = decode_consumer_assignment(&assignment).into_iter().collect();
            let mut subscription = Subscription::default();
            if let Some(s) = params.protocols.first().and_then(|(_, m)| decode_subscription(m)) {
                subscription.set_names(s.topics);
            }
            group.target.insert(member_id.clone(), assigned.clone());
            group.members.insert(
                member_id,
                Member {
                    epoch: generation,
                    previous_epoch: generation,
                    instance_id: params.group_instance_id.clone(),
                    rack_id: None,
                    client_id: params.client_id.clone(),
                    client_host: params.client_host.clone(),
                    subscription,
                    last_sent: Some(assigned.clone()),
                    assigned,
                    revoking: BTreeSet::new(),
                    session_deadline: now + params.session_timeout,
                    classic: Some(params),
                },
            );
        }
        group
    }

    /// Empties the group of its (classic) members for the classic group that takes over;
    /// returns the generation to continue from: the epoch of the current target, which
    /// reconciled members hold (as Kafka, the leave that caused this does not count), so
    /// that their next heartbeat is told to rejoin rather than that its generation is wrong.
    pub fn take_classic_members(&mut self) -> (i32, Vec<ClassicMemberState>) {
        let members = std::mem::take(&mut self.members)
            .into_iter()
            .filter_map(|(member_id, m)| {
                let assignment = encode_assignment(&m.assigned);
                m.classic.map(|params| ClassicMemberState { member_id, params, assignment })
            })
            .collect();
        let generation = self.assignment_epoch;
        *self = ConsumerGroup::default();
        (generation, members)
    }

    /// JoinGroup from a classic member.
    pub fn classic_join(
        &mut self,
        params: JoinParams,
        now: Instant,
        topics: &BTreeMap<String, i32>,
    ) -> Result<JoinOutcome, BrokerError> {
        self.check_classic_protocols(&params)?;
        let subscription = params
            .protocols
            .first()
            .and_then(|(_, metadata)| decode_subscription(metadata))
            .ok_or_else(|| BrokerError::InconsistentGroupProtocol("unreadable consumer subscription".into()))?;
        let unknown = params.member_id.is_empty();
        let member_id = if unknown { uuid::Uuid::new_v4().to_string() } else { params.member_id.clone() };
        if unknown && params.require_known_member_id && params.group_instance_id.is_none() {
            return Err(BrokerError::MemberIdRequired(member_id));
        }
        match &params.group_instance_id {
            Some(instance) if unknown => {
                // A static member (re)joining takes its instance's place, if it has one.
                let old = self.static_member(instance).map(|(id, _)| id.clone());
                if let Some(old) = old.filter(|old| *old != member_id) {
                    if let Some(mut m) = self.members.remove(&old) {
                        m.epoch = 0;
                        m.previous_epoch = 0;
                        m.last_sent = None;
                        self.members.insert(member_id.clone(), m);
                    }
                    if let Some(t) = self.target.remove(&old) {
                        self.target.insert(member_id.clone(), t);
                    }
                    if let Some(s) = self.target_subscriptions.remove(&old) {
                        self.target_subscriptions.insert(member_id.clone(), s);
                    }
                }
            }
            Some(instance) => self.check_static(&member_id, instance)?,
            None => {}
        }
        if !self.members.contains_key(&member_id) {
            self.members.insert(member_id.clone(), new_member(&params, now));
            self.group_epoch += 1;
        }
        let Some(member) = self.members.get_mut(&member_id) else {
            return Err(BrokerError::UnknownMemberId(member_id));
        };
        if member.subscription.set_names(subscription.topics) {
            self.group_epoch += 1;
        }
        member.instance_id = params.group_instance_id.clone();
        member.client_id = params.client_id.clone();
        member.client_host = params.client_host.clone();
        member.session_deadline = now + params.session_timeout;
        let owned: BTreeSet<_> = subscription.owned.into_iter().collect();
        member.revoking.retain(|p| owned.contains(p));
        let protocol_name = params.protocols.first().map(|(name, _)| name.clone());
        member.classic = Some(params);
        self.maybe_compute_target(topics);
        self.reconcile(&member_id);
        // As Kafka's CurrentAssignmentBuilder: partitions to give up that the member no
        // longer owns (an eager client revokes everything before it rejoins) are released
        // already, so it moves to the new epoch in this same join.
        if let Some(m) = self.members.get_mut(&member_id) {
            if !m.revoking.is_empty() && m.revoking.is_disjoint(&owned) {
                m.revoking.clear();
                self.reconcile(&member_id);
            }
        }
        let epoch = self.members.get(&member_id).map_or(0, |m| m.epoch);
        Ok(JoinOutcome {
            generation_id: epoch,
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.into()),
            protocol_name,
            leader: String::new(),
            member_id,
            members: Vec::new(),
        })
    }

    /// SyncGroup from a classic member: its assignment as the group has reconciled it.
    pub fn classic_sync(
        &mut self,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        now: Instant,
    ) -> Result<SyncOutcome, BrokerError> {
        let member = self.check_classic_member(generation, member_id, instance)?;
        member.session_deadline = now + member.classic.as_ref().map(|p| p.session_timeout).unwrap_or_default();
        member.last_sent = Some(member.assigned.clone());
        let protocol_name = member.classic.as_ref().and_then(|p| p.protocols.first()).map(|(n, _)| n.clone());
        Ok(SyncOutcome {
            protocol_type: Some(CONSUMER_PROTOCOL_TYPE.into()),
            protocol_name,
            assignment: encode_assignment(&member.assigned),
        })
    }

    /// Heartbeat from a classic member: REBALANCE_IN_PROGRESS when it must rejoin.
    pub fn classic_heartbeat(
        &mut self,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        now: Instant,
    ) -> Result<(), BrokerError> {
        let group_epoch = self.group_epoch;
        let free = self.free_target_partitions(member_id);
        let member = self.check_classic_member(generation, member_id, instance)?;
        member.session_deadline = now + member.classic.as_ref().map(|p| p.session_timeout).unwrap_or_default();
        if member.epoch < group_epoch || !member.revoking.is_empty() || free {
            return Err(BrokerError::RebalanceInProgress);
        }
        Ok(())
    }

    /// LeaveGroup for one classic member, by member id or by instance id.
    pub fn classic_leave(&mut self, member_id: &str, instance: Option<&str>) -> Result<(), BrokerError> {
        let id = match instance {
            Some(instance) => match self.static_member(instance) {
                None => return Err(BrokerError::UnknownMemberId(member_id.into())),
                Some((id, _)) if !member_id.is_empty() && id != member_id => {
                    return Err(BrokerError::FencedInstanceId(instance.into()))
                }
                Some((id, _)) => id.clone(),
            },
            None => member_id.to_string(),
        };
        if self.members.remove(&id).is_none() {
            return Err(BrokerError::UnknownMemberId(id));
        }
        self.group_epoch += 1;
        Ok(())
    }

    /// Target partitions of the member that it lacks and nobody holds any more.
    fn free_target_partitions(&self, member_id: &str) -> bool {
        let (Some(target), Some(member)) = (self.target.get(member_id), self.members.get(member_id)) else {
            return false;
        };
        target.iter().filter(|p| !member.assigned.contains(*p)).any(|p| {
            !self.members.iter().any(|(id, m)| id != member_id && (m.assigned.contains(p) || m.revoking.contains(p)))
        })
    }

    fn check_static(&self, member_id: &str, instance: &str) -> Result<(), BrokerError> {
        match self.static_member(instance) {
            None => Err(BrokerError::UnknownMemberId(member_id.into())),
            Some((id, _)) if id != member_id => Err(BrokerError::FencedInstanceId(instance.into())),
            Some(_) => Ok(()),
        }
    }

    fn check_classic_member(
        &mut self,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<&mut Member, BrokerError> {
        if let Some(instance) = instance {
            self.check_static(member_id, instance)?;
        }
        let member = self
            .members
            .get_mut(member_id)
            .filter(|m| m.classic.is_some())
            .ok_or_else(|| BrokerError::UnknownMemberId(member_id.into()))?;
        if generation != member.epoch {
            return Err(BrokerError::IllegalGeneration { given: generation, current: member.epoch });
        }
        Ok(member)
    }

    /// Kafka's `throwIfClassicProtocolIsNotSupported`: consumer protocol type, and an
    /// assignor name every classic member already in the group also offers.
    fn check_classic_protocols(&self, params: &JoinParams) -> Result<(), BrokerError> {
        if params.protocol_type != CONSUMER_PROTOCOL_TYPE || params.protocols.is_empty() {
            return Err(BrokerError::InconsistentGroupProtocol(format!(
                "a consumer-protocol group serves classic members of protocol type '{CONSUMER_PROTOCOL_TYPE}' only"
            )));
        }
        let shared = params.protocols.iter().any(|(name, _)| {
            self.members
                .iter()
                .filter(|(id, _)| **id != params.member_id)
                .filter_map(|(_, m)| m.classic.as_ref())
                .all(|p| p.protocols.iter().any(|(n, _)| n == name))
        });
        if !shared {
            return Err(BrokerError::InconsistentGroupProtocol(
                "no assignor in common with the group's classic members".into(),
            ));
        }
        Ok(())
    }
}

fn new_member(params: &JoinParams, now: Instant) -> Member {
    Member {
        epoch: 0,
        previous_epoch: 0,
        instance_id: params.group_instance_id.clone(),
        rack_id: None,
        client_id: params.client_id.clone(),
        client_host: params.client_host.clone(),
        subscription: Subscription::default(),
        assigned: BTreeSet::new(),
        revoking: BTreeSet::new(),
        last_sent: None,
        session_deadline: now + params.session_timeout,
        classic: Some(params.clone()),
    }
}
