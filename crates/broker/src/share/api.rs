//! The share-group operations, one per Kafka request: heartbeat (membership and
//! assignment), fetch (acquire records and read them), acknowledge (durable before the
//! answer), describe, list and delete, and the start offsets of share-partitions.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tidelog_log::BatchHeader;

use super::group::{ShareGroup, ShareMember};
use super::in_flight::{Acknowledgement, AcquiredRange, LogBatch, SharePartitionState};
use super::{SharePartitionKey, SharePartitionSlot};
use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{now_ms, Broker};
use crate::config::ShareSettings;
use crate::error::{BrokerError, Result};
use crate::partition::Partition;

/// A ShareGroupHeartbeat.
#[derive(Debug, Clone)]
pub struct ShareHeartbeat {
    pub member_id: String,
    /// 0 joins, -1 leaves; otherwise the epoch the member was last given.
    pub member_epoch: i32,
    pub rack_id: Option<String>,
    pub client_id: String,
    pub client_host: String,
    /// `None`: unchanged since the last heartbeat.
    pub subscribed_topics: Option<Vec<String>>,
}

#[derive(Debug, Clone)]
pub struct ShareHeartbeatOutcome {
    pub member_id: String,
    pub member_epoch: i32,
    pub heartbeat_interval_ms: i32,
    /// topic → partitions; `None` after leaving.
    pub assignment: Option<BTreeMap<String, Vec<i32>>>,
}

/// What one partition of a ShareFetch gives a member.
#[derive(Debug, Default)]
pub struct ShareFetched {
    pub topic: String,
    pub partition: i32,
    /// Whole batches covering the acquired ranges (a consumer keeps only those).
    pub records: Bytes,
    pub acquired: Vec<AcquiredRange>,
}

/// Acknowledgements of one range of offsets: one type for all of them, or one per offset.
#[derive(Debug, Clone)]
pub struct ShareAcknowledgeBatch {
    pub first_offset: i64,
    pub last_offset: i64,
    pub types: Vec<i8>,
}

#[derive(Debug, Clone)]
pub struct ShareGroupDescription {
    pub group_id: String,
    pub state: &'static str,
    pub group_epoch: i32,
    pub members: Vec<ShareMember>,
}

/// DescribeShareGroupOffsets: where a share-partition's delivery stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SharePartitionOffset {
    /// -1: the group has no state for the partition.
    pub start_offset: i64,
    pub in_flight: usize,
}

/// The records a fetch reads at most per partition, beyond what it acquires.
const READ_AHEAD_BYTES: usize = 1 << 20;

impl Broker {
    pub fn share_settings(&self, group_id: &str) -> ShareSettings {
        self.group_config(group_id).share
    }

    /// ShareGroupHeartbeat: joins (epoch 0), leaves (-1) or renews membership, answering
    /// the member's epoch and assignment.
    pub async fn share_group_heartbeat(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        heartbeat: ShareHeartbeat,
    ) -> Result<ShareHeartbeatOutcome> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        if self.groups.contains(group_id) {
            return Err(BrokerError::GroupIdNotFound(format!("{group_id} is not a share group")));
        }
        if heartbeat.member_id.is_empty() {
            return Err(BrokerError::InvalidRequest("MemberId can't be empty.".into()));
        }
        let settings = self.share_settings(group_id);
        let interval = settings.heartbeat_interval_ms as i32;
        let now = now_ms();
        let left = {
            let mut groups = self.share.groups.lock();
            let group = groups.entry(group_id.to_string()).or_default();
            match heartbeat.member_epoch {
                // The records it holds stay acquired: its share session, which closes after
                // its last acknowledgements, gives them back (as Kafka's does).
                -1 => {
                    group.members.remove(&heartbeat.member_id);
                    self.reassign_share_group(group);
                    true
                }
                0 => {
                    let topics = heartbeat.subscribed_topics.clone().filter(|t| !t.is_empty()).ok_or_else(|| {
                        BrokerError::InvalidRequest("SubscribedTopicNames must be set in first request.".into())
                    })?;
                    let member = ShareMember {
                        member_id: heartbeat.member_id.clone(),
                        member_epoch: 0,
                        client_id: heartbeat.client_id.clone(),
                        client_host: heartbeat.client_host.clone(),
                        rack_id: heartbeat.rack_id.clone(),
                        subscribed: topics.into_iter().collect(),
                        assignment: BTreeMap::new(),
                        last_heartbeat_ms: now,
                    };
                    group.members.insert(heartbeat.member_id.clone(), member);
                    self.reassign_share_group(group);
                    false
                }
                epoch => {
                    let member = group
                        .members
                        .get_mut(&heartbeat.member_id)
                        .ok_or_else(|| BrokerError::UnknownMemberId(heartbeat.member_id.clone()))?;
                    if epoch != member.member_epoch {
                        return Err(BrokerError::FencedMemberEpoch { given: epoch, current: member.member_epoch });
                    }
                    member.last_heartbeat_ms = now;
                    let resubscribed = heartbeat
                        .subscribed_topics
                        .as_ref()
                        .map(|t| t.iter().cloned().collect::<BTreeSet<_>>())
                        .filter(|t| !t.is_empty() && *t != member.subscribed);
                    if let Some(topics) = &resubscribed {
                        member.subscribed = topics.clone();
                    }
                    let resubscribed = resubscribed.is_some();
                    // A subscription, or a subscribed topic's partitions, changed.
                    if resubscribed || self.share_partitions_of(group) != group.assigned_from {
                        self.reassign_share_group(group);
                    }
                    false
                }
            }
        };
        if left {
            return Ok(ShareHeartbeatOutcome {
                member_id: heartbeat.member_id,
                member_epoch: -1,
                heartbeat_interval_ms: interval,
                assignment: None,
            });
        }
        let mut groups = self.share.groups.lock();
        let group =
            groups.get_mut(group_id).ok_or_else(|| BrokerError::UnknownMemberId(heartbeat.member_id.clone()))?;
        let epoch = group.epoch;
        let member = group
            .members
            .get_mut(&heartbeat.member_id)
            .ok_or_else(|| BrokerError::UnknownMemberId(heartbeat.member_id.clone()))?;
        member.member_epoch = epoch;
        Ok(ShareHeartbeatOutcome {
            member_id: member.member_id.clone(),
            member_epoch: epoch,
            heartbeat_interval_ms: interval,
            assignment: Some(member.assignment.clone()),
        })
    }

    /// The partition count of each existing topic the group subscribes to.
    fn share_partitions_of(&self, group: &ShareGroup) -> BTreeMap<String, i32> {
        group
            .subscribed_topics()
            .into_iter()
            .filter_map(|t| self.topic(&t).map(|h| (t, h.partitions.len() as i32)))
            .collect()
    }

    fn reassign_share_group(&self, group: &mut ShareGroup) {
        let partitions = self.share_partitions_of(group);
        group.reassign(&partitions);
    }

    /// ShareFetch's acquisition: for each partition, records handed to `member_id`, up to
    /// `max_records` in all. With nothing to hand out it waits up to `max_wait` for new
    /// records or released ones.
    pub async fn share_fetch(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        member_id: &str,
        partitions: &[(String, i32)],
        max_records: usize,
        max_wait: Duration,
    ) -> Vec<Result<ShareFetched>> {
        let deadline = tokio::time::Instant::now() + max_wait;
        loop {
            // Subscribed before looking, so nothing that happens meanwhile is missed.
            let released = self.share.released.notified();
            let mut watches: Vec<_> =
                partitions.iter().filter_map(|(t, p)| self.partition(t, *p).ok()).map(|p| p.subscribe()).collect();
            let fetched = self.share_fetch_once(ctx, group_id, member_id, partitions, max_records).await;
            let any = fetched.iter().any(|f| f.as_ref().map_or(true, |f| !f.acquired.is_empty()));
            if any || tokio::time::Instant::now() >= deadline {
                return fetched;
            }
            let appended = async {
                match watches.is_empty() {
                    true => futures::future::pending().await,
                    false => drop(futures::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed()))).await),
                }
            };
            tokio::select! {
                _ = released => {}
                _ = appended => {}
                _ = tokio::time::sleep_until(deadline) => return fetched,
            }
        }
    }

    async fn share_fetch_once(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        member_id: &str,
        partitions: &[(String, i32)],
        max_records: usize,
    ) -> Vec<Result<ShareFetched>> {
        let settings = self.share_settings(group_id);
        let mut left = max_records.max(1);
        let mut out = Vec::with_capacity(partitions.len());
        for (topic, index) in partitions {
            if left == 0 {
                out.push(Ok(ShareFetched { topic: topic.clone(), partition: *index, ..Default::default() }));
                continue;
            }
            let fetched = self.share_fetch_partition(ctx, group_id, member_id, topic, *index, left, &settings).await;
            if let Ok(f) = &fetched {
                let taken: u64 = f.acquired.iter().map(|r| r.last + 1 - r.first).sum();
                left = left.saturating_sub(taken as usize);
            }
            out.push(fetched);
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    async fn share_fetch_partition(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        member_id: &str,
        topic: &str,
        index: i32,
        max_records: usize,
        settings: &ShareSettings,
    ) -> Result<ShareFetched> {
        self.authorize(ctx, Operation::Read, Resource::Topic(topic))?;
        let partition = self.partition(topic, index)?;
        let slot = self.share_partition(group_id, topic, index, &partition, settings).await?;
        let mut state = slot.lock().await;
        let offsets = partition.offsets();
        if state.end_offset() < offsets.log_start_offset {
            // Retention removed records never delivered: delivery goes on from the log start.
            state.reset_to(offsets.log_start_offset);
        }
        let read = partition.read_isolated(state.end_offset(), READ_AHEAD_BYTES, settings.read_committed)?;
        let limit = if settings.read_committed { read.last_stable_offset } else { offsets.high_watermark };
        let batches = log_batches(&read.records, limit, &read.aborted);
        let lock_until = now_ms() + settings.record_lock_duration_ms;
        let acquired = state.acquire(member_id, batches, max_records, settings.max_record_locks, lock_until);
        drop(state);
        let records = read_ranges(&partition, &acquired)?;
        Ok(ShareFetched { topic: topic.into(), partition: index, records, acquired })
    }

    /// The share-partition of `group` on `topic`-`index`, created at the group's
    /// `share.auto.offset.reset` position (and made durable) on first use.
    async fn share_partition(
        &self,
        group_id: &str,
        topic: &str,
        index: i32,
        partition: &Partition,
        settings: &ShareSettings,
    ) -> Result<SharePartitionSlot> {
        let key: SharePartitionKey = (group_id.into(), topic.into(), index);
        if let Some(slot) = self.share.slot(&key) {
            return Ok(slot);
        }
        let offsets = partition.offsets();
        let start = if settings.start_at_earliest { offsets.log_start_offset } else { offsets.high_watermark };
        let state = SharePartitionState::starting_at(start);
        self.persist_share_states(group_id, vec![(topic.into(), index, Some(state.snapshot()))]).await?;
        let slot = self
            .share
            .partitions
            .lock()
            .entry(key)
            .or_insert_with(|| std::sync::Arc::new(tokio::sync::Mutex::new(state)))
            .clone();
        Ok(slot)
    }

    /// ShareAcknowledge (and the acknowledgements a ShareFetch carries): applied per
    /// partition, then made durable, then answered. One result per partition.
    pub async fn share_acknowledge(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        member_id: &str,
        acknowledgements: Vec<((String, i32), Vec<ShareAcknowledgeBatch>)>,
    ) -> Vec<((String, i32), Result<()>)> {
        let settings = self.share_settings(group_id);
        let lock_until = now_ms() + settings.record_lock_duration_ms;
        let mut results = Vec::with_capacity(acknowledgements.len());
        let mut changed = Vec::new();
        let mut any_released = false;
        for ((topic, index), batches) in acknowledgements {
            let outcome = async {
                self.authorize(ctx, Operation::Read, Resource::Topic(&topic))?;
                let key: SharePartitionKey = (group_id.into(), topic.clone(), index);
                let slot = self.share.slot(&key).ok_or_else(|| {
                    BrokerError::InvalidRecordState(format!(
                        "no records of {topic}-{index} were acquired by this group"
                    ))
                })?;
                let mut state = slot.lock().await;
                let mut first_error = None;
                for batch in &batches {
                    for (first, last, ack) in runs(batch)? {
                        any_released |= ack == Acknowledgement::Release;
                        let applied =
                            state.acknowledge(member_id, first, last, ack, settings.delivery_count_limit, lock_until);
                        if let (Err(e), None) = (applied, &first_error) {
                            first_error = Some(BrokerError::InvalidRecordState(e.to_string()));
                        }
                    }
                }
                changed.push((topic.clone(), index, Some(state.snapshot())));
                first_error.map_or(Ok(()), Err)
            }
            .await;
            results.push(((topic, index), outcome));
        }
        if let Err(e) = self.persist_share_states(group_id, changed).await {
            let message = e.to_string();
            for (_, result) in results.iter_mut().filter(|(_, r)| r.is_ok()) {
                *result = Err(BrokerError::Storage(message.clone()));
            }
        }
        if any_released {
            self.share.released.notify_waiters();
        }
        results
    }

    /// Gives back what a member held (it left, its session closed or timed out), and lets
    /// waiting fetches see it.
    pub async fn release_share_member(&self, group_id: &str, member_id: &str) {
        let delivery_limit = self.share_settings(group_id).delivery_count_limit;
        let mut released = 0;
        for (_, slot) in self.share.partitions_of(group_id) {
            released += slot.lock().await.release_member(member_id, delivery_limit);
        }
        if released > 0 {
            self.share.released.notify_waiters();
        }
    }

    /// Removes members past their session timeout and releases records whose lock ran
    /// out. Runs with the broker's other periodic work.
    pub(crate) async fn share_housekeeping(&self) {
        let now = now_ms();
        let mut expired = Vec::new();
        {
            let mut groups = self.share.groups.lock();
            for (group_id, group) in groups.iter_mut() {
                let timeout = self.share_settings(group_id).session_timeout_ms;
                let gone: Vec<String> = group
                    .members
                    .values()
                    .filter(|m| now - m.last_heartbeat_ms > timeout)
                    .map(|m| m.member_id.clone())
                    .collect();
                for member in gone {
                    tracing::info!(group = %group_id, member = %member, "share group member's session timed out");
                    group.members.remove(&member);
                    expired.push((group_id.clone(), member));
                }
                if expired.iter().any(|(g, _)| g == group_id) {
                    self.reassign_share_group(group);
                }
            }
        }
        for (group, member) in expired {
            self.release_share_member(&group, &member).await;
        }
        let mut released = 0;
        for ((group, _, _), slot) in self.share.all_partitions() {
            let limit = self.share_settings(&group).delivery_count_limit;
            if let Ok(mut state) = slot.try_lock() {
                released += state.release_expired(now, limit);
            }
        }
        if released > 0 {
            self.share.released.notify_waiters();
        }
    }

    /// ShareGroupDescribe; `None` for an id that names no share group.
    pub fn describe_share_group(&self, ctx: &RequestContext, group_id: &str) -> Result<Option<ShareGroupDescription>> {
        self.authorize(ctx, Operation::Describe, Resource::Group(group_id))?;
        let groups = self.share.groups.lock();
        Ok(groups.get(group_id).map(|g| ShareGroupDescription {
            group_id: group_id.into(),
            state: g.state(),
            group_epoch: g.epoch,
            members: g.members.values().cloned().collect(),
        }))
    }

    /// Every share group: (id, state), for ListGroups.
    pub fn share_group_listing(&self) -> Vec<(String, &'static str)> {
        let mut known: BTreeMap<String, &'static str> =
            self.share.groups.lock().iter().map(|(id, g)| (id.clone(), g.state())).collect();
        // A group whose members all left still has its share-partition states.
        for ((group, _, _), _) in self.share.all_partitions() {
            known.entry(group).or_insert("Empty");
        }
        known.into_iter().collect()
    }

    pub fn is_share_group(&self, group_id: &str) -> bool {
        self.share.groups.lock().contains_key(group_id) || !self.share.partitions_of(group_id).is_empty()
    }

    /// DeleteGroups of a share group: only without members; its states go too.
    pub async fn delete_share_group(&self, ctx: &RequestContext, group_id: &str) -> Result<()> {
        self.authorize(ctx, Operation::Delete, Resource::Group(group_id))?;
        if self.share.groups.lock().get(group_id).is_some_and(|g| !g.members.is_empty()) {
            return Err(BrokerError::NonEmptyGroup(group_id.into()));
        }
        self.delete_share_group_offsets(ctx, group_id, None).await?;
        self.share.groups.lock().remove(group_id);
        Ok(())
    }

    /// DescribeShareGroupOffsets: each partition's start offset (-1 without state).
    pub async fn share_group_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        partitions: &[(String, i32)],
    ) -> Result<Vec<SharePartitionOffset>> {
        self.authorize(ctx, Operation::Describe, Resource::Group(group_id))?;
        let mut out = Vec::with_capacity(partitions.len());
        for (topic, index) in partitions {
            let slot = self.share.slot(&(group_id.into(), topic.clone(), *index));
            out.push(match slot {
                Some(slot) => {
                    let state = slot.lock().await;
                    SharePartitionOffset { start_offset: state.start_offset() as i64, in_flight: state.in_flight() }
                }
                None => SharePartitionOffset { start_offset: -1, in_flight: 0 },
            });
        }
        Ok(out)
    }

    /// The partitions `group_id` has state for.
    pub fn share_group_partitions(&self, group_id: &str) -> Vec<(String, i32)> {
        let mut out: Vec<_> = self.share.partitions_of(group_id).into_iter().map(|((_, t, p), _)| (t, p)).collect();
        out.sort();
        out
    }

    /// AlterShareGroupOffsets: the share-partitions start again at the given offsets. The
    /// group must have no members.
    pub async fn alter_share_group_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        offsets: Vec<((String, i32), i64)>,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        self.require_empty_share_group(group_id)?;
        let mut results = Vec::with_capacity(offsets.len());
        let mut changed = Vec::new();
        for ((topic, index), offset) in offsets {
            let outcome = match self.partition(&topic, index) {
                Err(e) => Err(e),
                Ok(partition) => {
                    let log = partition.offsets();
                    let start = if offset < 0 {
                        log.high_watermark
                    } else {
                        (offset as u64).clamp(log.log_start_offset, log.high_watermark)
                    };
                    let state = SharePartitionState::starting_at(start);
                    changed.push((topic.clone(), index, Some(state.snapshot())));
                    let key: SharePartitionKey = (group_id.into(), topic.clone(), index);
                    self.share.partitions.lock().insert(key, std::sync::Arc::new(tokio::sync::Mutex::new(state)));
                    Ok(())
                }
            };
            results.push(outcome);
        }
        self.persist_share_states(group_id, changed).await?;
        Ok(results)
    }

    /// DeleteShareGroupOffsets (`None`: every partition of the group): the group forgets
    /// where it was; the next fetch starts from `share.auto.offset.reset`.
    pub async fn delete_share_group_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        partitions: Option<&[(String, i32)]>,
    ) -> Result<()> {
        self.authorize(ctx, Operation::Delete, Resource::Group(group_id))?;
        self.require_empty_share_group(group_id)?;
        let targets: Vec<(String, i32)> = match partitions {
            Some(p) => p.to_vec(),
            None => self.share_group_partitions(group_id),
        };
        {
            let mut all = self.share.partitions.lock();
            for (topic, index) in &targets {
                all.remove(&(group_id.to_string(), topic.clone(), *index));
            }
        }
        self.persist_share_states(group_id, targets.into_iter().map(|(t, p)| (t, p, None)).collect()).await
    }

    fn require_empty_share_group(&self, group_id: &str) -> Result<()> {
        match self.share.groups.lock().get(group_id) {
            Some(g) if !g.members.is_empty() => Err(BrokerError::NonEmptyGroup(group_id.into())),
            _ => Ok(()),
        }
    }
}

/// The batches of `records` below `limit` (the high watermark, or the last stable offset
/// under read_committed), with markers and aborted data not deliverable.
fn log_batches(records: &Bytes, limit: u64, aborted: &[crate::producer_state::AbortedTxn]) -> Vec<LogBatch> {
    let mut out = Vec::new();
    let mut rest: &[u8] = records;
    while let Ok(header) = BatchHeader::parse(rest) {
        let size = header.batch_length as usize + 12;
        if size > rest.len() {
            break;
        }
        let first = header.base_offset as u64;
        let last = first + header.last_offset_delta as u64;
        if last >= limit {
            break;
        }
        let is_aborted = header.is_transactional()
            && aborted
                .iter()
                .any(|a| a.producer_id == header.producer_id && a.first_offset <= first && first <= a.last_offset);
        out.push(LogBatch { first, last, deliverable: !header.is_control() && !is_aborted });
        rest = &rest[size..];
    }
    out
}

/// The log's batches covering each acquired range, each batch once.
fn read_ranges(partition: &Partition, acquired: &[AcquiredRange]) -> Result<Bytes> {
    let mut out = BytesMut::new();
    let mut covered = 0u64;
    for range in acquired {
        let mut offset = range.first.max(covered);
        while offset <= range.last {
            let (bytes, _) = partition.read(offset, READ_AHEAD_BYTES)?;
            let mut rest: &[u8] = &bytes;
            let mut progressed = false;
            while let Ok(header) = BatchHeader::parse(rest) {
                let size = header.batch_length as usize + 12;
                let last = header.base_offset as u64 + header.last_offset_delta as u64;
                if size > rest.len() || header.base_offset as u64 > range.last {
                    break;
                }
                if last >= offset {
                    out.extend_from_slice(&rest[..size]);
                    offset = last + 1;
                    covered = offset;
                    progressed = true;
                }
                rest = &rest[size..];
            }
            if !progressed {
                break;
            }
        }
    }
    Ok(out.freeze())
}

/// The acknowledgement runs of one batch: one type for the whole range, or one per offset
/// (consecutive offsets with the same type together).
fn runs(batch: &ShareAcknowledgeBatch) -> Result<Vec<(u64, u64, Acknowledgement)>> {
    let (first, last) = (batch.first_offset, batch.last_offset);
    if first < 0 || last < first {
        return Err(BrokerError::InvalidRequest(format!("invalid acknowledgement range {first}..{last}")));
    }
    let kind = |t: i8| {
        Acknowledgement::from_kafka(t)
            .ok_or_else(|| BrokerError::InvalidRequest(format!("unknown acknowledge type {t}")))
    };
    match batch.types.as_slice() {
        [t] => Ok(vec![(first as u64, last as u64, kind(*t)?)]),
        types if types.len() as i64 == last - first + 1 => {
            let mut out: Vec<(u64, u64, Acknowledgement)> = Vec::new();
            for (i, t) in types.iter().enumerate() {
                let offset = first as u64 + i as u64;
                let ack = kind(*t)?;
                match out.last_mut() {
                    Some(run) if run.2 == ack && run.1 + 1 == offset => run.1 = offset,
                    _ => out.push((offset, offset, ack)),
                }
            }
            Ok(out)
        }
        _ => Err(BrokerError::InvalidRequest(format!(
            "{} acknowledge types for the {} offsets {first}..={last}",
            batch.types.len(),
            last - first + 1
        ))),
    }
}
