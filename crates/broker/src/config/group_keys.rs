//! Group settings (GROUP config resources, KIP-848), Kafka 4.x's `GroupConfig`: each falls
//! back to the broker setting named `group.` + its name where Kafka has one, as topic
//! settings fall back to theirs.

use super::{keys, Kind, Spec, Synonym, TopicKey, TopicSpec, I32_MAX};

/// A group setting whose values are `T`, and the broker setting it falls back to.
pub type GroupKey<T> = TopicKey<T>;

const SHARE_AUTO_OFFSET_RESETS: &[&str] = &["latest", "earliest"];

pub const CONSUMER_SESSION_TIMEOUT_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "consumer.session.timeout.ms",
        Kind::Int { min: 1, max: I32_MAX },
        "45000",
        "this group's session timeout",
    ),
    &[Synonym::of(keys::GROUP_CONSUMER_SESSION_TIMEOUT_MS)],
);
pub const CONSUMER_HEARTBEAT_INTERVAL_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "consumer.heartbeat.interval.ms",
        Kind::Int { min: 1, max: I32_MAX },
        "5000",
        "this group's heartbeat interval",
    ),
    &[Synonym::of(keys::GROUP_CONSUMER_HEARTBEAT_INTERVAL_MS)],
);
pub const SHARE_SESSION_TIMEOUT_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.session.timeout.ms",
        Kind::Int { min: 1, max: I32_MAX },
        "45000",
        "this share group's session timeout",
    ),
    &[Synonym::of(keys::GROUP_SHARE_SESSION_TIMEOUT_MS)],
);
pub const SHARE_HEARTBEAT_INTERVAL_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.heartbeat.interval.ms",
        Kind::Int { min: 1, max: I32_MAX },
        "5000",
        "this share group's heartbeat interval",
    ),
    &[Synonym::of(keys::GROUP_SHARE_HEARTBEAT_INTERVAL_MS)],
);
pub const SHARE_RECORD_LOCK_DURATION_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.record.lock.duration.ms",
        Kind::Int { min: 1000, max: I32_MAX },
        "30000",
        "how long this share group's consumers hold acquired records",
    ),
    &[Synonym::of(keys::GROUP_SHARE_RECORD_LOCK_DURATION_MS)],
);
pub const SHARE_AUTO_OFFSET_RESET: GroupKey<&'static str> = TopicKey::new(
    Spec::new(
        "share.auto.offset.reset",
        Kind::Choice(SHARE_AUTO_OFFSET_RESETS),
        "latest",
        "where this share group starts reading a partition it has no state for",
    ),
    &[],
);
const SHARE_ISOLATION_LEVELS: &[&str] = &["read_uncommitted", "read_committed"];
pub const SHARE_ISOLATION_LEVEL: GroupKey<&'static str> = TopicKey::new(
    Spec::new(
        "share.isolation.level",
        Kind::Choice(SHARE_ISOLATION_LEVELS),
        "read_uncommitted",
        "read_committed: this share group skips aborted transactional records",
    ),
    &[],
);
pub const SHARE_DELIVERY_COUNT_LIMIT: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.delivery.count.limit",
        Kind::Int { min: 2, max: 10 },
        "5",
        "deliveries of a record before this share group archives it",
    ),
    &[Synonym::of(keys::GROUP_SHARE_DELIVERY_COUNT_LIMIT)],
);
pub const SHARE_PARTITION_MAX_RECORD_LOCKS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.partition.max.record.locks",
        Kind::Int { min: 100, max: 10_000 },
        "2000",
        "records this share group keeps in flight per partition",
    ),
    &[Synonym::of(keys::GROUP_SHARE_PARTITION_MAX_RECORD_LOCKS)],
);

/// Every group setting, in the order DescribeConfigs lists them.
pub const GROUP_SPECS: &[TopicSpec] = &[
    TopicSpec { spec: CONSUMER_SESSION_TIMEOUT_MS.spec, synonyms: CONSUMER_SESSION_TIMEOUT_MS.synonyms },
    TopicSpec { spec: CONSUMER_HEARTBEAT_INTERVAL_MS.spec, synonyms: CONSUMER_HEARTBEAT_INTERVAL_MS.synonyms },
    TopicSpec { spec: SHARE_SESSION_TIMEOUT_MS.spec, synonyms: SHARE_SESSION_TIMEOUT_MS.synonyms },
    TopicSpec { spec: SHARE_HEARTBEAT_INTERVAL_MS.spec, synonyms: SHARE_HEARTBEAT_INTERVAL_MS.synonyms },
    TopicSpec { spec: SHARE_RECORD_LOCK_DURATION_MS.spec, synonyms: SHARE_RECORD_LOCK_DURATION_MS.synonyms },
    TopicSpec { spec: SHARE_AUTO_OFFSET_RESET.spec, synonyms: SHARE_AUTO_OFFSET_RESET.synonyms },
    TopicSpec { spec: SHARE_ISOLATION_LEVEL.spec, synonyms: SHARE_ISOLATION_LEVEL.synonyms },
    TopicSpec { spec: SHARE_DELIVERY_COUNT_LIMIT.spec, synonyms: SHARE_DELIVERY_COUNT_LIMIT.synonyms },
    TopicSpec { spec: SHARE_PARTITION_MAX_RECORD_LOCKS.spec, synonyms: SHARE_PARTITION_MAX_RECORD_LOCKS.synonyms },
];
