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
    Spec::new("share.session.timeout.ms", Kind::Int { min: 1, max: I32_MAX }, "45000", "stored only: no share groups"),
    &[Synonym::of(keys::GROUP_SHARE_SESSION_TIMEOUT_MS)],
);
pub const SHARE_HEARTBEAT_INTERVAL_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.heartbeat.interval.ms",
        Kind::Int { min: 1, max: I32_MAX },
        "5000",
        "stored only: no share groups",
    ),
    &[Synonym::of(keys::GROUP_SHARE_HEARTBEAT_INTERVAL_MS)],
);
pub const SHARE_RECORD_LOCK_DURATION_MS: GroupKey<i64> = TopicKey::new(
    Spec::new(
        "share.record.lock.duration.ms",
        Kind::Int { min: 1000, max: I32_MAX },
        "30000",
        "stored only: no share groups",
    ),
    &[Synonym::of(keys::GROUP_SHARE_RECORD_LOCK_DURATION_MS)],
);
pub const SHARE_AUTO_OFFSET_RESET: GroupKey<&'static str> = TopicKey::new(
    Spec::new(
        "share.auto.offset.reset",
        Kind::Choice(SHARE_AUTO_OFFSET_RESETS),
        "latest",
        "stored only: no share groups",
    ),
    &[],
);

/// Every group setting, in the order DescribeConfigs lists them.
pub const GROUP_SPECS: &[TopicSpec] = &[
    TopicSpec { spec: CONSUMER_SESSION_TIMEOUT_MS.spec, synonyms: CONSUMER_SESSION_TIMEOUT_MS.synonyms },
    TopicSpec { spec: CONSUMER_HEARTBEAT_INTERVAL_MS.spec, synonyms: CONSUMER_HEARTBEAT_INTERVAL_MS.synonyms },
    TopicSpec { spec: SHARE_SESSION_TIMEOUT_MS.spec, synonyms: SHARE_SESSION_TIMEOUT_MS.synonyms },
    TopicSpec { spec: SHARE_HEARTBEAT_INTERVAL_MS.spec, synonyms: SHARE_HEARTBEAT_INTERVAL_MS.synonyms },
    TopicSpec { spec: SHARE_RECORD_LOCK_DURATION_MS.spec, synonyms: SHARE_RECORD_LOCK_DURATION_MS.synonyms },
    TopicSpec { spec: SHARE_AUTO_OFFSET_RESET.spec, synonyms: SHARE_AUTO_OFFSET_RESET.synonyms },
];
