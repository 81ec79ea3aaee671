//! One consumer group's membership under the classic rebalance protocol.
//!
//! Pure state: no I/O, no clock reads (callers pass `now`), no awaiting. Joins and syncs
//! that must wait get a oneshot receiver; the state machine answers them when the event
//! that completes them happens (last member joined, leader synced, deadline passed).
//! States: Empty → PreparingRebalance → CompletingRebalance → Stable, back to
//! PreparingRebalance on any membership change.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use bytes::Bytes;
use tokio::sync::oneshot;

use crate::error::BrokerError;

pub use super::membership_api::*;

#[derive(Debug)]
struct Member {
    params: JoinParams,
    assignment: Bytes,
    session_deadline: Instant,
    join_waiter: Option<oneshot::Sender<JoinReply>>,
    sync_waiter: Option<oneshot::Sender<SyncReply>>,
}

impl Member {
    fn metadata_for(&self, protocol: &str) -> Bytes {
        self.params.protocols.iter().find(|(n, _)| n == protocol).map(|(_, m)| m.clone()).unwrap_or_default()
    }
}

#[derive(Debug)]
pub struct Group {
    pub id: String,
    state: GroupState,
    generation: i32,
    protocol_type: Option<String>,
    protocol: Option<String>,
    leader: Option<String>,
    members: BTreeMap<String, Member>,
    /// Ids handed out with MEMBER_ID_REQUIRED, valid until their deadline.
    pending_members: HashMap<String, Instant>,
    /// group.instance.id → current member id (KIP-345).
    static_members: HashMap<String, String>,
    rebalance_deadline: Option<Instant>,
    /// A new group waits this long for more members before its first assignment.
    initial_delay_until: Option<Instant>,
}

fn send<T>(waiter: Option<oneshot::Sender<T>>, value: T) {
    if let Some(w) = waiter {
        let _ = w.send(value);
    }
}

impl Group {
    pub fn new(id: String) -> Self {
        Group {
            id,
            state: GroupState::Empty,
            generation: 0,
            protocol_type: None,
            protocol: None,
            leader: None,
            members: BTreeMap::new(),
            pending_members: HashMap::new(),
            static_members: HashMap::new(),
            rebalance_deadline: None,
            initial_delay_until: None,
        }
    }

    pub fn state(&self) -> GroupState {
        self.state
    }
    pub fn protocol_type(&self) -> Option<&str> {
        self.protocol_type.as_deref()
    }
    pub fn protocol(&self) -> Option<&str> {
        self.protocol.as_deref()
    }
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Topics the members subscribe to, read from their consumer-protocol metadata.
    pub fn subscribed_topics(&self) -> std::collections::HashSet<String> {
        use kafka_protocol::messages::ConsumerProtocolSubscription;
        use kafka_protocol::protocol::Decodable;
        let Some(protocol) = self.protocol.as_deref() else {
            return Default::default();
        };
        if self.protocol_type.as_deref() != Some("consumer") {
            return Default::default();
        }
        self.members
            .values()
            .filter_map(|m| {
                let mut buf = m.metadata_for(protocol);
                if buf.len() < 2 {
                    return None;
                }
                let version = i16::from_be_bytes([buf[0], buf[1]]);
                let _ = bytes::Buf::get_i16(&mut buf);
                ConsumerProtocolSubscription::decode(&mut buf, version.clamp(0, 3)).ok()
            })
            .flat_map(|s| s.topics.into_iter().map(|t| t.to_string()))
            .collect()
    }

    pub fn members(&self) -> Vec<MemberSummary> {
        self.members
            .iter()
            .map(|(id, m)| MemberSummary {
                member_id: id.clone(),
                group_instance_id: m.params.group_instance_id.clone(),
                client_id: m.params.client_id.clone(),
                client_host: m.params.client_host.clone(),
                metadata: self.protocol.as_deref().map(|p| m.metadata_for(p)).unwrap_or_default(),
                assignment: m.assignment.clone(),
            })
            .collect()
    }

    /// Handles JoinGroup. The answer arrives on the receiver: at once for errors and
    /// static rejoins, otherwise when the rebalance completes.
    pub fn join(&mut self, params: JoinParams, now: Instant, initial_delay: Duration) -> oneshot::Receiver<JoinReply> {
        let (tx, rx) = oneshot::channel();
        if let Err(e) = self.check_protocols(&params) {
            let _ = tx.send(Err(e));
            return rx;
        }
        let member_id = if params.member_id.is_empty() {
            if let Some(instance) = params.group_instance_id.clone() {
                if let Some(old) = self.static_members.get(&instance).cloned() {
                    return self.replace_static_member(old, instance, params, tx, rx, now, initial_delay);
                }
            }
            let new_id = format!(
                "{}-{}",
                if params.client_id.is_empty() { "member" } else { &params.client_id },
                uuid::Uuid::new_v4()
            );
            if params.require_known_member_id && params.group_instance_id.is_none() {
                self.pending_members.insert(new_id.clone(), now + params.session_timeout);
                let _ = tx.send(Err(BrokerError::MemberIdRequired(new_id)));
                return rx;
            }
            new_id
        } else {
            let known = self.members.contains_key(&params.member_id)
                || self.pending_members.remove(&params.member_id).is_some();
            if !known {
                let _ = tx.send(Err(BrokerError::UnknownMemberId(params.member_id.clone())));
                return rx;
            }
            if let Some(instance) = &params.group_instance_id {
                if self.static_members.get(instance).is_some_and(|m| *m != params.member_id) {
                    let _ = tx.send(Err(BrokerError::FencedInstanceId(instance.clone())));
                    return rx;
                }
            }
            params.member_id.clone()
        };
        self.add_member(member_id, params, tx, now);
        self.prepare_rebalance(now, initial_delay);
        self.maybe_complete_join(now);
        rx
    }

    fn check_protocols(&self, params: &JoinParams) -> Result<(), BrokerError> {
        if params.protocol_type.is_empty() || params.protocols.is_empty() {
            return Err(BrokerError::InconsistentGroupProtocol("join carries no protocol type or protocols".into()));
        }
        if self.members.is_empty() {
            return Ok(());
        }
        if self.protocol_type.as_deref() != Some(params.protocol_type.as_str()) {
            return Err(BrokerError::InconsistentGroupProtocol(format!(
                "protocol type '{}' differs from the group's '{}'",
                params.protocol_type,
                self.protocol_type.as_deref().unwrap_or_default()
            )));
        }
        let shared = params.protocols.iter().any(|(name, _)| {
            self.members
                .iter()
                .filter(|(id, _)| **id != params.member_id)
                .all(|(_, m)| m.params.protocols.iter().any(|(n, _)| n == name))
        });
        if !shared {
            return Err(BrokerError::InconsistentGroupProtocol(
                "no assignor in common with the group's members".into(),
            ));
        }
        Ok(())
    }

    fn add_member(&mut self, member_id: String, params: JoinParams, waiter: oneshot::Sender<JoinReply>, now: Instant) {
        if let Some(instance) = &params.group_instance_id {
            self.static_members.insert(instance.clone(), member_id.clone());
        }
        self.protocol_type.get_or_insert_with(|| params.protocol_type.clone());
        let session_deadline = now + params.session_timeout;
        match self.members.get_mut(&member_id) {
            Some(m) => {
                // A second join replaces the first: answer the old request as Kafka does.
                send(m.join_waiter.take(), Err(BrokerError::RebalanceInProgress));
                m.params = params;
                m.session_deadline = session_deadline;
                m.join_waiter = Some(waiter);
            }
            None => {
                self.members.insert(
                    member_id,
                    Member {
                        params,
                        assignment: Bytes::new(),
                        session_deadline,
                        join_waiter: Some(waiter),
                        sync_waiter: None,
                    },
                );
            }
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn replace_static_member(
        &mut self,
        old_id: String,
        instance: String,
        params: JoinParams,
        tx: oneshot::Sender<JoinReply>,
        rx: oneshot::Receiver<JoinReply>,
        now: Instant,
        initial_delay: Duration,
    ) -> oneshot::Receiver<JoinReply> {
        let new_id = format!(
            "{}-{}",
            if params.client_id.is_empty() { "member" } else { &params.client_id },
            uuid::Uuid::new_v4()
        );
        let Some(mut old) = self.members.remove(&old_id) else {
            self.static_members.remove(&instance);
            self.add_member(new_id, params, tx, now);
            self.prepare_rebalance(now, initial_delay);
            self.maybe_complete_join(now);
            return rx;
        };
        send(old.join_waiter.take(), Err(BrokerError::FencedInstanceId(instance.clone())));
        send(old.sync_waiter.take(), Err(BrokerError::FencedInstanceId(instance.clone())));
        self.static_members.insert(instance, new_id.clone());
        if self.leader.as_deref() == Some(old_id.as_str()) {
            self.leader = Some(new_id.clone());
        }
        let stable = self.state == GroupState::Stable;
        self.members.insert(
            new_id.clone(),
            Member {
                session_deadline: now + params.session_timeout,
                params,
                assignment: old.assignment,
                join_waiter: None,
                sync_waiter: None,
            },
        );
        if stable {
            // KIP-345: a restarted static member takes its old place without a rebalance.
            let _ = tx.send(Ok(JoinOutcome {
                generation_id: self.generation,
                protocol_type: self.protocol_type.clone(),
                protocol_name: self.protocol.clone(),
                leader: self.leader.clone().unwrap_or_default(),
                member_id: new_id,
                members: Vec::new(),
            }));
        } else {
            if let Some(m) = self.members.get_mut(&new_id) {
                m.join_waiter = Some(tx);
            }
            self.prepare_rebalance(now, initial_delay);
            self.maybe_complete_join(now);
        }
        rx
    }

    /// Moves to PreparingRebalance: syncs waiting for an assignment are told to rejoin.
    fn prepare_rebalance(&mut self, now: Instant, initial_delay: Duration) {
        if self.state == GroupState::PreparingRebalance {
            // A new group's initial delay stretches while members keep arriving.
            if let Some(until) = self.initial_delay_until {
                let extended = (now + initial_delay).min(self.rebalance_deadline.unwrap_or(now));
                self.initial_delay_until = Some(until.max(extended));
            }
            return;
        }
        for m in self.members.values_mut() {
            send(m.sync_waiter.take(), Err(BrokerError::RebalanceInProgress));
        }
        let timeout = self.members.values().map(|m| m.params.rebalance_timeout).max().unwrap_or_default();
        self.rebalance_deadline = Some(now + timeout);
        self.initial_delay_until =
            (self.state == GroupState::Empty && !initial_delay.is_zero()).then(|| now + initial_delay.min(timeout));
        self.state = GroupState::PreparingRebalance;
        crate::metrics::rebalance_started(&self.id);
    }

    fn maybe_complete_join(&mut self, now: Instant) {
        if self.state != GroupState::PreparingRebalance {
            return;
        }
        let all_joined = self.members.values().all(|m| m.join_waiter.is_some());
        let delay_over = self.initial_delay_until.is_none_or(|t| now >= t);
        let deadline_passed = self.rebalance_deadline.is_some_and(|d| now >= d);
        if (all_joined && delay_over) || deadline_passed {
            self.complete_join(now);
        }
    }

    /// Starts the next generation with the members that rejoined.
    fn complete_join(&mut self, now: Instant) {
        let gone: Vec<String> =
            self.members.iter().filter(|(_, m)| m.join_waiter.is_none()).map(|(id, _)| id.clone()).collect();
        for id in gone {
            self.remove_member(&id);
        }
        self.rebalance_deadline = None;
        self.initial_delay_until = None;
        self.generation += 1;
        if self.members.is_empty() {
            self.state = GroupState::Empty;
            self.protocol = None;
            self.protocol_type = None;
            self.leader = None;
            return;
        }
        self.protocol = Some(self.select_protocol());
        let protocol = self.protocol.clone().unwrap_or_default();
        if !self.leader.as_ref().is_some_and(|l| self.members.contains_key(l)) {
            self.leader = self.members.keys().next().cloned();
        }
        let leader = self.leader.clone().unwrap_or_default();
        let roster: Vec<JoinedMember> = self
            .members
            .iter()
            .map(|(id, m)| JoinedMember {
                member_id: id.clone(),
                group_instance_id: m.params.group_instance_id.clone(),
                metadata: m.metadata_for(&protocol),
            })
            .collect();
        self.state = GroupState::CompletingRebalance;
        for (id, m) in self.members.iter_mut() {
            m.session_deadline = now + m.params.session_timeout;
            m.assignment = Bytes::new();
            send(
                m.join_waiter.take(),
                Ok(JoinOutcome {
                    generation_id: self.generation,
                    protocol_type: self.protocol_type.clone(),
                    protocol_name: Some(protocol.clone()),
                    leader: leader.clone(),
                    member_id: id.clone(),
                    members: if *id == leader { roster.clone() } else { Vec::new() },
                }),
            );
        }
    }

    /// The assignor every member supports with the most first-choice votes.
    fn select_protocol(&self) -> String {
        let candidates: Vec<&String> = self
            .members
            .values()
            .next()
            .map(|m| {
                m.params
                    .protocols
                    .iter()
                    .map(|(n, _)| n)
                    .filter(|n| self.members.values().all(|o| o.params.protocols.iter().any(|(p, _)| p == *n)))
                    .collect()
            })
            .unwrap_or_default();
        let votes = |name: &String| {
            self.members
                .values()
                .filter(|m| m.params.protocols.iter().map(|(n, _)| n).find(|n| candidates.contains(n)) == Some(name))
                .count()
        };
        // max_by_key keeps the last maximum; iterate in reverse so the first listed wins ties.
        candidates.iter().rev().max_by_key(|n| votes(n)).map(|n| (*n).clone()).unwrap_or_default()
    }

    fn remove_member(&mut self, member_id: &str) {
        if let Some(mut m) = self.members.remove(member_id) {
            send(m.join_waiter.take(), Err(BrokerError::UnknownMemberId(member_id.into())));
            send(m.sync_waiter.take(), Err(BrokerError::UnknownMemberId(member_id.into())));
            if let Some(instance) = &m.params.group_instance_id {
                if self.static_members.get(instance).is_some_and(|id| id == member_id) {
                    self.static_members.remove(instance);
                }
            }
        }
    }

    fn check_member(&self, member_id: &str, instance: Option<&str>) -> Result<(), BrokerError> {
        // Kafka's `ClassicGroup.validateMember`: the instance id first, then the member id.
        if let Some(instance) = instance {
            match self.static_members.get(instance) {
                None => return Err(BrokerError::UnknownMemberId(member_id.into())),
                Some(current) if current != member_id => return Err(BrokerError::FencedInstanceId(instance.into())),
                Some(_) => {}
            }
        }
        if !self.members.contains_key(member_id) {
            return Err(BrokerError::UnknownMemberId(member_id.into()));
        }
        Ok(())
    }

    fn check_generation(&self, generation: i32) -> Result<(), BrokerError> {
        if generation != self.generation {
            return Err(BrokerError::IllegalGeneration { given: generation, current: self.generation });
        }
        Ok(())
    }

    /// Handles SyncGroup. The leader's assignments complete every waiting member.
    pub fn sync(
        &mut self,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        assignments: Vec<(String, Bytes)>,
        now: Instant,
    ) -> oneshot::Receiver<SyncReply> {
        let (tx, rx) = oneshot::channel();
        if let Err(e) = self.check_member(member_id, instance).and_then(|_| self.check_generation(generation)) {
            let _ = tx.send(Err(e));
            return rx;
        }
        let outcome = |assignment: Bytes| SyncOutcome {
            protocol_type: self.protocol_type.clone(),
            protocol_name: self.protocol.clone(),
            assignment,
        };
        match self.state {
            GroupState::PreparingRebalance => {
                let _ = tx.send(Err(BrokerError::RebalanceInProgress));
            }
            GroupState::Stable => {
                let assignment = self.members.get(member_id).map(|m| m.assignment.clone()).unwrap_or_default();
                let _ = tx.send(Ok(outcome(assignment)));
            }
            GroupState::Empty => {
                let _ = tx.send(Err(BrokerError::UnknownMemberId(member_id.into())));
            }
            GroupState::CompletingRebalance => {
                if let Some(m) = self.members.get_mut(member_id) {
                    m.sync_waiter = Some(tx);
                    m.session_deadline = now + m.params.session_timeout;
                }
                if self.leader.as_deref() == Some(member_id) {
                    let mut assignments: HashMap<String, Bytes> = assignments.into_iter().collect();
                    let (protocol_type, protocol_name) = (self.protocol_type.clone(), self.protocol.clone());
                    for (id, m) in self.members.iter_mut() {
                        m.assignment = assignments.remove(id).unwrap_or_default();
                        send(
                            m.sync_waiter.take(),
                            Ok(SyncOutcome {
                                protocol_type: protocol_type.clone(),
                                protocol_name: protocol_name.clone(),
                                assignment: m.assignment.clone(),
                            }),
                        );
                    }
                    self.state = GroupState::Stable;
                }
            }
        }
        rx
    }

    pub fn heartbeat(
        &mut self,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        now: Instant,
    ) -> Result<(), BrokerError> {
        self.check_member(member_id, instance)?;
        self.check_generation(generation)?;
        if let Some(m) = self.members.get_mut(member_id) {
            m.session_deadline = now + m.params.session_timeout;
        }
        match self.state {
            GroupState::PreparingRebalance => Err(BrokerError::RebalanceInProgress),
            _ => Ok(()),
        }
    }

    /// Handles one LeaveGroup member (by member id, or by instance id for static members).
    pub fn leave(&mut self, member_id: &str, instance: Option<&str>, now: Instant) -> Result<(), BrokerError> {
        let id = match instance {
            Some(instance) => match self.static_members.get(instance) {
                Some(current) if member_id.is_empty() || current == member_id => current.clone(),
                Some(_) => return Err(BrokerError::FencedInstanceId(instance.into())),
                None => return Err(BrokerError::UnknownMemberId(member_id.into())),
            },
            None => member_id.to_string(),
        };
        if !self.members.contains_key(&id) {
            return Err(BrokerError::UnknownMemberId(id));
        }
        self.remove_member(&id);
        self.membership_changed(now);
        Ok(())
    }

    fn membership_changed(&mut self, now: Instant) {
        if self.members.is_empty() && self.state != GroupState::PreparingRebalance {
            self.state = GroupState::Empty;
            self.generation += 1;
            self.protocol = None;
            self.protocol_type = None;
            self.leader = None;
            return;
        }
        self.prepare_rebalance(now, Duration::ZERO);
        self.maybe_complete_join(now);
    }

    /// Validates an offset commit as Kafka's `ClassicGroup.validateOffsetCommit`, in its
    /// order: a negative generation while the group is Empty is a commit from outside the
    /// group (admin client, `assign()` consumer) and passes whatever member id it carries;
    /// one naming a member or generation must name a current member (FENCED_INSTANCE_ID
    /// for a replaced static instance) of this generation; one naming neither is refused
    /// with UNKNOWN_MEMBER_ID while the group has members. Members of the generation may
    /// commit while the group prepares a rebalance (clients commit in their revocation
    /// callback); only CompletingRebalance, before the assignment is known, refuses.
    pub fn check_commit(&self, generation: i32, member_id: &str, instance: Option<&str>) -> Result<(), BrokerError> {
        if generation < 0 && self.state == GroupState::Empty {
            return Ok(());
        }
        if generation >= 0 || !member_id.is_empty() || instance.is_some() {
            self.check_member(member_id, instance)?;
            self.check_generation(generation)?;
        } else if self.state != GroupState::Empty {
            return Err(BrokerError::UnknownMemberId(member_id.into()));
        }
        if self.state == GroupState::CompletingRebalance {
            return Err(BrokerError::RebalanceInProgress);
        }
        Ok(())
    }

    /// Expires sessions and pending ids, completes rebalances whose time has come.
    pub fn tick(&mut self, now: Instant) {
        self.pending_members.retain(|_, deadline| *deadline > now);
        let waiting_in_join = self.state == GroupState::PreparingRebalance;
        let expired: Vec<String> = self
            .members
            .iter()
            .filter(|(_, m)| m.session_deadline <= now && !(waiting_in_join && m.join_waiter.is_some()))
            .map(|(id, _)| id.clone())
            .collect();
        if !expired.is_empty() {
            for id in &expired {
                tracing::info!(group = %self.id, member = %id, "member session expired");
                self.remove_member(id);
            }
            self.membership_changed(now);
        }
        self.maybe_complete_join(now);
    }

    /// The earliest moment `tick` has work to do.
    pub fn next_deadline(&self) -> Option<Instant> {
        let sessions = self.members.values().map(|m| m.session_deadline);
        let pending = self.pending_members.values().copied();
        sessions.chain(pending).chain(self.rebalance_deadline).chain(self.initial_delay_until).min()
    }
}

#[path = "membership_migration.rs"]
mod migration;
