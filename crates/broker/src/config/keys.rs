//! Broker settings, one typed key each: `config.get(keys::NUM_PARTITIONS)` is an `i64`,
//! and a misspelt key is a compile error. Defaults are Kafka's unless a comment says why not.

use super::{Key, Kind, Spec, CLEANUP_POLICIES, COMPRESSION_TYPES, I32_MAX, TIMESTAMP_TYPES};

broker_settings! {
    NODE_ID: i64 = Key::long("node.id", 0, I32_MAX, "1", "id of this broker in Metadata responses");
    NUM_PARTITIONS: i64 = Key::long("num.partitions", 1, 100_000, "1", "partitions of auto-created topics and of CreateTopics without a count");
    DEFAULT_REPLICATION_FACTOR: i64 = Key::long("default.replication.factor", 1, 1, "1", "only 1 until replication lands");
    AUTO_CREATE_TOPICS_ENABLE: bool = Key::new(Spec {
        name: "auto.create.topics.enable",
        kind: Kind::Bool,
        default: "true",
        doc: "create unknown topics on Metadata and Produce",
    });
    LOG_SEGMENT_BYTES: i64 = Key::long("log.segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size");
    LOG_ROLL_MS: i64 = Key::long("log.roll.ms", 1, i64::MAX, "604800000", "roll a segment at this age");
    LOG_RETENTION_MS: i64 = Key::long("log.retention.ms", -1, i64::MAX, "604800000", "delete closed segments older than this (-1: keep)");
    LOG_RETENTION_BYTES: i64 = Key::long("log.retention.bytes", -1, i64::MAX, "-1", "keep at most this many bytes per partition (-1: no limit)");
    LOG_INDEX_INTERVAL_BYTES: i64 = Key::long("log.index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries");
    // Kafka leaves flushing to replication; a single node needs a bound on the acks=1 loss window.
    LOG_FLUSH_INTERVAL_MS: i64 = Key::long("log.flush.interval.ms", 1, i64::MAX, "1000", "fsync every partition with unflushed data this often");
    MESSAGE_MAX_BYTES: i64 = Key::long("message.max.bytes", 0, I32_MAX, "1048588", "largest record batch accepted");
    SOCKET_REQUEST_MAX_BYTES: i64 = Key::long("socket.request.max.bytes", 1, I32_MAX, "104857600", "largest request frame accepted");
    MAX_CONNECTIONS: i64 = Key::long("max.connections", 0, I32_MAX, "2147483647", "Kafka connections open at once; more are closed at once");
    MAX_CONNECTIONS_PER_IP: i64 = Key::long("max.connections.per.ip", 0, I32_MAX, "2147483647", "Kafka connections open at once from one address");
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
    LOG_MESSAGE_TIMESTAMP_TYPE: &'static str = Key::new(Spec {
        name: "log.message.timestamp.type",
        kind: Kind::Choice(TIMESTAMP_TYPES),
        default: "CreateTime",
        doc: "timestamp kind of new topics",
    });
    LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS: i64 = Key::long(
        "log.message.timestamp.before.max.ms",
        0,
        i64::MAX,
        "9223372036854775807",
        "reject batches with timestamps this far in the past",
    );
    LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS: i64 = Key::long(
        "log.message.timestamp.after.max.ms",
        0,
        i64::MAX,
        "3600000",
        "reject batches with timestamps this far in the future",
    );
    LOG_CLEANUP_POLICY: &'static str = Key::new(Spec {
        name: "log.cleanup.policy",
        kind: Kind::Choice(CLEANUP_POLICIES),
        default: "delete",
        doc: "cleanup policy of new topics",
    });
    MIN_INSYNC_REPLICAS: i64 = Key::long("min.insync.replicas", 1, 1, "1", "only 1 until replication lands");
    COMPRESSION_TYPE: &'static str = Key::new(Spec {
        name: "compression.type",
        kind: Kind::Choice(COMPRESSION_TYPES),
        default: "producer",
        doc: "stored as sent: only 'producer' changes nothing",
    });
    GROUP_INITIAL_REBALANCE_DELAY_MS: i64 = Key::long(
        "group.initial.rebalance.delay.ms",
        0,
        I32_MAX,
        "3000",
        "a new group waits this long for more members before its first assignment",
    );
    GROUP_MIN_SESSION_TIMEOUT_MS: i64 = Key::long("group.min.session.timeout.ms", 0, I32_MAX, "6000", "shortest session timeout a member may ask for");
    GROUP_MAX_SESSION_TIMEOUT_MS: i64 = Key::long("group.max.session.timeout.ms", 0, I32_MAX, "1800000", "longest session timeout a member may ask for");
    // Kafka uses 50 to spread groups over brokers; one node gains nothing from more than one.
    OFFSETS_TOPIC_NUM_PARTITIONS: i64 = Key::long("offsets.topic.num.partitions", 1, 1000, "1", "partitions of __consumer_offsets");
    OFFSETS_RETENTION_MINUTES: i64 = Key::long("offsets.retention.minutes", 1, I32_MAX, "10080", "committed offsets of empty groups expire after this");
    LOG_CLEANER_DELETE_RETENTION_MS: i64 = Key::long("log.cleaner.delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long");
    LOG_CLEANER_MIN_CLEANABLE_RATIO: f64 = Key::new(Spec {
        name: "log.cleaner.min.cleanable.ratio",
        kind: Kind::Ratio,
        default: "0.5",
        doc: "compact once this share of a log is dirty",
    });
    LOG_CLEANER_MAX_COMPACTION_LAG_MS: i64 = Key::long(
        "log.cleaner.max.compaction.lag.ms",
        1,
        i64::MAX,
        "9223372036854775807",
        "compact dirty data older than this whatever the ratio",
    );
    LOG_CLEANER_MIN_COMPACTION_LAG_MS: i64 = Key::long("log.cleaner.min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted");
    LOG_FLUSH_INTERVAL_MESSAGES: i64 = Key::long(
        "log.flush.interval.messages",
        1,
        i64::MAX,
        "9223372036854775807",
        "fsync once this many records are unflushed",
    );
    LOG_RETENTION_CHECK_INTERVAL_MS: i64 = Key::long("log.retention.check.interval.ms", 1, i64::MAX, "300000", "how often retention deletes old segments");
    PRODUCER_ID_EXPIRATION_MS: i64 = Key::long("producer.id.expiration.ms", 1, I32_MAX, "86400000", "forget idempotent producers silent this long");
    TRANSACTION_MAX_TIMEOUT_MS: i64 = Key::long("transaction.max.timeout.ms", 1, I32_MAX, "900000", "longest transaction.timeout.ms a producer may ask for");
    // As for __consumer_offsets: one node gains nothing from Kafka's 50.
    TRANSACTION_STATE_LOG_NUM_PARTITIONS: i64 = Key::long("transaction.state.log.num.partitions", 1, 1000, "1", "partitions of __transaction_state");
    TRANSACTIONAL_ID_EXPIRATION_MS: i64 = Key::long(
        "transactional.id.expiration.ms",
        1,
        I32_MAX,
        "604800000",
        "forget transactional ids with no transaction for this long",
    );
    TRANSACTION_ABORT_TIMED_OUT_TRANSACTION_CLEANUP_INTERVAL_MS: i64 = Key::long(
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
    KINESIS_ENFORCE_LIMITS: bool = Key::new(Spec {
        name: "kinesis.enforce.limits",
        kind: Kind::Bool,
        default: "false",
        doc: "refuse traffic above AWS's per-shard limits (ProvisionedThroughputExceededException)",
    });
    GROUP_CONSUMER_SESSION_TIMEOUT_MS: i64 = Key::long("group.consumer.session.timeout.ms", 1, I32_MAX, "45000", "consumer-protocol (KIP-848) session timeout");
    GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS: i64 = Key::long("group.consumer.heartbeat.interval.ms", 1, I32_MAX, "5000", "consumer-protocol (KIP-848) heartbeat interval");
}
