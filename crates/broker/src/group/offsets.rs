//! Committed offsets: validated against the group, appended to `__consumer_offsets`
//! through the ordinary log, fsynced (group commit) and only then made visible. On start
//! the topic is replayed; the last record per key wins and null values delete.

use std::collections::BTreeMap;

use super::offsets_format::{self, CommittedOffset, OffsetsRecord};
use super::{GroupEntry, OFFSETS_TOPIC};
use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{now_ms, Broker};
use crate::config::keys;
use crate::error::{BrokerError, Result};
use crate::internal_topics::{partition_for, KeyValue};

/// Kafka's `offset.metadata.max.bytes` default.
const MAX_METADATA_BYTES: usize = 4096;

/// One partition's consumer lag.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PartitionLag {
    pub topic: String,
    pub partition: i32,
    pub committed_offset: i64,
    pub log_end_offset: i64,
    pub lag: i64,
}

/// A topic's committed offsets per partition (`None`: nothing committed).
pub type TopicOffsets = (String, Vec<(i32, Option<CommittedOffset>)>);

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct OffsetCommit {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
}

impl Broker {
    /// Appends `(key, value)` records for `group_id` to its `__consumer_offsets` partition
    /// and waits until they are durable.
    async fn write_offsets_records(&self, group_id: &str, records: Vec<KeyValue>) -> Result<()> {
        if records.is_empty() {
            return Ok(());
        }
        let handle = self.internal_topic(OFFSETS_TOPIC, keys::OFFSETS_TOPIC_NUM_PARTITIONS)?;
        let partition = partition_for(group_id, handle.partitions.len());
        self.write_internal(OFFSETS_TOPIC, partition, records).await
    }

    /// Commits offsets for a group. `Err` is a group-level error for every partition;
    /// `Ok` holds one result per commit, in order.
    pub async fn commit_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        commits: Vec<OffsetCommit>,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        self.check_group_member(group_id, generation, member_id, instance)?;
        self.store_offsets(group_id, commits).await
    }

    /// Whether a member of this generation may commit for the group (a negative
    /// generation and empty member id: a commit from outside the group, always allowed).
    pub(crate) fn check_group_member(
        &self,
        group_id: &str,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
    ) -> Result<()> {
        self.with_group(group_id, |g: &mut GroupEntry| g.check_commit(generation, member_id, instance))
    }

    /// Whether one offset commit can be stored at all.
    pub(crate) fn check_offset_commit(&self, c: &OffsetCommit) -> Result<()> {
        if self.partition(&c.topic, c.partition).is_err() {
            Err(BrokerError::UnknownTopicOrPartition { topic: c.topic.clone(), partition: Some(c.partition) })
        } else if c.metadata.len() > MAX_METADATA_BYTES {
            Err(BrokerError::OffsetMetadataTooLarge { size: c.metadata.len(), max: MAX_METADATA_BYTES })
        } else {
            Ok(())
        }
    }

    /// Stores the commits that pass [`Self::check_offset_commit`], durably, then makes
    /// them visible. One result per commit, in order.
    pub(crate) async fn store_offsets(&self, group_id: &str, commits: Vec<OffsetCommit>) -> Result<Vec<Result<()>>> {
        let timestamp = now_ms();
        let mut results = Vec::with_capacity(commits.len());
        let mut accepted = Vec::new();
        let mut records = Vec::new();
        for c in commits {
            let check = self.check_offset_commit(&c);
            if check.is_ok() {
                let value = CommittedOffset {
                    offset: c.offset,
                    leader_epoch: c.leader_epoch,
                    metadata: c.metadata.clone(),
                    commit_timestamp: timestamp,
                };
                records.push((
                    offsets_format::offset_key(group_id, &c.topic, c.partition),
                    Some(offsets_format::offset_value(&value)),
                ));
                accepted.push(((c.topic, c.partition), value));
            }
            results.push(check);
        }
        self.write_offsets_records(group_id, records).await?;
        self.with_group(group_id, |g| g.offsets.extend(accepted));
        Ok(results)
    }

    /// Committed offsets of a group: for the given (topic, partitions), or all of them.
    pub fn fetch_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        wanted: Option<Vec<(String, Vec<i32>)>>,
    ) -> Result<Vec<TopicOffsets>> {
        self.authorize(ctx, Operation::Describe, Resource::Group(group_id))?;
        let entries = self.groups.entries.lock();
        let offsets = entries.get(group_id).map(|e| &e.offsets);
        Ok(match wanted {
            Some(topics) => topics
                .into_iter()
                .map(|(topic, partitions)| {
                    let found = partitions
                        .into_iter()
                        .map(|p| (p, offsets.and_then(|o| o.get(&(topic.clone(), p)).cloned())))
                        .collect();
                    (topic, found)
                })
                .collect(),
            None => {
                let mut by_topic: BTreeMap<String, Vec<(i32, Option<CommittedOffset>)>> = BTreeMap::new();
                for ((topic, partition), value) in offsets.into_iter().flatten() {
                    by_topic.entry(topic.clone()).or_default().push((*partition, Some(value.clone())));
                }
                by_topic.into_iter().collect()
            }
        })
    }

    /// Deletes an empty group and its offsets (tombstones in `__consumer_offsets`).
    pub async fn delete_group(&self, ctx: &RequestContext, group_id: &str) -> Result<()> {
        self.authorize(ctx, Operation::Delete, Resource::Group(group_id))?;
        if self.is_share_group(group_id) {
            return self.delete_share_group(ctx, group_id).await;
        }
        let keys = {
            let entries = self.groups.entries.lock();
            let entry = entries.get(group_id).ok_or_else(|| BrokerError::GroupIdNotFound(group_id.into()))?;
            if entry.has_members() {
                return Err(BrokerError::NonEmptyGroup(group_id.into()));
            }
            entry.offsets.keys().cloned().collect::<Vec<_>>()
        };
        let mut records: Vec<KeyValue> =
            keys.iter().map(|(t, p)| (offsets_format::offset_key(group_id, t, *p), None)).collect();
        records.push((offsets_format::group_key(group_id), None));
        self.write_offsets_records(group_id, records).await?;
        let mut entries = self.groups.entries.lock();
        if entries.get(group_id).is_some_and(|e| !e.has_members()) {
            entries.remove(group_id);
        }
        Ok(())
    }

    /// Deletes committed offsets of partitions the group no longer consumes (OffsetDelete).
    pub async fn delete_offsets(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        partitions: Vec<(String, i32)>,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Delete, Resource::Group(group_id))?;
        let subscribed = {
            let entries = self.groups.entries.lock();
            let entry = entries.get(group_id).ok_or_else(|| BrokerError::GroupIdNotFound(group_id.into()))?;
            entry.subscribed_topics()
        };
        let mut results = Vec::with_capacity(partitions.len());
        let mut records = Vec::new();
        let mut removed = Vec::new();
        for (topic, partition) in partitions {
            if subscribed.contains(&topic) {
                results.push(Err(BrokerError::GroupSubscribedToTopic(topic)));
                continue;
            }
            records.push((offsets_format::offset_key(group_id, &topic, partition), None));
            removed.push((topic, partition));
            results.push(Ok(()));
        }
        self.write_offsets_records(group_id, records).await?;
        if let Some(entry) = self.groups.entries.lock().get_mut(group_id) {
            for key in &removed {
                entry.offsets.remove(key);
            }
        }
        Ok(results)
    }

    /// Consumer lag per partition the group has committed: log end offset minus the
    /// committed offset (for metrics and the CLI; admin clients compute it themselves).
    pub fn group_lag(&self, group_id: &str) -> Vec<PartitionLag> {
        self.fetch_offsets(&RequestContext::internal(), group_id, None)
            .unwrap_or_default()
            .into_iter()
            .flat_map(|(topic, partitions)| {
                partitions.into_iter().filter_map(move |(partition, committed)| {
                    let committed = committed?.offset;
                    let log_end_offset = self.partition(&topic, partition).ok()?.offsets().high_watermark as i64;
                    Some(PartitionLag {
                        topic: topic.clone(),
                        partition,
                        committed_offset: committed,
                        log_end_offset,
                        lag: (log_end_offset - committed).max(0),
                    })
                })
            })
            .collect()
    }

    /// Drops offsets of empty groups not committed within `offsets.retention.minutes`.
    pub(crate) async fn expire_offsets(&self) -> Result<()> {
        let retention_ms = self.config.get(keys::OFFSETS_RETENTION_MINUTES) * 60_000;
        let cutoff = now_ms().saturating_sub(retention_ms);
        let expired: Vec<(String, Vec<(String, i32)>)> = {
            let entries = self.groups.entries.lock();
            entries
                .iter()
                .filter(|(_, e)| !e.has_members())
                .map(|(id, e)| {
                    (
                        id.clone(),
                        e.offsets
                            .iter()
                            .filter(|(_, v)| v.commit_timestamp < cutoff)
                            .map(|(k, _)| k.clone())
                            .collect::<Vec<_>>(),
                    )
                })
                .filter(|(_, keys)| !keys.is_empty())
                .collect()
        };
        for (group_id, keys) in expired {
            tracing::info!(group = %group_id, partitions = keys.len(), "expiring committed offsets past retention");
            self.delete_offsets(&RequestContext::internal(), &group_id, keys).await?;
        }
        Ok(())
    }

    /// Loads the committed offsets kept in `partition` of `__consumer_offsets`: this node
    /// now coordinates the groups that hash to it.
    pub(crate) fn load_group_offsets(&self, partition: i32) -> Result<()> {
        let mut entries = self.groups.entries.lock();
        let loaded = self.replay_internal(OFFSETS_TOPIC, partition, |r| {
            let Some(key) = &r.key else { return };
            match offsets_format::decode(key, r.value.as_deref()) {
                Ok(OffsetsRecord::Commit { group, topic, partition, value }) => {
                    let entry = entries.entry(group.clone()).or_insert_with(|| GroupEntry::new(&group));
                    match value {
                        Some(v) => entry.offsets.insert((topic, partition), v),
                        None => entry.offsets.remove(&(topic, partition)),
                    };
                }
                Ok(OffsetsRecord::Group { group, present: false }) => {
                    entries.remove(&group);
                }
                Ok(OffsetsRecord::Group { .. }) => {}
                Err(e) => tracing::warn!(error = %e, "skipping unreadable {OFFSETS_TOPIC} record"),
            }
        })?;
        tracing::info!(partition, records = loaded, groups = entries.len(), "loaded committed offsets");
        Ok(())
    }

    /// Forgets the groups that hash to `partition` of `__consumer_offsets`: another node
    /// coordinates them now, or the topic is gone.
    pub(crate) fn unload_group_offsets(&self, partition: i32) {
        let partitions = self.internal_partitions(OFFSETS_TOPIC);
        self.groups.entries.lock().retain(|group, _| partition_for(group, partitions) != partition);
        tracing::info!(partition, "unloaded groups");
    }
}
