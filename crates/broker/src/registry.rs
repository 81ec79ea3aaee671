//! The partition registry: the topics and partitions this broker serves, kept as the
//! committed metadata says. Every metadata change is proposed to the store, applied to
//! the image and then reconciled here, topic by topic; start-up replays the committed
//! image through the same reconciliation. Nothing else adds or removes topic handles.

use std::sync::Arc;

use tidelog_log::{FileLog, LogConfig, MemoryLog, PartitionLog};
use tracing::{info, warn};

use crate::broker::{Broker, FlushPolicy, Retention, TopicHandle};
use crate::config::topic_keys;
use crate::config::TopicConfig;
use crate::error::Result;
use crate::metadata::{MetadataEvent, MetadataState, TopicMeta};
use crate::partition::Partition;
use crate::validate::BatchLimits;

impl Broker {
    /// Proposes `event`, and once it is committed applies it to the image and the
    /// registry. Callers hold `admin_lock`, so validation and apply see the same state.
    pub(crate) fn commit_event(&self, event: MetadataEvent) -> Result<()> {
        self.metadata_store.propose(&event)?;
        self.metadata.write().apply(&event);
        match event.topic() {
            Some(topic) => self.reconcile_topic(topic),
            None => Ok(()),
        }
    }

    /// Installs the image replayed from the store and opens every partition it names.
    pub(crate) fn replay(&self, image: MetadataState) -> Result<()> {
        let started = std::time::Instant::now();
        let names: Vec<String> = image.topics.keys().cloned().collect();
        *self.metadata.write() = image;
        // Dynamic broker defaults first: the topics opened below follow them.
        self.refresh_dynamic_config();
        for name in &names {
            self.reconcile_topic(name)?;
        }
        let partitions: usize = self.topics.read().values().map(|t| t.partitions.len()).sum();
        info!(
            partitions,
            clean = self.clean_start,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "opened partition logs"
        );
        Ok(())
    }

    /// Makes the registry's handle for `name` match the image: opens a new topic's
    /// partitions, opens added ones, rebuilds the handle for changed settings, and closes
    /// and deletes the partitions of a deleted topic.
    fn reconcile_topic(&self, name: &str) -> Result<()> {
        let wanted = self.metadata.read().topics.get(name).cloned();
        let current = self.topics.read().get(name).cloned();
        match (current, wanted) {
            (None, None) => Ok(()),
            (Some(old), None) => self.drop_topic(&old),
            (Some(old), Some(meta)) if old.meta.topic_id != meta.topic_id => {
                self.drop_topic(&old)?;
                self.install(meta, &[])
            }
            (Some(old), Some(meta)) if old.meta != meta => self.install(meta, &old.partitions),
            (Some(_), Some(_)) => Ok(()),
            (None, Some(meta)) => self.install(meta, &[]),
        }
    }

    /// Opens what `meta` adds to `existing` and tells the coordinators which partitions
    /// this node now leads (on one node: every new one).
    fn install(&self, meta: TopicMeta, existing: &[Arc<Partition>]) -> Result<()> {
        let handle = self.open_topic_with(meta, existing)?;
        let new_partitions = existing.len() as i32..handle.partitions.len() as i32;
        let name = handle.meta.name.clone();
        self.topics.write().insert(name.clone(), handle);
        self.leadership_changed(&name, new_partitions, true)
    }

    /// Rebuilds every topic's handle after a broker default changed, so topics without
    /// their own value follow it (retention, segment size, batch limits).
    pub(crate) fn reopen_topics_for_new_defaults(&self) -> Result<()> {
        let handles: Vec<Arc<TopicHandle>> = self.topics.read().values().cloned().collect();
        for handle in handles {
            self.install(handle.meta.clone(), &handle.partitions)?;
        }
        Ok(())
    }

    fn drop_topic(&self, handle: &TopicHandle) -> Result<()> {
        self.leadership_changed(&handle.meta.name, 0..handle.partitions.len() as i32, false)?;
        self.topics.write().remove(&handle.meta.name);
        for p in &handle.partitions {
            p.delete()?;
        }
        crate::metrics::forget_topic(&handle.meta.name);
        Ok(())
    }

    /// Builds the handle for `meta`, reusing `existing` partitions and opening the rest.
    pub(crate) fn open_topic_with(&self, meta: TopicMeta, existing: &[Arc<Partition>]) -> Result<Arc<TopicHandle>> {
        let topic_config = TopicConfig { overrides: &meta.configs, broker: &self.config };
        let log_config = LogConfig {
            segment_bytes: topic_config.get(topic_keys::SEGMENT_BYTES) as u64,
            segment_ms: Some(topic_config.get(topic_keys::SEGMENT_MS)),
            index_interval_bytes: topic_config.get(topic_keys::INDEX_INTERVAL_BYTES) as u64,
            predates_recovery_points: self.predates_recovery_points,
        };
        let limits = BatchLimits {
            max_message_bytes: topic_config.get(topic_keys::MAX_MESSAGE_BYTES) as usize,
            timestamp_before_max_ms: topic_config.get(topic_keys::MESSAGE_TIMESTAMP_BEFORE_MAX_MS),
            timestamp_after_max_ms: topic_config.get(topic_keys::MESSAGE_TIMESTAMP_AFTER_MAX_MS),
        };
        let deletes = topic_config.get(topic_keys::CLEANUP_POLICY).contains("delete");
        let positive = |v: i64| (deletes && v >= 0).then_some(v);
        let retention = Retention {
            ms: positive(topic_config.get(topic_keys::RETENTION_MS)),
            bytes: positive(topic_config.get(topic_keys::RETENTION_BYTES)).map(|b| b as u64),
        };
        let compaction = topic_config.get(topic_keys::CLEANUP_POLICY).contains("compact").then(|| {
            crate::compaction::CompactionPolicy {
                delete_retention_ms: topic_config.get(topic_keys::DELETE_RETENTION_MS),
                min_compaction_lag_ms: topic_config.get(topic_keys::MIN_COMPACTION_LAG_MS),
                min_cleanable_dirty_ratio: topic_config.get(topic_keys::MIN_CLEANABLE_DIRTY_RATIO),
                max_compaction_lag_ms: topic_config.get(topic_keys::MAX_COMPACTION_LAG_MS),
            }
        });
        let log_append_time = topic_config.get(topic_keys::MESSAGE_TIMESTAMP_TYPE) == "LogAppendTime";
        let flush = FlushPolicy {
            interval_ms: topic_config.get(topic_keys::FLUSH_MS),
            messages: topic_config.get(topic_keys::FLUSH_MESSAGES) as u64,
        };
        let schema_validation = crate::schema_validation::SchemaValidation {
            key: topic_config.get(topic_keys::CONFLUENT_KEY_SCHEMA_VALIDATION),
            value: topic_config.get(topic_keys::CONFLUENT_VALUE_SCHEMA_VALIDATION),
        };
        let name: Arc<str> = meta.name.as_str().into();
        let mut partitions = existing.to_vec();
        for p in existing {
            p.with_log(|log| log.set_config(log_config));
        }
        for index in existing.len() as u32..meta.partitions {
            let log: Box<dyn PartitionLog> = match &self.data_dir {
                Some(dir) => Box::new(FileLog::open(&dir.join(format!("{}-{index}", meta.name)), log_config)?),
                None => Box::new(MemoryLog::new()),
            };
            partitions.push(Arc::new(Partition::new(name.clone(), meta.topic_id, index as i32, log)?));
        }
        Ok(Arc::new(TopicHandle {
            meta,
            partitions,
            limits,
            retention,
            flush,
            log_append_time,
            compaction,
            schema_validation,
        }))
    }

    /// Deletes partition directories that no topic owns: left behind when a crash
    /// interrupted a topic deletion. The metadata log is the source of truth.
    pub(crate) fn remove_deleted_partition_dirs(&self) {
        let Some(dir) = &self.data_dir else { return };
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        let topics = self.topics.read();
        for entry in entries.flatten() {
            let name = entry.file_name().to_string_lossy().into_owned();
            let Some((topic, index)) = name.rsplit_once('-') else {
                continue;
            };
            let Ok(index) = index.parse::<usize>() else {
                continue;
            };
            let owned = topics.get(topic).is_some_and(|t| index < t.partitions.len());
            if !owned && entry.path().is_dir() {
                warn!(dir = %entry.path().display(), "removing partition directory of a deleted topic");
                if let Err(e) = tidelog_log::durable::remove_dir_all(&entry.path()) {
                    warn!(dir = %entry.path().display(), error = %e, "could not remove stale partition directory");
                }
            }
        }
    }
}
