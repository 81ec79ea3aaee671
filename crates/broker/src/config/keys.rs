//! Broker settings, one typed key each: `config.get(keys::NUM_PARTITIONS)` is an `i64`,
//! and a misspelt key is a compile error. Names, kinds and defaults are Kafka 4.x's unless a
//! comment says why not. The log settings are the topic settings' synonyms (topic_keys.rs);
//! the first synonym of each is changeable at run time (KIP-226), as in Kafka.

use super::{Key, Kind, Spec, CLEANUP_POLICIES, COMPRESSION_TYPES, I32_MAX, TIMESTAMP_TYPES};

const I64_MAX: &str = "9223372036854775807";

broker_settings! {
    NODE_ID: i64 = Key::int("node.id", 0, I32_MAX, "1", "id of this broker in Metadata responses");
    NUM_PARTITIONS: i64 = Key::int("num.partitions", 1, 100_000, "1", "partitions of auto-created topics and of CreateTopics without a count");
    DEFAULT_REPLICATION_FACTOR: i64 = Key::int("default.replication.factor", 1, 1, "1", "only 1 until replication lands");
    AUTO_CREATE_TOPICS_ENABLE: bool = Key::new(Spec::new("auto.create.topics.enable", Kind::Bool, "true", "create unknown topics on Metadata and Produce"));
    // Kafka's minimum is 1 MiB; tidelog keeps small segments possible for tests and tiny disks.
    LOG_SEGMENT_BYTES: i64 = Key::int("log.segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size");
    LOG_ROLL_MS: i64 = Key::new(Spec::unset("log.roll.ms", Kind::Long { min: 1, max: i64::MAX }, "roll a segment at this age; unset: log.roll.hours"));
    LOG_ROLL_HOURS: i64 = Key::int("log.roll.hours", 1, I32_MAX, "168", "roll a segment at this age, in hours");
    LOG_ROLL_JITTER_MS: i64 = Key::new(Spec::unset("log.roll.jitter.ms", Kind::Long { min: 0, max: i64::MAX }, "stored only: one node has no roll storms to spread"));
    LOG_ROLL_JITTER_HOURS: i64 = Key::int("log.roll.jitter.hours", 0, I32_MAX, "0", "stored only, in hours");
    LOG_RETENTION_MS: i64 = Key::new(Spec::unset("log.retention.ms", Kind::Long { min: -1, max: i64::MAX }, "delete closed segments older than this (-1: keep); unset: log.retention.minutes"));
    LOG_RETENTION_MINUTES: i64 = Key::new(Spec::unset("log.retention.minutes", Kind::Int { min: -1, max: I32_MAX }, "retention in minutes; unset: log.retention.hours"));
    LOG_RETENTION_HOURS: i64 = Key::int("log.retention.hours", -1, I32_MAX, "168", "retention in hours");
    LOG_RETENTION_BYTES: i64 = Key::long("log.retention.bytes", i64::MIN, i64::MAX, "-1", "keep at most this many bytes per partition (negative: no limit)");
    LOG_INDEX_INTERVAL_BYTES: i64 = Key::int("log.index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries");
    LOG_INDEX_SIZE_MAX_BYTES: i64 = Key::int("log.index.size.max.bytes", 4, I32_MAX, "10485760", "stored only: tidelog's indexes grow as needed");
    // Kafka leaves flushing to replication; a single node needs a bound on the acks=1 loss window.
    LOG_FLUSH_INTERVAL_MS: i64 = Key::long("log.flush.interval.ms", 0, i64::MAX, "1000", "fsync every partition with unflushed data this often");
    LOG_FLUSH_SCHEDULER_INTERVAL_MS: i64 = Key::long("log.flush.scheduler.interval.ms", i64::MIN, i64::MAX, I64_MAX, "flush interval used when log.flush.interval.ms has no value");
    LOG_FLUSH_INTERVAL_MESSAGES: i64 = Key::long("log.flush.interval.messages", 1, i64::MAX, I64_MAX, "fsync once this many records are unflushed");
    LOG_SEGMENT_DELETE_DELAY_MS: i64 = Key::long("log.segment.delete.delay.ms", 0, i64::MAX, "60000", "stored only: tidelog deletes segments at once");
    LOG_PREALLOCATE: bool = Key::new(Spec::new("log.preallocate", Kind::Bool, "false", "stored only: segments are not preallocated"));
    MESSAGE_MAX_BYTES: i64 = Key::int("message.max.bytes", 0, I32_MAX, "1048588", "largest record batch accepted");
    SOCKET_REQUEST_MAX_BYTES: i64 = Key::int("socket.request.max.bytes", 1, I32_MAX, "104857600", "largest request frame accepted");
    MAX_CONNECTIONS: i64 = Key::int("max.connections", 0, I32_MAX, "2147483647", "Kafka connections open at once; more are closed at once");
    MAX_CONNECTIONS_PER_IP: i64 = Key::int("max.connections.per.ip", 0, I32_MAX, "2147483647", "Kafka connections open at once from one address");
    // Kafka's -1 leaves request memory unbounded. 256 MiB holds two frames of the default
    // socket.request.max.bytes (100 MiB) and ordinary traffic beside them, yet keeps
    // clients that declare large frames from taking the broker's memory.
    QUEUED_MAX_REQUEST_BYTES: i64 = Key::long(
        "queued.max.request.bytes",
        -1,
        I32_MAX,
        "268435456",
        "request bytes read and not yet answered, across all connections (-1 or 0: no limit, as in Kafka)",
    );
    LOG_MESSAGE_TIMESTAMP_TYPE: &'static str = Key::new(Spec::new("log.message.timestamp.type", Kind::Choice(TIMESTAMP_TYPES), "CreateTime", "timestamp kind of new topics"));
    LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS: i64 = Key::long("log.message.timestamp.before.max.ms", 0, i64::MAX, I64_MAX, "reject batches with timestamps this far in the past");
    LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS: i64 = Key::long("log.message.timestamp.after.max.ms", 0, i64::MAX, "3600000", "reject batches with timestamps this far in the future");
    LOG_CLEANUP_POLICY: String = Key::new(Spec::new("log.cleanup.policy", Kind::List(CLEANUP_POLICIES), "delete", "cleanup policy of topics without their own"));
    LOG_LOCAL_RETENTION_MS: i64 = Key::long("log.local.retention.ms", -2, i64::MAX, "-2", "stored only: no tiered storage");
    LOG_LOCAL_RETENTION_BYTES: i64 = Key::long("log.local.retention.bytes", -2, i64::MAX, "-2", "stored only: no tiered storage");
    MIN_INSYNC_REPLICAS: i64 = Key::int("min.insync.replicas", 1, 1, "1", "only 1 until replication lands");
    UNCLEAN_LEADER_ELECTION_ENABLE: bool = Key::new(Spec::new("unclean.leader.election.enable", Kind::Bool, "false", "stored only: one replica, no elections"));
    COMPRESSION_TYPE: &'static str = Key::new(Spec::new("compression.type", Kind::Choice(COMPRESSION_TYPES), "producer", "stored as sent: only 'producer' changes nothing"));
    COMPRESSION_GZIP_LEVEL: i64 = Key::new(Spec::new("compression.gzip.level", Kind::GzipLevel, "-1", "stored only: batches are kept as produced"));
    COMPRESSION_LZ4_LEVEL: i64 = Key::int("compression.lz4.level", 1, 17, "9", "stored only: batches are kept as produced");
    COMPRESSION_ZSTD_LEVEL: i64 = Key::int("compression.zstd.level", -131_072, 22, "3", "stored only: batches are kept as produced");
    GROUP_INITIAL_REBALANCE_DELAY_MS: i64 = Key::int(
        "group.initial.rebalance.delay.ms",
        0,
        I32_MAX,
        "3000",
        "a new group waits this long for more members before its first assignment",
    );
    GROUP_MIN_SESSION_TIMEOUT_MS: i64 = Key::int("group.min.session.timeout.ms", 0, I32_MAX, "6000", "shortest session timeout a member may ask for");
    GROUP_MAX_SESSION_TIMEOUT_MS: i64 = Key::int("group.max.session.timeout.ms", 0, I32_MAX, "1800000", "longest session timeout a member may ask for");
    // Kafka uses 50 to spread groups over brokers; one node gains nothing from more than one.
    OFFSETS_TOPIC_NUM_PARTITIONS: i64 = Key::int("offsets.topic.num.partitions", 1, 1000, "1", "partitions of __consumer_offsets");
    OFFSETS_RETENTION_MINUTES: i64 = Key::int("offsets.retention.minutes", 1, I32_MAX, "10080", "committed offsets of empty groups expire after this");
    LOG_CLEANER_DELETE_RETENTION_MS: i64 = Key::long("log.cleaner.delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long");
    LOG_CLEANER_MIN_CLEANABLE_RATIO: f64 = Key::new(Spec::new("log.cleaner.min.cleanable.ratio", Kind::Ratio, "0.5", "compact once this share of a log is dirty"));
    LOG_CLEANER_MAX_COMPACTION_LAG_MS: i64 = Key::long("log.cleaner.max.compaction.lag.ms", 1, i64::MAX, I64_MAX, "compact dirty data older than this whatever the ratio");
    LOG_CLEANER_MIN_COMPACTION_LAG_MS: i64 = Key::long("log.cleaner.min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted");
    LOG_RETENTION_CHECK_INTERVAL_MS: i64 = Key::long("log.retention.check.interval.ms", 1, i64::MAX, "300000", "how often retention deletes old segments");
    PRODUCER_ID_EXPIRATION_MS: i64 = Key::int("producer.id.expiration.ms", 1, I32_MAX, "86400000", "forget idempotent producers silent this long");
    TRANSACTION_MAX_TIMEOUT_MS: i64 = Key::int("transaction.max.timeout.ms", 1, I32_MAX, "900000", "longest transaction.timeout.ms a producer may ask for");
    // As for __consumer_offsets: one node gains nothing from Kafka's 50.
    TRANSACTION_STATE_LOG_NUM_PARTITIONS: i64 = Key::int("transaction.state.log.num.partitions", 1, 1000, "1", "partitions of __transaction_state");
    TRANSACTIONAL_ID_EXPIRATION_MS: i64 = Key::int(
        "transactional.id.expiration.ms",
        1,
        I32_MAX,
        "604800000",
        "forget transactional ids with no transaction for this long",
    );
    TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS: i64 = Key::int(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        1,
        I32_MAX,
        "10000",
        "how often transactions past their timeout are aborted",
    );
    // Kinesis front-end. AWS takes seconds to create or reshard a stream; tidelog is done
    // at once, and reports CREATING/UPDATING for this long only to rehearse clients.
    KINESIS_STREAM_TRANSITION_MS: i64 = Key::long("kinesis.stream.transition.ms", 0, 600_000, "0", "report CREATING/UPDATING this long after a change");
    KINESIS_SHARD_LIMIT: i64 = Key::long("kinesis.shard.limit", 1, 100_000, "500", "open shards allowed across all streams (LimitExceededException)");
    KINESIS_ENFORCE_LIMITS: bool = Key::new(Spec::new("kinesis.enforce.limits", Kind::Bool, "false", "refuse traffic above AWS's per-shard limits (ProvisionedThroughputExceededException)"));
    KINESIS_ACCOUNT_ID: String = Key::new(Spec::new("kinesis.account.id", Kind::Text, "000000000000", "AWS account id (12 digits) in stream ARNs and messages"));
    // KIP-848 consumer groups: the defaults groups without their own settings use, and the
    // bounds a group's own settings must keep to (GROUP resources, group_keys.rs).
    GROUP_CONSUMER_SESSION_TIMEOUT_MS: i64 = Key::int("group.consumer.session.timeout.ms", 1, I32_MAX, "45000", "consumer-protocol (KIP-848) session timeout");
    GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.consumer.heartbeat.interval.ms", 1, I32_MAX, "5000", "consumer-protocol (KIP-848) heartbeat interval");
    GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS: i64 = Key::int("group.consumer.min.session.timeout.ms", 1, I32_MAX, "45000", "shortest consumer.session.timeout.ms a group may set");
    GROUP_CONSUMER_MAX_SESSION_TIMEOUT_MS: i64 = Key::int("group.consumer.max.session.timeout.ms", 1, I32_MAX, "60000", "longest consumer.session.timeout.ms a group may set");
    GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.consumer.min.heartbeat.interval.ms", 1, I32_MAX, "5000", "shortest consumer.heartbeat.interval.ms a group may set");
    GROUP_CONSUMER_MAX_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.consumer.max.heartbeat.interval.ms", 1, I32_MAX, "15000", "longest consumer.heartbeat.interval.ms a group may set");
    // Share groups (KIP-932): the defaults of groups without their own settings, and bounds.
    GROUP_SHARE_SESSION_TIMEOUT_MS: i64 = Key::int("group.share.session.timeout.ms", 1, I32_MAX, "45000", "share group session timeout");
    GROUP_SHARE_MIN_SESSION_TIMEOUT_MS: i64 = Key::int("group.share.min.session.timeout.ms", 1, I32_MAX, "45000", "shortest share.session.timeout.ms a group may set");
    GROUP_SHARE_MAX_SESSION_TIMEOUT_MS: i64 = Key::int("group.share.max.session.timeout.ms", 1, I32_MAX, "60000", "longest share.session.timeout.ms a group may set");
    GROUP_SHARE_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.share.heartbeat.interval.ms", 1, I32_MAX, "5000", "share group heartbeat interval");
    GROUP_SHARE_MIN_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.share.min.heartbeat.interval.ms", 1, I32_MAX, "5000", "shortest share.heartbeat.interval.ms a group may set");
    GROUP_SHARE_MAX_HEARTBEAT_INTERVAL_MS: i64 = Key::int("group.share.max.heartbeat.interval.ms", 1, I32_MAX, "15000", "longest share.heartbeat.interval.ms a group may set");
    GROUP_SHARE_RECORD_LOCK_DURATION_MS: i64 = Key::int("group.share.record.lock.duration.ms", 1000, 3_600_000, "30000", "how long a share consumer holds acquired records");
    GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS: i64 = Key::int("group.share.min.record.lock.duration.ms", 1000, 30_000, "15000", "shortest share.record.lock.duration.ms a group may set");
    GROUP_SHARE_MAX_RECORD_LOCK_DURATION_MS: i64 = Key::int("group.share.max.record.lock.duration.ms", 30_000, 3_600_000, "60000", "longest share.record.lock.duration.ms a group may set");
    GROUP_SHARE_DELIVERY_COUNT_LIMIT: i64 = Key::int("group.share.delivery.count.limit", 2, 10, "5", "deliveries of a record before it is archived");
    GROUP_SHARE_PARTITION_MAX_RECORD_LOCKS: i64 = Key::int("group.share.partition.max.record.locks", 100, 10_000, "2000", "records in flight per share-partition");
    SHARE_COORDINATOR_STATE_TOPIC_NUM_PARTITIONS: i64 = Key::int("share.coordinator.state.topic.num.partitions", 1, 1000, "1", "partitions of __share_group_state");
    // Client quotas (KIP-13, KIP-124): the sampled window usage is measured over.
    QUOTA_WINDOW_NUM: i64 = Key::int("quota.window.num", 1, I32_MAX, "11", "samples kept of each client's quota usage");
    QUOTA_WINDOW_SIZE_SECONDS: i64 = Key::int("quota.window.size.seconds", 1, I32_MAX, "1", "length of each quota usage sample");
}
