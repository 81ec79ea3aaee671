//! The broker: the one place every front-end calls. Owns the metadata state, the
//! partitions and their lifecycle (open, create, delete, close).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use parking_lot::{Mutex, RwLock};
use tidelog_log::LogOffsets;
use tokio::sync::watch;
use tracing::{info, warn};

use crate::access::{AllowAll, Authorizer, Operation, RequestContext, Resource};
use crate::config::keys;
use crate::config::BrokerConfig;
use crate::error::{BrokerError, Result};
use crate::metadata::{
    LocalMetadataStore, MemoryMetadataStore, MetadataEvent, MetadataState, MetadataStore, TopicMeta,
};
use crate::partition::Partition;
use crate::validate::{self, BatchLimits};

const CLEAN_SHUTDOWN_MARKER: &str = ".clean-shutdown";
/// Present in data directories whose logs keep recovery points from their creation on.
const LOG_FORMAT_MARKER: &str = ".log-format";
const METADATA_DIR: &str = "__cluster_metadata";

pub fn now_ms() -> i64 {
    SystemTime::now().duration_since(UNIX_EPOCH).map_or(0, |d| d.as_millis() as i64)
}

/// A topic's partitions and the limits its produce requests are checked against.
#[derive(Debug)]
pub struct TopicHandle {
    pub meta: TopicMeta,
    pub partitions: Vec<Arc<Partition>>,
    pub limits: BatchLimits,
    pub retention: Retention,
    /// `flush.ms` and `flush.messages`: when unflushed data must be fsynced.
    pub flush: FlushPolicy,
    /// `message.timestamp.type=LogAppendTime`: the broker stamps batches on append.
    pub log_append_time: bool,
    /// `Some` when `cleanup.policy` includes `compact`.
    pub compaction: Option<crate::compaction::CompactionPolicy>,
    /// `confluent.key.schema.validation` / `confluent.value.schema.validation`.
    pub schema_validation: crate::schema_validation::SchemaValidation,
}

/// When a topic's appended data is fsynced even without acks=all.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FlushPolicy {
    pub interval_ms: i64,
    pub messages: u64,
}

/// What the retention pass keeps of a topic (`cleanup.policy` with `delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Retention {
    pub ms: Option<i64>,
    pub bytes: Option<u64>,
}

pub struct Broker {
    pub(crate) config: BrokerConfig,
    /// `None`: logs live in memory (tests).
    pub(crate) data_dir: Option<PathBuf>,
    pub(crate) metadata: RwLock<MetadataState>,
    /// The one door for metadata changes; `commit_event` applies what it committed.
    pub(crate) metadata_store: Box<dyn MetadataStore>,
    pub(crate) topics: RwLock<HashMap<String, Arc<TopicHandle>>>,
    /// Serialises metadata changes so validation and apply see the same state.
    pub(crate) admin_lock: Mutex<()>,
    /// Appends routed by a topic's shape (Kinesis shards) hold the read side; reshapes
    /// take the write side, so no routed record lands in a partition after it was sealed.
    pub(crate) shape_lock: RwLock<()>,
    shutting_down: watch::Sender<bool>,
    pub(crate) clean_start: bool,
    /// The data directory predates recovery points (see `LogConfig`).
    pub(crate) predates_recovery_points: bool,
    pub(crate) groups: crate::group::Groups,
    pub(crate) producer_ids: crate::producer_ids::ProducerIdBlock,
    pub(crate) transactions: crate::txn::Transactions,
    pub(crate) share: crate::share::ShareGroups,
    /// Consulted at every entry point that acts for a client.
    authorizer: RwLock<Arc<dyn Authorizer>>,
    /// Clients' recent usage against their quotas (not metadata: starts afresh).
    pub(crate) quota_usage: crate::quotas::QuotaUsage,
    /// Answers `confluent.*.schema.validation`; `None` while no schema registry runs.
    pub(crate) schema_validator: RwLock<Option<Arc<dyn crate::schema_validation::SchemaValidator>>>,
}

/// Result of producing a batch: where it went and how to wait for its durability.
#[derive(Debug)]
pub struct Produced {
    pub base_offset: u64,
    pub offsets: LogOffsets,
    /// An idempotent retry of a batch already stored; nothing new was written.
    pub duplicate: bool,
    /// The broker's timestamp for LogAppendTime topics, -1 otherwise.
    pub log_append_time: i64,
    /// `flush.messages` was reached: fsync now, whatever the acks.
    pub flush_now: bool,
    partition: Arc<Partition>,
}

impl Produced {
    /// Resolves once the batch is fsynced (acks=all).
    pub async fn wait_durable(&self) -> Result<()> {
        self.partition.sync_to(self.offsets.log_end_offset).await
    }
}

impl Broker {
    /// Opens the broker on `data_dir`, replaying metadata and recovering every partition.
    pub fn open(config: BrokerConfig, data_dir: &Path) -> Result<Arc<Broker>> {
        tidelog_log::durable::create_dir_all(data_dir)
            .map_err(|e| BrokerError::Storage(format!("cannot create {}: {e}", data_dir.display())))?;
        let marker = data_dir.join(CLEAN_SHUTDOWN_MARKER);
        let clean_start = marker.exists();
        if clean_start {
            // Removed for good before anything is written: a crash from here on must not
            // find the marker and be reported as a clean start.
            std::fs::remove_file(&marker)
                .and_then(|()| tidelog_log::durable::sync_dir(data_dir))
                .map_err(|e| BrokerError::Storage(format!("{}: {e}", marker.display())))?;
        }
        // A data directory with metadata but no format marker was written by a version
        // whose logs kept no recovery point; it keeps trusting their closed segments.
        let format_marker = data_dir.join(LOG_FORMAT_MARKER);
        let predates_recovery_points = !format_marker.exists() && data_dir.join(METADATA_DIR).exists();
        if !predates_recovery_points && !format_marker.exists() {
            tidelog_log::durable::replace_file(&format_marker, b"recovery-points\n")
                .map_err(|e| BrokerError::Storage(format!("{}: {e}", format_marker.display())))?;
        }
        let (store, events) = LocalMetadataStore::open(&data_dir.join(METADATA_DIR))?;
        let mut state = MetadataState::default();
        events.iter().for_each(|e| state.apply(e));
        let mut broker = Self::build(config, Some(data_dir.to_path_buf()), Box::new(store), clean_start);
        if let Some(b) = Arc::get_mut(&mut broker) {
            b.predates_recovery_points = predates_recovery_points;
        }
        // Replay goes through the path live changes take: the image, then the registry.
        broker.replay(state)?;
        if broker.cluster_id().is_empty() {
            broker.commit_event(MetadataEvent::ClusterCreated { cluster_id: new_cluster_id() })?;
        }
        broker.remove_deleted_partition_dirs();
        Ok(broker)
    }

    /// A broker whose logs live in memory: same behaviour, nothing on disk.
    pub fn in_memory(config: BrokerConfig) -> Arc<Broker> {
        let broker = Self::build(config, None, Box::new(MemoryMetadataStore), true);
        let created = broker.commit_event(MetadataEvent::ClusterCreated { cluster_id: new_cluster_id() });
        debug_assert!(created.is_ok(), "the memory store commits everything");
        broker
    }

    fn build(
        config: BrokerConfig,
        data_dir: Option<PathBuf>,
        metadata_store: Box<dyn MetadataStore>,
        clean_start: bool,
    ) -> Arc<Broker> {
        let quota_usage = crate::quotas::QuotaUsage::for_config(&config);
        Arc::new(Broker {
            config,
            data_dir,
            metadata: RwLock::new(MetadataState::default()),
            metadata_store,
            topics: RwLock::new(HashMap::new()),
            admin_lock: Mutex::new(()),
            shape_lock: RwLock::new(()),
            shutting_down: watch::channel(false).0,
            clean_start,
            predates_recovery_points: false,
            groups: Default::default(),
            producer_ids: Default::default(),
            transactions: Default::default(),
            share: Default::default(),
            authorizer: RwLock::new(Arc::new(AllowAll)),
            quota_usage,
            schema_validator: RwLock::new(None),
        })
    }

    /// Whether the caller in `ctx` may perform `operation` on `resource`; `NotAuthorized`
    /// otherwise. The broker's own work (`RequestContext::internal`) is always allowed.
    pub fn authorize(&self, ctx: &RequestContext, operation: Operation, resource: Resource<'_>) -> Result<()> {
        crate::access::check(self.authorizer.read().as_ref(), ctx, operation, resource)
    }

    /// Replaces the authorizer (allow-all until one is configured).
    pub fn set_authorizer(&self, authorizer: Arc<dyn Authorizer>) {
        *self.authorizer.write() = authorizer;
    }

    pub fn config(&self) -> &BrokerConfig {
        &self.config
    }

    pub fn node_id(&self) -> i32 {
        self.config.node_id()
    }

    pub fn cluster_id(&self) -> String {
        self.metadata.read().cluster_id.clone()
    }

    pub fn topic(&self, name: &str) -> Option<Arc<TopicHandle>> {
        self.topics.read().get(name).cloned()
    }

    pub fn topic_name_by_id(&self, id: uuid::Uuid) -> Option<String> {
        self.metadata.read().topic_names_by_id.get(&id).cloned()
    }

    pub fn all_topics(&self) -> Vec<Arc<TopicHandle>> {
        let mut topics: Vec<_> = self.topics.read().values().cloned().collect();
        topics.sort_by(|a, b| a.meta.name.cmp(&b.meta.name));
        topics
    }

    pub fn partition(&self, topic: &str, partition: i32) -> Result<Arc<Partition>> {
        self.topic(topic)
            .and_then(|t| usize::try_from(partition).ok().and_then(|i| t.partitions.get(i).cloned()))
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: topic.into(), partition: Some(partition) })
    }

    /// Validates and appends one producer batch. Durability is the caller's choice:
    /// await [`Produced::wait_durable`] for acks=all.
    pub fn append(&self, ctx: &RequestContext, topic: &str, partition: i32, records: &[u8]) -> Result<Produced> {
        self.authorize(ctx, Operation::Write, Resource::Topic(topic))?;
        if *self.shutting_down.borrow() {
            return Err(BrokerError::ShuttingDown);
        }
        let handle = self
            .topic(topic)
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: topic.into(), partition: Some(partition) })?;
        let part = usize::try_from(partition)
            .ok()
            .and_then(|i| handle.partitions.get(i).cloned())
            .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: topic.into(), partition: Some(partition) })?;
        let now = now_ms();
        let header = validate::validate_batch(records, &handle.limits, now)?;
        if handle.compaction.is_some() {
            validate::reject_keyless(records, &header, topic, partition)?;
        }
        if handle.schema_validation.any() {
            self.validate_schemas(topic, handle.schema_validation, records)?;
        }
        // LogAppendTime topics store the broker's clock: a stamped copy, never the original.
        let (records, header, log_append_time) = if handle.log_append_time {
            let mut stamped = records.to_vec();
            let stamp = |b: &mut Vec<u8>| -> std::result::Result<tidelog_log::BatchHeader, tidelog_log::BatchError> {
                tidelog_log::batch::stamp_log_append_time(b, now)?;
                tidelog_log::BatchHeader::parse(b)
            };
            let header = stamp(&mut stamped).map_err(|e| BrokerError::CorruptMessage(e.to_string()))?;
            (std::borrow::Cow::Owned(stamped), header, now)
        } else {
            (std::borrow::Cow::Borrowed(records), header, -1)
        };
        let appended = part.append_verified(&records, &header, now, |h| {
            self.transactions.open.verify(h.producer_id, h.producer_epoch, topic, partition)
        })?;
        Ok(Produced {
            base_offset: appended.base_offset,
            offsets: appended.offsets,
            duplicate: appended.duplicate,
            log_append_time,
            flush_now: appended.unflushed >= handle.flush.messages,
            partition: part,
        })
    }

    pub(crate) fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutting_down.subscribe()
    }

    /// Fsyncs partitions with unflushed data and rolls aged segments, every
    /// `log.flush.interval.ms`, until shutdown. Bounds the acks=1 loss window.
    pub async fn run_maintenance(self: Arc<Self>) {
        /// How often producer state is snapshotted: bounds the log tail replayed after a crash.
        const SNAPSHOT_EVERY_MS: i64 = 60_000;
        // Wake for whichever periodic job is due first.
        // At least every second, so that topics with a shorter flush.ms are served.
        let tick = self
            .config
            .get(keys::LOG_FLUSH_INTERVAL_MS)
            .min(self.config.get(keys::LOG_RETENTION_CHECK_INTERVAL_MS))
            .min(self.config.get(keys::TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS))
            .min(1000);
        let interval = Duration::from_millis(tick.clamp(1, 3_600_000) as u64);
        let producer_expiry = self.config.get(keys::PRODUCER_ID_EXPIRATION_MS);
        let retention_every = self.config.get(keys::LOG_RETENTION_CHECK_INTERVAL_MS);
        let mut shutdown = self.shutdown_signal();
        let mut next_snapshot = now_ms() + SNAPSHOT_EVERY_MS;
        let mut next_retention = now_ms() + retention_every;
        let txn_every = self.config.get(keys::TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS);
        // The first pass runs at once: it finishes transactions a crash left half-complete.
        let mut next_txn_pass = now_ms();
        loop {
            tokio::select! {
                _ = tokio::time::sleep(interval) => {}
                _ = crate::shutdown::stopped(&mut shutdown) => return,
            }
            let now = now_ms();
            let snapshot = now >= next_snapshot;
            if snapshot {
                next_snapshot = now + SNAPSHOT_EVERY_MS;
            }
            let retention = now >= next_retention;
            if retention {
                next_retention = now + retention_every;
            }
            if now >= next_txn_pass {
                next_txn_pass = now + txn_every;
                self.transaction_housekeeping().await;
            }
            self.share_housekeeping().await;
            // File work (rolls, segment deletion, snapshots) on a blocking thread: it
            // creates, deletes and fsyncs files.
            let broker = self.clone();
            let expire_before = now.saturating_sub(producer_expiry);
            let pass =
                tokio::task::spawn_blocking(move || broker.maintain_logs(now, retention, snapshot, expire_before));
            if let Err(e) = pass.await {
                warn!(error = %e, "log maintenance task failed");
            }
            for topic in self.all_topics() {
                for p in &topic.partitions {
                    if p.has_unflushed() && now - p.last_flush_ms() >= topic.flush.interval_ms {
                        let end = p.offsets().log_end_offset;
                        if let Err(e) = p.sync_to(end).await {
                            warn!(partition = ?p, error = %e, "periodic flush failed");
                        }
                    }
                    if let (true, Some(policy)) = (retention, topic.compaction) {
                        self.compact_if_dirty(p, policy, now).await;
                    }
                }
            }
        }
    }

    /// One maintenance pass over every partition's files: rolls aged segments and, when
    /// due, applies retention and snapshots changed producer state. Blocking.
    fn maintain_logs(&self, now: i64, retention: bool, snapshot: bool, expire_producers_before: i64) {
        for topic in self.all_topics() {
            for p in &topic.partitions {
                if let Err(e) = p.with_log(|log| log.roll_if_aged(now)) {
                    warn!(partition = ?p, error = %e, "segment roll failed");
                }
                if retention && (topic.retention.ms.is_some() || topic.retention.bytes.is_some()) {
                    match p.with_log(|log| log.apply_retention(now, topic.retention.ms, topic.retention.bytes)) {
                        Ok(0) => {}
                        Ok(n) => {
                            crate::metrics::retention_deleted(n);
                            tracing::info!(partition = ?p, segments = n, "retention deleted segments")
                        }
                        Err(e) => warn!(partition = ?p, error = %e, "retention failed"),
                    }
                }
                if snapshot {
                    if let Err(e) = p.snapshot_producers(expire_producers_before) {
                        warn!(partition = ?p, error = %e, "producer state snapshot failed");
                    }
                }
            }
        }
    }

    /// Compacts a partition on a blocking thread when closed segments were added since its
    /// last pass.
    async fn compact_if_dirty(&self, p: &Arc<Partition>, policy: crate::compaction::CompactionPolicy, now: i64) {
        let closed = p.with_log(|log| log.closed_segments());
        let closed_end = closed.last().map_or(0, |s| s.next_offset);
        if !policy.is_due(&closed, p.compacted_through(), now) {
            return;
        }
        let part = p.clone();
        match tokio::task::spawn_blocking(move || crate::compaction::compact(&part, policy, now)).await {
            Ok(Ok(removed)) => {
                crate::metrics::compacted(removed);
                p.set_compacted_through(closed_end);
                if removed > 0 {
                    tracing::info!(partition = ?p, removed, "compaction removed superseded records");
                }
            }
            Ok(Err(e)) => warn!(partition = ?p, error = %e, "compaction failed"),
            Err(e) => warn!(partition = ?p, error = %e, "compaction task failed"),
        }
    }

    /// Wakes long-polls and background tasks so they finish; appends still in flight
    /// complete, new ones are refused.
    pub fn begin_shutdown(&self) {
        self.shutting_down.send_replace(true);
    }

    /// Stops new appends, wakes long-polls, flushes and fsyncs every partition and
    /// writes the clean-shutdown marker.
    pub fn shutdown(&self) -> Result<()> {
        self.begin_shutdown();
        for topic in self.all_topics() {
            for p in &topic.partitions {
                p.close()?;
            }
        }
        if let Some(dir) = &self.data_dir {
            // Without the marker the next start is treated as unclean: safe, only slower.
            let marker = dir.join(CLEAN_SHUTDOWN_MARKER);
            if let Err(e) = std::fs::write(&marker, b"") {
                warn!(marker = %marker.display(), error = %e, "could not write the clean-shutdown marker");
            }
        }
        info!("broker stopped cleanly");
        Ok(())
    }

    /// Bytes stored per partition, for the given topics or all of them (DescribeLogDirs).
    pub fn partition_sizes(&self, topics: Option<&[String]>) -> Vec<(String, i32, u64)> {
        self.all_topics()
            .iter()
            .filter(|t| topics.is_none_or(|wanted| wanted.contains(&t.meta.name)))
            .flat_map(|t| {
                t.partitions.iter().map(|p| (t.meta.name.clone(), p.index, p.with_log(|log| log.size_bytes())))
            })
            .collect()
    }

    pub fn data_dir(&self) -> Option<&Path> {
        self.data_dir.as_deref()
    }

    pub fn started_clean(&self) -> bool {
        self.clean_start
    }
}

/// Kafka cluster ids are 16 random bytes in URL-safe base64 without padding.
fn new_cluster_id() -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let bytes = uuid::Uuid::new_v4().into_bytes();
    let mut bits: u128 = u128::from_be_bytes(bytes);
    (0..22)
        .map(|_| {
            let c = ALPHABET[(bits & 63) as usize] as char;
            bits >>= 6;
            c
        })
        .collect()
}
