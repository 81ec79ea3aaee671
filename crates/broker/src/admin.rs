//! Topic administration: create, delete, add partitions, describe configs.
//! Each change is validated against the current state, then committed as one metadata
//! event, then applied to the running partitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::info;
use uuid::Uuid;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{Broker, TopicHandle};
use crate::config::keys;
use crate::config::{validate_topic_configs, ConfigEntry, TopicConfig, TOPIC_SPECS};
use crate::config_change::apply_changes;
use crate::error::{BrokerError, Result};
use crate::metadata::{MetadataEvent, TopicMeta};

const MAX_TOPIC_NAME_LEN: usize = 249;

/// What a CreateTopics entry asks for; `None` takes the broker default.
#[derive(Debug, Clone, Default)]
pub struct NewTopic {
    pub name: String,
    pub partitions: Option<i32>,
    pub replication_factor: Option<i16>,
    pub configs: BTreeMap<String, String>,
}

/// One change of IncrementalAlterConfigs (AlterConfigs is a list of `Set`s after
/// removing every override).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConfigChange {
    Set(String, String),
    Delete(String),
    /// Adds an item to a list setting (`cleanup.policy`).
    Append(String, String),
    Subtract(String, String),
    /// Removes every override first (AlterConfigs replaces the whole set).
    ClearAll,
}

/// Kafka's topic name rules: 1..=249 of [a-zA-Z0-9._-], not "." or "..".
pub fn validate_topic_name(name: &str) -> Result<()> {
    let invalid = |reason: &str| BrokerError::InvalidTopic { name: name.into(), reason: reason.into() };
    if name.is_empty() {
        return Err(invalid("topic name is empty"));
    }
    if name == "." || name == ".." {
        return Err(invalid("topic name cannot be '.' or '..'"));
    }
    if name.len() > MAX_TOPIC_NAME_LEN {
        return Err(invalid("topic name is longer than 249 characters"));
    }
    if !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'.' || b == b'_' || b == b'-') {
        return Err(invalid("topic name may only contain ASCII alphanumerics, '.', '_' and '-'"));
    }
    Ok(())
}

impl Broker {
    /// Creates a topic, or with `validate_only` only checks that it could be created.
    pub fn create_topic(&self, ctx: &RequestContext, request: NewTopic, validate_only: bool) -> Result<TopicMeta> {
        self.authorize(ctx, Operation::Create, Resource::Topic(&request.name))?;
        self.create_topic_unchecked(request, validate_only, BTreeMap::new())
    }

    /// [`Broker::create_topic`] after authorization, with front-ends' attributes committed
    /// in the same event as the topic.
    pub(crate) fn create_topic_unchecked(
        &self,
        request: NewTopic,
        validate_only: bool,
        attributes: BTreeMap<String, serde_json::Value>,
    ) -> Result<TopicMeta> {
        validate_topic_name(&request.name)?;
        let partitions = request.partitions.unwrap_or(self.config.get(keys::NUM_PARTITIONS) as i32);
        if partitions <= 0 {
            return Err(BrokerError::InvalidPartitions("Number of partitions must be larger than 0.".into()));
        }
        let replication =
            request.replication_factor.unwrap_or(self.config.get(keys::DEFAULT_REPLICATION_FACTOR) as i16);
        if replication <= 0 {
            return Err(BrokerError::InvalidReplicationFactor("Replication factor must be larger than 0.".into()));
        }
        if replication > 1 {
            return Err(BrokerError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {replication} time(s): The target replication factor of {replication} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        let configs = validate_topic_configs(&request.configs)?;
        TopicConfig { overrides: &configs, broker: &self.config }.check_consistency()?;
        let _guard = self.admin_lock.lock();
        if self.metadata.read().topics.contains_key(&request.name) {
            return Err(BrokerError::TopicAlreadyExists(request.name));
        }
        let meta = TopicMeta {
            name: request.name.clone(),
            topic_id: Uuid::new_v4(),
            partitions: partitions as u32,
            configs,
            attributes,
            sealed: BTreeMap::new(),
        };
        if validate_only {
            return Ok(meta);
        }
        self.commit_event(MetadataEvent::TopicCreated {
            name: meta.name.clone(),
            topic_id: meta.topic_id,
            partitions: meta.partitions,
            configs: meta.configs.clone(),
            attributes: meta.attributes.clone(),
        })?;
        info!(topic = %meta.name, partitions, "created topic");
        Ok(meta)
    }

    /// The topic `name` if the caller may describe it (Metadata), else `NotAuthorized`.
    pub fn describe_topic(&self, ctx: &RequestContext, name: &str) -> Result<Option<Arc<TopicHandle>>> {
        self.authorize(ctx, Operation::Describe, Resource::Topic(name))?;
        Ok(self.topic(name))
    }

    /// Every topic the caller may describe (Metadata for all topics), by name.
    pub fn describable_topics(&self, ctx: &RequestContext) -> Vec<Arc<TopicHandle>> {
        let mut topics = self.all_topics();
        topics.retain(|t| self.authorize(ctx, Operation::Describe, Resource::Topic(&t.meta.name)).is_ok());
        topics
    }

    /// The topic, created with broker defaults if it is missing and auto-creation is on.
    pub fn topic_or_auto_create(&self, ctx: &RequestContext, name: &str) -> Result<Option<Arc<TopicHandle>>> {
        self.authorize(ctx, Operation::Describe, Resource::Topic(name))?;
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        if !self.config.get(keys::AUTO_CREATE_TOPICS_ENABLE) {
            return Ok(None);
        }
        match self.create_topic(ctx, NewTopic { name: name.into(), ..Default::default() }, false) {
            Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }

    pub fn delete_topic(&self, ctx: &RequestContext, name: &str) -> Result<Uuid> {
        self.authorize(ctx, Operation::Delete, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        self.commit_event(MetadataEvent::TopicDeleted { name: name.into() })?;
        info!(topic = %name, "deleted topic");
        Ok(handle.meta.topic_id)
    }

    /// Grows a topic to `total` partitions, placed as `assignments` says (one replica
    /// list per new partition) when the request gives them.
    pub fn create_partitions(
        &self,
        ctx: &RequestContext,
        name: &str,
        total: i32,
        assignments: Option<&[Vec<i32>]>,
        validate_only: bool,
    ) -> Result<()> {
        self.authorize(ctx, Operation::Alter, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        let current = handle.meta.partitions as i32;
        // Kafka's controller wording (ReplicationControlManager.createPartitions).
        if total == current {
            return Err(BrokerError::InvalidPartitions(format!("Topic already has {current} partition(s).")));
        }
        if total < current {
            return Err(BrokerError::InvalidPartitions(format!(
                "The topic {name} currently has {current} partition(s); {total} would not be an increase."
            )));
        }
        if let Some(assignments) = assignments {
            // Every partition of a one-node cluster has one replica.
            self.check_added_partitions(total - current, 1, assignments)?;
        }
        if validate_only {
            return Ok(());
        }
        self.commit_event(MetadataEvent::PartitionsAdded { name: name.into(), partitions: total as u32 })?;
        info!(topic = %name, partitions = total, "added partitions");
        Ok(())
    }

    /// Applies config changes to a topic: validated as a whole, persisted as one event,
    /// then in force for new appends, segment rolls and retention.
    pub fn alter_topic_configs(
        &self,
        ctx: &RequestContext,
        name: &str,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<()> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let meta = self
            .topic_meta(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        self.apply_config_changes(&meta, changes, validate_only)
    }

    /// Validates `changes` against `meta`'s configs as a whole and commits the result
    /// (nothing when it changes nothing). Callers hold `admin_lock`.
    pub(crate) fn apply_config_changes(
        &self,
        meta: &TopicMeta,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<()> {
        let mut configs = meta.configs.clone();
        apply_changes(&mut configs, changes, |k| TOPIC_SPECS.iter().find(|t| t.spec.name == k).map(|t| &t.spec))?;
        let configs = validate_topic_configs(&configs)?;
        TopicConfig { overrides: &configs, broker: &self.config }.check_consistency()?;
        if validate_only || configs == meta.configs {
            return Ok(());
        }
        let name = meta.name.clone();
        self.commit_event(MetadataEvent::TopicConfigsChanged { name: name.clone(), configs })?;
        info!(topic = %name, "changed topic configs");
        Ok(())
    }

    /// Moves a partition's log start offset to `offset` (-1: the high watermark); records
    /// below it are gone. Returns the new log start offset (DeleteRecords' low watermark).
    pub fn delete_records(&self, ctx: &RequestContext, topic: &str, partition: i32, offset: i64) -> Result<u64> {
        self.authorize(ctx, Operation::Delete, Resource::Topic(topic))?;
        let part = self.partition(topic, partition)?;
        let target = if offset == -1 {
            part.offsets().high_watermark
        } else {
            u64::try_from(offset).map_err(|_| BrokerError::OffsetOutOfRange {
                offset,
                log_start_offset: 0,
                log_end_offset: 0,
            })?
        };
        Ok(part.with_log(|log| log.delete_records_before(target))?)
    }

    pub fn topic_config_entries(&self, ctx: &RequestContext, name: &str) -> Result<Vec<ConfigEntry>> {
        self.authorize(ctx, Operation::DescribeConfigs, Resource::Topic(name))?;
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        Ok(TopicConfig { overrides: &handle.meta.configs, broker: &self.config }.entries())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RequestContext;
    use crate::config::BrokerConfig;

    fn topic(name: &str, partitions: i32) -> NewTopic {
        NewTopic { name: name.into(), partitions: Some(partitions), ..Default::default() }
    }

    #[test]
    fn names_are_validated_as_kafka_does() {
        for bad in ["", ".", "..", "has space", "slash/name", &"x".repeat(250)] {
            assert!(validate_topic_name(bad).is_err(), "{bad:?}");
        }
        validate_topic_name("orders.v1_eu-west").unwrap();
    }

    #[test]
    fn create_grow_delete_and_errors() {
        let broker = Broker::in_memory(BrokerConfig::default());
        broker.create_topic(&RequestContext::local(), topic("t", 2), false).unwrap();
        assert!(matches!(
            broker.create_topic(&RequestContext::local(), topic("t", 2), false),
            Err(BrokerError::TopicAlreadyExists(_))
        ));
        assert!(matches!(
            broker.create_topic(&RequestContext::local(), topic("u", 0), false),
            Err(BrokerError::InvalidPartitions(_))
        ));
        broker.create_topic(&RequestContext::local(), topic("v", 1), true).unwrap();
        assert!(broker.topic("v").is_none(), "validate_only must not create");
        assert!(matches!(
            broker.create_partitions(&RequestContext::local(), "t", 1, None, false),
            Err(BrokerError::InvalidPartitions(_))
        ));
        broker.create_partitions(&RequestContext::local(), "t", 5, None, false).unwrap();
        assert_eq!(broker.topic("t").unwrap().partitions.len(), 5);
        broker.delete_topic(&RequestContext::local(), "t").unwrap();
        assert!(broker.topic("t").is_none());
        assert!(matches!(
            broker.delete_topic(&RequestContext::local(), "t"),
            Err(BrokerError::UnknownTopicOrPartition { .. })
        ));
    }

    #[test]
    fn config_changes_append_subtract_and_validate() {
        let broker = Broker::in_memory(BrokerConfig::default());
        broker.create_topic(&RequestContext::local(), topic("c", 1), false).unwrap();
        let policy = |b: &Broker| b.topic("c").unwrap().meta.configs.get("cleanup.policy").cloned();
        broker
            .alter_topic_configs(
                &RequestContext::local(),
                "c",
                &[ConfigChange::Append("cleanup.policy".into(), "compact".into())],
                false,
            )
            .unwrap();
        assert_eq!(policy(&broker).as_deref(), Some("delete,compact"));
        broker
            .alter_topic_configs(
                &RequestContext::local(),
                "c",
                &[ConfigChange::Subtract("cleanup.policy".into(), "delete".into())],
                false,
            )
            .unwrap();
        assert_eq!(policy(&broker).as_deref(), Some("compact"));
        let err = broker.alter_topic_configs(
            &RequestContext::local(),
            "c",
            &[ConfigChange::Set("retention.ms".into(), "soon".into())],
            false,
        );
        assert!(matches!(err, Err(BrokerError::InvalidConfig(_))));
        broker
            .alter_topic_configs(
                &RequestContext::local(),
                "c",
                &[ConfigChange::Set("retention.ms".into(), "5".into())],
                true,
            )
            .unwrap();
        assert!(!broker.topic("c").unwrap().meta.configs.contains_key("retention.ms"), "validate_only changes nothing");
        assert!(broker.topic("c").unwrap().retention.ms.is_none(), "compact-only topics are not time-retained");
    }

    #[test]
    fn flush_messages_asks_for_an_fsync_once_reached() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let configs =
            [("flush.messages".to_string(), "3".to_string()), ("flush.ms".to_string(), "250".to_string())].into();
        broker.create_topic(&RequestContext::local(), NewTopic { configs, ..topic("f", 1) }, false).unwrap();
        assert_eq!(broker.topic("f").unwrap().flush, crate::broker::FlushPolicy { interval_ms: 250, messages: 3 });
        let batch = || {
            crate::test_support::encode_batch(
                1,
                b"v",
                crate::broker::now_ms(),
                kafka_protocol::records::Compression::None,
            )
        };
        assert!(!broker.append(&RequestContext::local(), "f", 0, &batch()).unwrap().flush_now);
        assert!(!broker.append(&RequestContext::local(), "f", 0, &batch()).unwrap().flush_now);
        assert!(
            broker.append(&RequestContext::local(), "f", 0, &batch()).unwrap().flush_now,
            "three unflushed records"
        );
        broker.create_topic(&RequestContext::local(), topic("g", 1), false).unwrap();
        assert!(
            !broker.append(&RequestContext::local(), "g", 0, &batch()).unwrap().flush_now,
            "the default never forces a flush"
        );
    }

    #[test]
    fn replication_above_one_is_refused() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let err = broker
            .create_topic(&RequestContext::local(), NewTopic { replication_factor: Some(3), ..topic("r", 1) }, false)
            .unwrap_err();
        assert!(err.to_string().contains("only 1 broker(s)"), "{err}");
    }
}
