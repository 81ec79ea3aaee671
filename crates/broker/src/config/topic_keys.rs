//! Topic settings: every one Kafka 4.x's `LogConfig` defines, one typed key each, with the
//! broker settings each falls back to in Kafka's order (`ServerTopicConfigSynonyms`).
//! Settings that mean nothing on one node without tiered storage are stored, validated and
//! reported like the rest (README, "Topic configs"). `message.downconversion.enable` and
//! `message.format.version` left Kafka in 4.0 and are unknown here too.

use super::{keys, Kind, Spec, Synonym, TopicKey, CLEANUP_POLICIES, COMPRESSION_TYPES, I32_MAX, TIMESTAMP_TYPES};

const I64_MAX: &str = "9223372036854775807";
const HOUR_MS: i64 = 3_600_000;
const MINUTE_MS: i64 = 60_000;

topic_settings! {
    SEGMENT_BYTES: i64 = TopicKey::int("segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size", &[Synonym::of(keys::LOG_SEGMENT_BYTES)]);
    SEGMENT_MS: i64 = TopicKey::long("segment.ms", 1, i64::MAX, "604800000", "roll a segment at this age",
        &[Synonym::of(keys::LOG_ROLL_MS), Synonym::scaled(keys::LOG_ROLL_HOURS, HOUR_MS)]);
    SEGMENT_JITTER_MS: i64 = TopicKey::long("segment.jitter.ms", 0, i64::MAX, "0", "stored only",
        &[Synonym::of(keys::LOG_ROLL_JITTER_MS), Synonym::scaled(keys::LOG_ROLL_JITTER_HOURS, HOUR_MS)]);
    SEGMENT_INDEX_BYTES: i64 = TopicKey::int("segment.index.bytes", 4, I32_MAX, "10485760", "stored only: indexes grow as needed", &[Synonym::of(keys::LOG_INDEX_SIZE_MAX_BYTES)]);
    FLUSH_MESSAGES: i64 = TopicKey::long("flush.messages", 1, i64::MAX, I64_MAX, "fsync once this many records are unflushed", &[Synonym::of(keys::LOG_FLUSH_INTERVAL_MESSAGES)]);
    // Kafka's default is never; tidelog's broker default of 1000 bounds the acks=1 loss window.
    FLUSH_MS: i64 = TopicKey::long("flush.ms", 0, i64::MAX, "1000", "fsync interval",
        &[Synonym::of(keys::LOG_FLUSH_INTERVAL_MS), Synonym::of(keys::LOG_FLUSH_SCHEDULER_INTERVAL_MS)]);
    RETENTION_BYTES: i64 = TopicKey::long("retention.bytes", i64::MIN, i64::MAX, "-1", "keep at most this many bytes per partition", &[Synonym::of(keys::LOG_RETENTION_BYTES)]);
    RETENTION_MS: i64 = TopicKey::long("retention.ms", -1, i64::MAX, "604800000", "delete closed segments older than this", &[
        Synonym::of(keys::LOG_RETENTION_MS),
        Synonym::scaled(keys::LOG_RETENTION_MINUTES, MINUTE_MS),
        Synonym::scaled(keys::LOG_RETENTION_HOURS, HOUR_MS),
    ]);
    MAX_MESSAGE_BYTES: i64 = TopicKey::int("max.message.bytes", 0, I32_MAX, "1048588", "largest record batch accepted", &[Synonym::of(keys::MESSAGE_MAX_BYTES)]);
    INDEX_INTERVAL_BYTES: i64 = TopicKey::int("index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries", &[Synonym::of(keys::LOG_INDEX_INTERVAL_BYTES)]);
    DELETE_RETENTION_MS: i64 = TopicKey::long("delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long", &[Synonym::of(keys::LOG_CLEANER_DELETE_RETENTION_MS)]);
    MIN_COMPACTION_LAG_MS: i64 = TopicKey::long("min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted", &[Synonym::of(keys::LOG_CLEANER_MIN_COMPACTION_LAG_MS)]);
    MAX_COMPACTION_LAG_MS: i64 = TopicKey::long("max.compaction.lag.ms", 1, i64::MAX, I64_MAX, "compact dirty data older than this whatever the ratio", &[Synonym::of(keys::LOG_CLEANER_MAX_COMPACTION_LAG_MS)]);
    FILE_DELETE_DELAY_MS: i64 = TopicKey::long("file.delete.delay.ms", 0, i64::MAX, "60000", "stored only: segments are deleted at once", &[Synonym::of(keys::LOG_SEGMENT_DELETE_DELAY_MS)]);
    MIN_CLEANABLE_DIRTY_RATIO: f64 = TopicKey::new(Spec::new("min.cleanable.dirty.ratio", Kind::Ratio, "0.5", "compact once this share of a log is dirty"), &[Synonym::of(keys::LOG_CLEANER_MIN_CLEANABLE_RATIO)]);
    // An empty list (Kafka 4.2) keeps everything: neither retention nor compaction.
    CLEANUP_POLICY: String = TopicKey::new(Spec::new("cleanup.policy", Kind::List(CLEANUP_POLICIES), "delete", "delete, compact, both, or none"), &[Synonym::of(keys::LOG_CLEANUP_POLICY)]);
    UNCLEAN_LEADER_ELECTION_ENABLE: bool = TopicKey::new(Spec::new("unclean.leader.election.enable", Kind::Bool, "false", "stored only: one replica"), &[Synonym::of(keys::UNCLEAN_LEADER_ELECTION_ENABLE)]);
    MIN_INSYNC_REPLICAS: i64 = TopicKey::int("min.insync.replicas", 1, 1, "1", "only 1 until replication lands", &[Synonym::of(keys::MIN_INSYNC_REPLICAS)]);
    COMPRESSION_TYPE: &'static str = TopicKey::new(Spec::new("compression.type", Kind::Choice(COMPRESSION_TYPES), "producer", "stored as sent"), &[Synonym::of(keys::COMPRESSION_TYPE)]);
    COMPRESSION_GZIP_LEVEL: i64 = TopicKey::new(Spec::new("compression.gzip.level", Kind::GzipLevel, "-1", "stored only: batches are kept as produced"), &[Synonym::of(keys::COMPRESSION_GZIP_LEVEL)]);
    COMPRESSION_LZ4_LEVEL: i64 = TopicKey::int("compression.lz4.level", 1, 17, "9", "stored only: batches are kept as produced", &[Synonym::of(keys::COMPRESSION_LZ4_LEVEL)]);
    COMPRESSION_ZSTD_LEVEL: i64 = TopicKey::int("compression.zstd.level", -131_072, 22, "3", "stored only: batches are kept as produced", &[Synonym::of(keys::COMPRESSION_ZSTD_LEVEL)]);
    PREALLOCATE: bool = TopicKey::new(Spec::new("preallocate", Kind::Bool, "false", "stored only: segments are not preallocated"), &[Synonym::of(keys::LOG_PREALLOCATE)]);
    MESSAGE_TIMESTAMP_TYPE: &'static str = TopicKey::new(Spec::new("message.timestamp.type", Kind::Choice(TIMESTAMP_TYPES), "CreateTime", "CreateTime or LogAppendTime"), &[Synonym::of(keys::LOG_MESSAGE_TIMESTAMP_TYPE)]);
    MESSAGE_TIMESTAMP_BEFORE_MAX_MS: i64 = TopicKey::long("message.timestamp.before.max.ms", 0, i64::MAX, I64_MAX, "past timestamp limit", &[Synonym::of(keys::LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS)]);
    MESSAGE_TIMESTAMP_AFTER_MAX_MS: i64 = TopicKey::long("message.timestamp.after.max.ms", 0, i64::MAX, "3600000", "future timestamp limit", &[Synonym::of(keys::LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS)]);
    LEADER_REPLICATION_THROTTLED_REPLICAS: String = TopicKey::new(Spec::new("leader.replication.throttled.replicas", Kind::ThrottledReplicas, "", "stored only: no replication"), &[]);
    FOLLOWER_REPLICATION_THROTTLED_REPLICAS: String = TopicKey::new(Spec::new("follower.replication.throttled.replicas", Kind::ThrottledReplicas, "", "stored only: no replication"), &[]);
    // Tiered storage is off (remote.log.storage.system.enable=false): Kafka then refuses
    // remote.storage.enable=true, and so does tidelog.
    REMOTE_STORAGE_ENABLE: bool = TopicKey::new(Spec::new("remote.storage.enable", Kind::Bool, "false", "true is refused: no tiered storage"), &[]);
    LOCAL_RETENTION_MS: i64 = TopicKey::long("local.retention.ms", -2, i64::MAX, "-2", "stored only: no tiered storage", &[Synonym::of(keys::LOG_LOCAL_RETENTION_MS)]);
    LOCAL_RETENTION_BYTES: i64 = TopicKey::long("local.retention.bytes", -2, i64::MAX, "-2", "stored only: no tiered storage", &[Synonym::of(keys::LOG_LOCAL_RETENTION_BYTES)]);
    REMOTE_LOG_COPY_DISABLE: bool = TopicKey::new(Spec::new("remote.log.copy.disable", Kind::Bool, "false", "stored only: no tiered storage"), &[]);
    REMOTE_LOG_DELETE_ON_DISABLE: bool = TopicKey::new(Spec::new("remote.log.delete.on.disable", Kind::Bool, "false", "stored only: no tiered storage"), &[]);
    // Confluent Server's, not Kafka's: produce checks records against the schema registry.
    CONFLUENT_KEY_SCHEMA_VALIDATION: bool = TopicKey::new(Spec::new("confluent.key.schema.validation", Kind::Bool, "false", "record keys must carry a schema id registered under <topic>-key"), &[]);
    CONFLUENT_VALUE_SCHEMA_VALIDATION: bool = TopicKey::new(Spec::new("confluent.value.schema.validation", Kind::Bool, "false", "record values must carry a schema id registered under <topic>-value"), &[]);
}
