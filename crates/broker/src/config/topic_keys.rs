//! Topic settings, one typed key each, with the broker setting each one falls back to
//! (`segment.bytes` → `log.segment.bytes`), which is what DescribeConfigs reports.

use super::{keys, Kind, Spec, TopicKey, CLEANUP_POLICIES, COMPRESSION_TYPES, I32_MAX, TIMESTAMP_TYPES};

topic_settings! {
    MIN_CLEANABLE_DIRTY_RATIO: f64 = TopicKey::new(Spec {
            name: "min.cleanable.dirty.ratio",
            kind: Kind::Ratio,
            default: "0.5",
            doc: "compact once this share of a log is dirty",
        }, keys::LOG_CLEANER_MIN_CLEANABLE_RATIO);
    MAX_COMPACTION_LAG_MS: i64 = TopicKey::long(
            "max.compaction.lag.ms",
            1,
            i64::MAX,
            "9223372036854775807",
            "compact dirty data older than this whatever the ratio",
        keys::LOG_CLEANER_MAX_COMPACTION_LAG_MS);
    FLUSH_MESSAGES: i64 = TopicKey::long("flush.messages", 1, i64::MAX, "9223372036854775807", "fsync once this many records are unflushed", keys::LOG_FLUSH_INTERVAL_MESSAGES);
    DELETE_RETENTION_MS: i64 = TopicKey::long("delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long", keys::LOG_CLEANER_DELETE_RETENTION_MS);
    MIN_COMPACTION_LAG_MS: i64 = TopicKey::long("min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted", keys::LOG_CLEANER_MIN_COMPACTION_LAG_MS);
    SEGMENT_BYTES: i64 = TopicKey::long("segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size", keys::LOG_SEGMENT_BYTES);
    SEGMENT_MS: i64 = TopicKey::long("segment.ms", 1, i64::MAX, "604800000", "roll a segment at this age", keys::LOG_ROLL_MS);
    RETENTION_MS: i64 = TopicKey::long("retention.ms", -1, i64::MAX, "604800000", "delete closed segments older than this", keys::LOG_RETENTION_MS);
    RETENTION_BYTES: i64 = TopicKey::long("retention.bytes", -1, i64::MAX, "-1", "keep at most this many bytes per partition", keys::LOG_RETENTION_BYTES);
    INDEX_INTERVAL_BYTES: i64 = TopicKey::long("index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries", keys::LOG_INDEX_INTERVAL_BYTES);
    MAX_MESSAGE_BYTES: i64 = TopicKey::long("max.message.bytes", 0, I32_MAX, "1048588", "largest record batch accepted", keys::MESSAGE_MAX_BYTES);
    FLUSH_MS: i64 = TopicKey::long("flush.ms", 1, i64::MAX, "1000", "fsync interval", keys::LOG_FLUSH_INTERVAL_MS);
    MESSAGE_TIMESTAMP_TYPE: &'static str = TopicKey::new(Spec {
            name: "message.timestamp.type",
            kind: Kind::Choice(TIMESTAMP_TYPES),
            default: "CreateTime",
            doc: "CreateTime or LogAppendTime",
        }, keys::LOG_MESSAGE_TIMESTAMP_TYPE);
    MESSAGE_TIMESTAMP_BEFORE_MAX_MS: i64 = TopicKey::long("message.timestamp.before.max.ms", 0, i64::MAX, "9223372036854775807", "past timestamp limit", keys::LOG_MESSAGE_TIMESTAMP_BEFORE_MAX_MS);
    MESSAGE_TIMESTAMP_AFTER_MAX_MS: i64 = TopicKey::long("message.timestamp.after.max.ms", 0, i64::MAX, "3600000", "future timestamp limit", keys::LOG_MESSAGE_TIMESTAMP_AFTER_MAX_MS);
    CLEANUP_POLICY: &'static str = TopicKey::new(Spec {
            name: "cleanup.policy",
            kind: Kind::Choice(CLEANUP_POLICIES),
            default: "delete",
            doc: "delete or compact",
        }, keys::LOG_CLEANUP_POLICY);
    MIN_INSYNC_REPLICAS: i64 = TopicKey::long("min.insync.replicas", 1, 1, "1", "only 1 until replication lands", keys::MIN_INSYNC_REPLICAS);
    COMPRESSION_TYPE: &'static str = TopicKey::new(Spec {
            name: "compression.type",
            kind: Kind::Choice(COMPRESSION_TYPES),
            default: "producer",
            doc: "stored as sent",
        }, keys::COMPRESSION_TYPE);
}
