//! Front-ends' own models of a topic, kept by the core without looking inside: namespaced
//! topic attributes (the Kinesis front-end keeps a stream's settings and shard layout
//! under `kinesis`), and reshaping — sealing partitions at their log end and adding
//! partitions in one metadata event. Every change is a read-modify-write under
//! `admin_lock`, so two concurrent changes never lose one another.

use std::collections::BTreeMap;

use parking_lot::RwLockReadGuard;
use serde_json::Value;

use crate::access::{Operation, RequestContext, Resource};
use crate::admin::{ConfigChange, NewTopic};
use crate::broker::{now_ms, Broker};
use crate::config::TopicConfig;
use crate::error::{BrokerError, Result};
use crate::metadata::{MetadataEvent, Seal, TopicMeta};

/// What a reshape changes: partitions sealed at their current log end, the new partition
/// count (at least the current one) and attributes replaced.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Reshape {
    pub seal: Vec<i32>,
    pub partitions: u32,
    pub attributes: BTreeMap<String, Value>,
}

fn unknown_topic(name: &str) -> BrokerError {
    BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None }
}

impl Broker {
    /// The committed metadata of a topic.
    pub fn topic_meta(&self, name: &str) -> Option<TopicMeta> {
        self.metadata.read().topics.get(name).cloned()
    }

    /// Creates a topic with front-ends' attributes, committed in the same event as the
    /// topic so that no crash leaves the topic without them.
    pub fn create_topic_with_attributes(
        &self,
        ctx: &RequestContext,
        request: NewTopic,
        attributes: BTreeMap<String, Value>,
    ) -> Result<TopicMeta> {
        self.authorize(ctx, Operation::Create, Resource::Topic(&request.name))?;
        self.create_topic_unchecked(request, false, attributes)
    }

    /// Replaces the attribute `namespace` of a topic with what `change` makes of the
    /// topic's current metadata, under `admin_lock`. `change` answers `None` to leave the
    /// attribute as it is, or refuses with its own error (the inner `Err`): nothing is
    /// committed then, nor when the value is unchanged. `change` runs under the lock, so
    /// it must not call back into metadata changes.
    pub fn update_topic_attribute<T, E>(
        &self,
        ctx: &RequestContext,
        name: &str,
        namespace: &str,
        change: impl FnOnce(&TopicMeta) -> std::result::Result<(Option<Value>, T), E>,
    ) -> Result<std::result::Result<T, E>> {
        self.authorize(ctx, Operation::Alter, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let meta = self.topic_meta(name).ok_or_else(|| unknown_topic(name))?;
        let (value, answer) = match change(&meta) {
            Ok(changed) => changed,
            Err(refused) => return Ok(Err(refused)),
        };
        if let Some(value) = value.filter(|v| meta.attributes.get(namespace) != Some(v)) {
            let (name, namespace) = (name.into(), namespace.into());
            self.commit_event(MetadataEvent::TopicAttributeChanged { name, namespace, value })?;
        }
        Ok(Ok(answer))
    }

    /// Plans a reshape against the topic's current metadata and applies it, both under
    /// `admin_lock` and the write side of the shape lock (see [`Broker::shape_guard`]), so
    /// no two reshapes plan against the same state and no routed append lands in a
    /// partition after it was sealed. `plan` may refuse with its own error (the inner
    /// `Err`); a plan that changes nothing commits nothing.
    pub fn reshape_topic<T, E>(
        &self,
        ctx: &RequestContext,
        name: &str,
        plan: impl FnOnce(&TopicMeta) -> std::result::Result<(Reshape, T), E>,
    ) -> Result<std::result::Result<T, E>> {
        self.authorize(ctx, Operation::Alter, Resource::Topic(name))?;
        let _admin = self.admin_lock.lock();
        let _shape = self.shape_lock.write();
        let meta = self.topic_meta(name).ok_or_else(|| unknown_topic(name))?;
        let (reshape, answer) = match plan(&meta) {
            Ok(planned) => planned,
            Err(refused) => return Ok(Err(refused)),
        };
        let unchanged = reshape.seal.is_empty()
            && reshape.partitions == meta.partitions
            && reshape.attributes.iter().all(|(k, v)| meta.attributes.get(k) == Some(v));
        if unchanged {
            return Ok(Ok(answer));
        }
        if reshape.partitions < meta.partitions {
            return Err(BrokerError::InvalidPartitions(format!(
                "a reshape cannot remove partitions: {} has {}, the plan {}",
                name, meta.partitions, reshape.partitions
            )));
        }
        let now = now_ms();
        let mut sealed = BTreeMap::new();
        for partition in reshape.seal {
            let offset = self.partition(name, partition)?.offsets().log_end_offset;
            sealed.insert(partition, Seal { offset, sealed_ms: now });
        }
        let event = MetadataEvent::TopicReshaped {
            name: name.into(),
            partitions: reshape.partitions,
            sealed,
            attributes: reshape.attributes,
        };
        self.commit_event(event)?;
        tracing::info!(topic = %name, partitions = reshape.partitions, "reshaped topic");
        Ok(Ok(answer))
    }

    /// Held by appends that route records by the topic's shape (a Kinesis PutRecords
    /// choosing shards): a reshape waits for them, and they for it.
    pub fn shape_guard(&self) -> RwLockReadGuard<'_, ()> {
        self.shape_lock.read()
    }

    /// Changes a topic's configs to what `change` makes of the current ones, under
    /// `admin_lock`, so a check against the current value (an increase must not shorten
    /// a retention) still holds when the change is committed. `change` may refuse with its
    /// own error (the inner `Err`).
    pub fn update_topic_configs<E>(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: impl FnOnce(&TopicConfig) -> std::result::Result<Vec<ConfigChange>, E>,
    ) -> Result<std::result::Result<(), E>> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let meta = self.topic_meta(name).ok_or_else(|| unknown_topic(name))?;
        let changes = match change(&TopicConfig { overrides: &meta.configs, broker: &self.config }) {
            Ok(changes) => changes,
            Err(refused) => return Ok(Err(refused)),
        };
        self.apply_config_changes(&meta, &changes, false)?;
        Ok(Ok(()))
    }
}
