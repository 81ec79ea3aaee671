//! Broker and topic settings under Kafka's names, in one schema table each.
//!
//! Every key has a type, a default and a range; unknown keys and bad values are errors
//! that name the key. Topic settings fall back to their broker synonym
//! (`segment.bytes` → `log.segment.bytes`), which is what DescribeConfigs reports.

use std::collections::BTreeMap;

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    #[error("unknown setting '{0}'")]
    UnknownKey(String),
    #[error("invalid value '{value}' for '{key}': expected {expected}")]
    InvalidValue { key: String, value: String, expected: String },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Long {
        min: i64,
        max: i64,
    },
    /// A fraction in [0, 1].
    Ratio,
    Bool,
    Choice(&'static [&'static str]),
}

/// One documented setting.
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: &'static str,
    pub doc: &'static str,
}

const fn long(name: &'static str, min: i64, max: i64, default: &'static str, doc: &'static str) -> Spec {
    Spec { name, kind: Kind::Long { min, max }, default, doc }
}

const I32_MAX: i64 = i32::MAX as i64;
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const CLEANUP_POLICIES: &[&str] = &["delete", "compact", "compact,delete", "delete,compact"];
const COMPRESSION_TYPES: &[&str] = &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];

/// Broker settings. Defaults are Kafka's unless a comment says why not.
pub const BROKER_SPECS: &[Spec] = &[
    long("node.id", 0, I32_MAX, "1", "id of this broker in Metadata responses"),
    long("num.partitions", 1, 100_000, "1", "partitions of auto-created topics and of CreateTopics without a count"),
    long("default.replication.factor", 1, 1, "1", "only 1 until replication lands"),
    Spec {
        name: "auto.create.topics.enable",
        kind: Kind::Bool,
        default: "true",
        doc: "create unknown topics on Metadata and Produce",
    },
    long("log.segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size"),
    long("log.roll.ms", 1, i64::MAX, "604800000", "roll a segment at this age"),
    long("log.retention.ms", -1, i64::MAX, "604800000", "delete closed segments older than this (-1: keep)"),
    long("log.retention.bytes", -1, i64::MAX, "-1", "keep at most this many bytes per partition (-1: no limit)"),
    long("log.index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries"),
    // Kafka leaves flushing to replication; a single node needs a bound on the acks=1 loss window.
    long("log.flush.interval.ms", 1, i64::MAX, "1000", "fsync every partition with unflushed data this often"),
    long("message.max.bytes", 0, I32_MAX, "1048588", "largest record batch accepted"),
    long("socket.request.max.bytes", 1, I32_MAX, "104857600", "largest request frame accepted"),
    Spec {
        name: "log.message.timestamp.type",
        kind: Kind::Choice(TIMESTAMP_TYPES),
        default: "CreateTime",
        doc: "timestamp kind of new topics",
    },
    long(
        "log.message.timestamp.before.max.ms",
        0,
        i64::MAX,
        "9223372036854775807",
        "reject batches with timestamps this far in the past",
    ),
    long(
        "log.message.timestamp.after.max.ms",
        0,
        i64::MAX,
        "3600000",
        "reject batches with timestamps this far in the future",
    ),
    Spec {
        name: "log.cleanup.policy",
        kind: Kind::Choice(CLEANUP_POLICIES),
        default: "delete",
        doc: "cleanup policy of new topics",
    },
    long("min.insync.replicas", 1, 1, "1", "only 1 until replication lands"),
    Spec {
        name: "compression.type",
        kind: Kind::Choice(COMPRESSION_TYPES),
        default: "producer",
        doc: "stored as sent: only 'producer' changes nothing",
    },
    long(
        "group.initial.rebalance.delay.ms",
        0,
        I32_MAX,
        "3000",
        "a new group waits this long for more members before its first assignment",
    ),
    long("group.min.session.timeout.ms", 0, I32_MAX, "6000", "shortest session timeout a member may ask for"),
    long("group.max.session.timeout.ms", 0, I32_MAX, "1800000", "longest session timeout a member may ask for"),
    // Kafka uses 50 to spread groups over brokers; one node gains nothing from more than one.
    long("offsets.topic.num.partitions", 1, 1000, "1", "partitions of __consumer_offsets"),
    long("offsets.retention.minutes", 1, I32_MAX, "10080", "committed offsets of empty groups expire after this"),
    long("log.cleaner.delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long"),
    Spec {
        name: "log.cleaner.min.cleanable.ratio",
        kind: Kind::Ratio,
        default: "0.5",
        doc: "compact once this share of a log is dirty",
    },
    long(
        "log.cleaner.max.compaction.lag.ms",
        1,
        i64::MAX,
        "9223372036854775807",
        "compact dirty data older than this whatever the ratio",
    ),
    long("log.cleaner.min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted"),
    long(
        "log.flush.interval.messages",
        1,
        i64::MAX,
        "9223372036854775807",
        "fsync once this many records are unflushed",
    ),
    long("log.retention.check.interval.ms", 1, i64::MAX, "300000", "how often retention deletes old segments"),
    long("producer.id.expiration.ms", 1, I32_MAX, "86400000", "forget idempotent producers silent this long"),
    long("transaction.max.timeout.ms", 1, I32_MAX, "900000", "longest transaction.timeout.ms a producer may ask for"),
    // As for __consumer_offsets: one node gains nothing from Kafka's 50.
    long("transaction.state.log.num.partitions", 1, 1000, "1", "partitions of __transaction_state"),
    long(
        "transactional.id.expiration.ms",
        1,
        I32_MAX,
        "604800000",
        "forget transactional ids with no transaction for this long",
    ),
    long(
        "transaction.abort.timed.out.transaction.cleanup.interval.ms",
        1,
        I32_MAX,
        "10000",
        "how often transactions past their timeout are aborted",
    ),
    // Kinesis front-end. AWS takes seconds to create or reshard a stream; tidelog is done
    // at once, and reports CREATING/UPDATING for this long only to rehearse clients.
    long("kinesis.stream.transition.ms", 0, 600_000, "0", "report CREATING/UPDATING this long after a change"),
    long("kinesis.shard.limit", 1, 100_000, "500", "open shards allowed across all streams (LimitExceededException)"),
    Spec {
        name: "kinesis.enforce.limits",
        kind: Kind::Bool,
        default: "false",
        doc: "refuse traffic above AWS's per-shard limits (ProvisionedThroughputExceededException)",
    },
    long("group.consumer.session.timeout.ms", 1, I32_MAX, "45000", "consumer-protocol (KIP-848) session timeout"),
    long("group.consumer.heartbeat.interval.ms", 1, I32_MAX, "5000", "consumer-protocol (KIP-848) heartbeat interval"),
];

/// Topic settings and the broker setting each one defaults to.
pub const TOPIC_SPECS: &[(Spec, &str)] = &[
    (
        Spec {
            name: "min.cleanable.dirty.ratio",
            kind: Kind::Ratio,
            default: "0.5",
            doc: "compact once this share of a log is dirty",
        },
        "log.cleaner.min.cleanable.ratio",
    ),
    (
        long(
            "max.compaction.lag.ms",
            1,
            i64::MAX,
            "9223372036854775807",
            "compact dirty data older than this whatever the ratio",
        ),
        "log.cleaner.max.compaction.lag.ms",
    ),
    (
        long("flush.messages", 1, i64::MAX, "9223372036854775807", "fsync once this many records are unflushed"),
        "log.flush.interval.messages",
    ),
    (
        long("delete.retention.ms", 0, i64::MAX, "86400000", "compacted topics keep tombstones this long"),
        "log.cleaner.delete.retention.ms",
    ),
    (
        long("min.compaction.lag.ms", 0, i64::MAX, "0", "records younger than this are not compacted"),
        "log.cleaner.min.compaction.lag.ms",
    ),
    (long("segment.bytes", 14, I32_MAX, "1073741824", "roll a segment at this size"), "log.segment.bytes"),
    (long("segment.ms", 1, i64::MAX, "604800000", "roll a segment at this age"), "log.roll.ms"),
    (long("retention.ms", -1, i64::MAX, "604800000", "delete closed segments older than this"), "log.retention.ms"),
    (long("retention.bytes", -1, i64::MAX, "-1", "keep at most this many bytes per partition"), "log.retention.bytes"),
    (
        long("index.interval.bytes", 0, I32_MAX, "4096", "bytes between offset index entries"),
        "log.index.interval.bytes",
    ),
    (long("max.message.bytes", 0, I32_MAX, "1048588", "largest record batch accepted"), "message.max.bytes"),
    (long("flush.ms", 1, i64::MAX, "1000", "fsync interval"), "log.flush.interval.ms"),
    (
        Spec {
            name: "message.timestamp.type",
            kind: Kind::Choice(TIMESTAMP_TYPES),
            default: "CreateTime",
            doc: "CreateTime or LogAppendTime",
        },
        "log.message.timestamp.type",
    ),
    (
        long("message.timestamp.before.max.ms", 0, i64::MAX, "9223372036854775807", "past timestamp limit"),
        "log.message.timestamp.before.max.ms",
    ),
    (
        long("message.timestamp.after.max.ms", 0, i64::MAX, "3600000", "future timestamp limit"),
        "log.message.timestamp.after.max.ms",
    ),
    (
        Spec {
            name: "cleanup.policy",
            kind: Kind::Choice(CLEANUP_POLICIES),
            default: "delete",
            doc: "delete or compact",
        },
        "log.cleanup.policy",
    ),
    (long("min.insync.replicas", 1, 1, "1", "only 1 until replication lands"), "min.insync.replicas"),
    (
        Spec {
            name: "compression.type",
            kind: Kind::Choice(COMPRESSION_TYPES),
            default: "producer",
            doc: "stored as sent",
        },
        "compression.type",
    ),
];

fn validate(spec: &Spec, value: &str) -> Result<String, ConfigError> {
    let bad = |expected: String| ConfigError::InvalidValue { key: spec.name.into(), value: value.into(), expected };
    match spec.kind {
        Kind::Long { min, max } => match value.trim().parse::<i64>() {
            Ok(v) if v >= min && v <= max => Ok(v.to_string()),
            _ => Err(bad(format!("an integer in [{min}, {max}]"))),
        },
        Kind::Ratio => match value.trim().parse::<f64>() {
            Ok(v) if (0.0..=1.0).contains(&v) => Ok(v.to_string()),
            _ => Err(bad("a number in [0, 1]".into())),
        },
        Kind::Bool => match value.trim().to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(bad("true or false".into())),
        },
        Kind::Choice(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(value.trim()))
            .map(|o| o.to_string())
            .ok_or_else(|| bad(format!("one of {}", options.join(", ")))),
    }
}

/// Where a setting's value came from, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    TopicOverride,
    BrokerStatic,
    Default,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigEntry {
    pub name: String,
    pub value: String,
    pub source: ConfigSource,
    /// The broker setting a topic setting falls back to, if any.
    pub synonym: Option<(String, String, ConfigSource)>,
}

/// Validated broker settings: explicit values plus defaults.
#[derive(Debug, Clone, Default)]
pub struct BrokerConfig {
    explicit: BTreeMap<String, String>,
}

impl BrokerConfig {
    /// Validates every pair as a whole; the first unknown key or bad value is the error.
    pub fn from_pairs<I, K, V>(pairs: I) -> Result<Self, ConfigError>
    where
        I: IntoIterator<Item = (K, V)>,
        K: AsRef<str>,
        V: AsRef<str>,
    {
        let mut explicit = BTreeMap::new();
        for (k, v) in pairs {
            let key = k.as_ref().trim();
            let spec =
                BROKER_SPECS.iter().find(|s| s.name == key).ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
            explicit.insert(key.to_string(), validate(spec, v.as_ref())?);
        }
        Ok(BrokerConfig { explicit })
    }

    fn spec(name: &str) -> &'static Spec {
        BROKER_SPECS.iter().find(|s| s.name == name).expect("broker setting names are static")
    }

    /// The value and its source.
    pub fn get(&self, name: &str) -> (String, ConfigSource) {
        match self.explicit.get(name) {
            Some(v) => (v.clone(), ConfigSource::BrokerStatic),
            None => (Self::spec(name).default.to_string(), ConfigSource::Default),
        }
    }

    pub fn long(&self, name: &str) -> i64 {
        self.get(name).0.parse().expect("validated as an integer")
    }

    pub fn bool(&self, name: &str) -> bool {
        self.get(name).0 == "true"
    }

    pub fn entries(&self) -> Vec<ConfigEntry> {
        BROKER_SPECS
            .iter()
            .map(|s| {
                let (value, source) = self.get(s.name);
                ConfigEntry { name: s.name.into(), value, source, synonym: None }
            })
            .collect()
    }

    pub fn node_id(&self) -> i32 {
        self.long("node.id") as i32
    }
}

/// Validates topic overrides (CreateTopics configs). Keys must be known topic settings.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
    configs
        .iter()
        .map(|(k, v)| {
            let (spec, _) =
                TOPIC_SPECS.iter().find(|(s, _)| s.name == k).ok_or_else(|| ConfigError::UnknownKey(k.clone()))?;
            Ok((k.clone(), validate(spec, v)?))
        })
        .collect()
}

/// A topic's effective settings: its overrides over the broker's values.
#[derive(Debug, Clone)]
pub struct TopicConfig<'a> {
    pub overrides: &'a BTreeMap<String, String>,
    pub broker: &'a BrokerConfig,
}

impl TopicConfig<'_> {
    pub fn entry(&self, name: &str) -> Option<ConfigEntry> {
        let (spec, synonym) = TOPIC_SPECS.iter().find(|(s, _)| s.name == name)?;
        let (broker_value, broker_source) = self.broker.get(synonym);
        let synonym = Some((synonym.to_string(), broker_value.clone(), broker_source));
        Some(match self.overrides.get(spec.name) {
            Some(v) => {
                ConfigEntry { name: name.into(), value: v.clone(), source: ConfigSource::TopicOverride, synonym }
            }
            None => ConfigEntry { name: name.into(), value: broker_value, source: broker_source, synonym },
        })
    }

    pub fn entries(&self) -> Vec<ConfigEntry> {
        TOPIC_SPECS.iter().filter_map(|(s, _)| self.entry(s.name)).collect()
    }

    pub fn long(&self, name: &str) -> i64 {
        self.entry(name).and_then(|e| e.value.parse().ok()).expect("topic setting is a validated integer")
    }

    pub fn ratio(&self, name: &str) -> f64 {
        self.entry(name).and_then(|e| e.value.parse().ok()).expect("topic setting is a validated ratio")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_keys_are_named() {
        let err = BrokerConfig::from_pairs([("num.partitionz", "3")]).unwrap_err();
        assert_eq!(err.to_string(), "unknown setting 'num.partitionz'");
    }

    #[test]
    fn values_are_validated_with_ranges() {
        let err = BrokerConfig::from_pairs([("num.partitions", "0")]).unwrap_err();
        assert_eq!(err.to_string(), "invalid value '0' for 'num.partitions': expected an integer in [1, 100000]");
        let cfg = BrokerConfig::from_pairs([("num.partitions", "3"), ("auto.create.topics.enable", "FALSE")]).unwrap();
        assert_eq!(cfg.long("num.partitions"), 3);
        assert!(!cfg.bool("auto.create.topics.enable"));
        assert_eq!(cfg.get("message.max.bytes"), ("1048588".into(), ConfigSource::Default));
    }

    #[test]
    fn topic_settings_fall_back_to_broker_synonyms() {
        let broker = BrokerConfig::from_pairs([("log.segment.bytes", "1000")]).unwrap();
        let overrides = validate_topic_configs(&[("retention.ms".to_string(), "5".to_string())].into()).unwrap();
        let topic = TopicConfig { overrides: &overrides, broker: &broker };
        assert_eq!(topic.long("segment.bytes"), 1000);
        assert_eq!(topic.entry("segment.bytes").unwrap().source, ConfigSource::BrokerStatic);
        assert_eq!(topic.entry("retention.ms").unwrap().source, ConfigSource::TopicOverride);
        assert_eq!(topic.entry("max.message.bytes").unwrap().source, ConfigSource::Default);
        assert!(validate_topic_configs(&[("bogus".to_string(), "1".to_string())].into()).is_err());
    }
}
