//! Topic administration: create, delete, add partitions, describe configs.
//! Each change is validated against the current state, then committed as one metadata
//! event, then applied to the running partitions.

use std::collections::BTreeMap;
use std::sync::Arc;

use tracing::info;
use uuid::Uuid;

use crate::broker::{Broker, TopicHandle};
use crate::config::{validate_topic_configs, ConfigEntry, TopicConfig};
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
    pub fn create_topic(&self, request: NewTopic, validate_only: bool) -> Result<TopicMeta> {
        validate_topic_name(&request.name)?;
        let partitions = request.partitions.unwrap_or(self.config.long("num.partitions") as i32);
        if partitions <= 0 {
            return Err(BrokerError::InvalidPartitions("Number of partitions must be larger than 0.".into()));
        }
        let replication = request.replication_factor.unwrap_or(self.config.long("default.replication.factor") as i16);
        if replication <= 0 {
            return Err(BrokerError::InvalidReplicationFactor("Replication factor must be larger than 0.".into()));
        }
        if replication > 1 {
            return Err(BrokerError::InvalidReplicationFactor(format!(
                "Unable to replicate the partition {replication} time(s): The target replication factor of {replication} cannot be reached because only 1 broker(s) are registered."
            )));
        }
        let configs = validate_topic_configs(&request.configs)?;
        let _guard = self.admin_lock.lock();
        if self.metadata.read().topics.contains_key(&request.name) {
            return Err(BrokerError::TopicAlreadyExists(request.name));
        }
        let meta =
            TopicMeta { name: request.name.clone(), topic_id: Uuid::new_v4(), partitions: partitions as u32, configs };
        if validate_only {
            return Ok(meta);
        }
        self.commit_event(MetadataEvent::TopicCreated {
            name: meta.name.clone(),
            topic_id: meta.topic_id,
            partitions: meta.partitions,
            configs: meta.configs.clone(),
        })?;
        let handle = self.open_topic_with(meta.clone(), &[])?;
        self.topics.write().insert(meta.name.clone(), handle);
        info!(topic = %meta.name, partitions, "created topic");
        Ok(meta)
    }

    /// The topic, created with broker defaults if it is missing and auto-creation is on.
    pub fn topic_or_auto_create(&self, name: &str) -> Result<Option<Arc<TopicHandle>>> {
        if let Some(t) = self.topic(name) {
            return Ok(Some(t));
        }
        if !self.config.bool("auto.create.topics.enable") {
            return Ok(None);
        }
        match self.create_topic(NewTopic { name: name.into(), ..Default::default() }, false) {
            Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => Ok(self.topic(name)),
            Err(e) => Err(e),
        }
    }

    pub fn delete_topic(&self, name: &str) -> Result<Uuid> {
        let _guard = self.admin_lock.lock();
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        self.commit_event(MetadataEvent::TopicDeleted { name: name.into() })?;
        self.topics.write().remove(name);
        for p in &handle.partitions {
            p.delete()?;
        }
        info!(topic = %name, "deleted topic");
        Ok(handle.meta.topic_id)
    }

    /// Grows a topic to `total` partitions.
    pub fn create_partitions(&self, name: &str, total: i32, validate_only: bool) -> Result<()> {
        let _guard = self.admin_lock.lock();
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        let current = handle.meta.partitions as i32;
        if total <= current {
            return Err(BrokerError::InvalidPartitions(format!(
                "Topic currently has {current} partitions, which is higher than the requested {total}."
            )));
        }
        if validate_only {
            return Ok(());
        }
        self.commit_event(MetadataEvent::PartitionsAdded { name: name.into(), partitions: total as u32 })?;
        let meta = TopicMeta { partitions: total as u32, ..handle.meta.clone() };
        let grown = self.open_topic_with(meta, &handle.partitions)?;
        self.topics.write().insert(name.into(), grown);
        info!(topic = %name, partitions = total, "added partitions");
        Ok(())
    }

    pub fn topic_config_entries(&self, name: &str) -> Result<Vec<ConfigEntry>> {
        let handle = self
            .topic(name)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })?;
        Ok(TopicConfig { overrides: &handle.meta.configs, broker: &self.config }.entries())
    }

    pub fn broker_config_entries(&self) -> Vec<ConfigEntry> {
        self.config.entries()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
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
        broker.create_topic(topic("t", 2), false).unwrap();
        assert!(matches!(broker.create_topic(topic("t", 2), false), Err(BrokerError::TopicAlreadyExists(_))));
        assert!(matches!(broker.create_topic(topic("u", 0), false), Err(BrokerError::InvalidPartitions(_))));
        broker.create_topic(topic("v", 1), true).unwrap();
        assert!(broker.topic("v").is_none(), "validate_only must not create");
        assert!(matches!(broker.create_partitions("t", 1, false), Err(BrokerError::InvalidPartitions(_))));
        broker.create_partitions("t", 5, false).unwrap();
        assert_eq!(broker.topic("t").unwrap().partitions.len(), 5);
        broker.delete_topic("t").unwrap();
        assert!(broker.topic("t").is_none());
        assert!(matches!(broker.delete_topic("t"), Err(BrokerError::UnknownTopicOrPartition { .. })));
    }

    #[test]
    fn replication_above_one_is_refused() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let err = broker.create_topic(NewTopic { replication_factor: Some(3), ..topic("r", 1) }, false).unwrap_err();
        assert!(err.to_string().contains("only 1 broker(s)"), "{err}");
    }
}
