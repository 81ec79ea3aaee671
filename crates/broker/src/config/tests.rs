use std::collections::BTreeMap;

use super::*;

fn map(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

fn sources(entry: &ConfigEntry) -> Vec<(String, ConfigSource)> {
    entry.synonyms.iter().map(|s| (s.name.clone(), s.source)).collect()
}

#[test]
fn unknown_keys_are_named() {
    let err = BrokerConfig::from_pairs([("num.partitionz", "3")]).unwrap_err();
    assert_eq!(err.to_string(), "unknown setting 'num.partitionz'");
    let err = validate_topic_configs(&map(&[("bogus", "1")])).unwrap_err();
    assert_eq!(err.to_string(), "Unknown topic config name: bogus");
}

#[test]
fn values_are_validated_with_kafkas_messages() {
    let err = BrokerConfig::from_pairs([("num.partitions", "0")]).unwrap_err();
    assert_eq!(err.to_string(), "Invalid value 0 for configuration num.partitions: Value must be at least 1");
    let bad = |k: &str, v: &str| validate_topic_configs(&map(&[(k, v)])).unwrap_err().to_string();
    assert_eq!(
        bad("retention.ms", "soon"),
        "Invalid value soon for configuration retention.ms: Not a number of type LONG"
    );
    assert_eq!(
        bad("segment.bytes", "3000000000"),
        "Invalid value 3000000000 for configuration segment.bytes: Not a number of type INT"
    );
    assert_eq!(bad("retention.ms", "-7"), "Invalid value -7 for configuration retention.ms: Value must be at least -1");
    assert_eq!(
        bad("preallocate", "yes"),
        "Invalid value yes for configuration preallocate: Expected value to be either true or false"
    );
    assert_eq!(
        bad("cleanup.policy", "compact,shred"),
        "Invalid value compact,shred for configuration cleanup.policy: String must be one of: compact, delete"
    );
    assert_eq!(
        bad("compression.gzip.level", "0"),
        "Invalid value 0 for configuration compression.gzip.level: Value must be between 1 and 9"
    );
    assert!(bad("leader.replication.throttled.replicas", "0:x").contains("[partitionId]:[brokerId]"));
    assert!(bad("remote.storage.enable", "true").starts_with("Tiered Storage functionality is disabled"));
    let cfg = BrokerConfig::from_pairs([("num.partitions", "3"), ("auto.create.topics.enable", "FALSE")]).unwrap();
    assert_eq!(cfg.get(keys::NUM_PARTITIONS), 3);
    assert!(!cfg.get(keys::AUTO_CREATE_TOPICS_ENABLE));
    assert_eq!(cfg.lookup("message.max.bytes"), Some((Some("1048588".into()), ConfigSource::Default)));
    assert_eq!(
        cfg.lookup("log.retention.ms"),
        Some((None, ConfigSource::Default)),
        "Kafka's log.retention.ms has no default"
    );
}

#[test]
fn every_kafka_4_topic_config_is_accepted_with_its_default() {
    let kafka_topic_configs = [
        "cleanup.policy",
        "compression.gzip.level",
        "compression.lz4.level",
        "compression.type",
        "compression.zstd.level",
        "delete.retention.ms",
        "file.delete.delay.ms",
        "flush.messages",
        "flush.ms",
        "follower.replication.throttled.replicas",
        "index.interval.bytes",
        "leader.replication.throttled.replicas",
        "local.retention.bytes",
        "local.retention.ms",
        "max.compaction.lag.ms",
        "max.message.bytes",
        "message.timestamp.after.max.ms",
        "message.timestamp.before.max.ms",
        "message.timestamp.type",
        "min.cleanable.dirty.ratio",
        "min.compaction.lag.ms",
        "min.insync.replicas",
        "preallocate",
        "remote.log.copy.disable",
        "remote.log.delete.on.disable",
        "remote.storage.enable",
        "retention.bytes",
        "retention.ms",
        "segment.bytes",
        "segment.index.bytes",
        "segment.jitter.ms",
        "segment.ms",
        "unclean.leader.election.enable",
    ];
    // Confluent Server's schema-validation settings are the only ones Kafka lacks.
    let mut ours: Vec<&str> =
        TOPIC_SPECS.iter().map(|t| t.spec.name).filter(|n| !n.starts_with("confluent.")).collect();
    ours.sort_unstable();
    assert_eq!(ours, kafka_topic_configs);
    for name in ["message.downconversion.enable", "message.format.version"] {
        assert!(validate_topic_configs(&map(&[(name, "true")])).is_err(), "{name} left Kafka in 4.0");
    }
    let topic = TopicConfig { overrides: &BTreeMap::new(), broker: &BrokerConfig::default() };
    for t in TOPIC_SPECS {
        let default = t.spec.default.unwrap_or_else(|| panic!("{} has no default", t.spec.name));
        let effective = topic.entry(t.spec.name).unwrap().value.unwrap();
        assert_eq!(effective, default, "{}: broker synonyms give another default", t.spec.name);
        validate_topic_configs(&map(&[(t.spec.name, default)])).unwrap_or_else(|e| panic!("{}: {e}", t.spec.name));
    }
}

#[test]
fn every_key_has_a_distinct_name_a_valid_default_and_known_synonyms() {
    let mut names: Vec<&str> = BROKER_SPECS.iter().chain(REPORTED_SPECS).map(|s| s.name).collect();
    names.sort_unstable();
    let count = names.len();
    names.dedup();
    assert_eq!(names.len(), count, "a broker setting is declared twice");
    let all = BROKER_SPECS
        .iter()
        .chain(REPORTED_SPECS)
        .chain(TOPIC_SPECS.iter().chain(group_keys::GROUP_SPECS).map(|t| &t.spec));
    for spec in all {
        if let Some(default) = spec.default {
            spec.validate(default).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        }
    }
    for t in TOPIC_SPECS.iter().chain(group_keys::GROUP_SPECS) {
        for s in t.synonyms {
            let broker = BROKER_SPECS
                .iter()
                .find(|b| b.name == s.name)
                .unwrap_or_else(|| panic!("{}: no synonym {}", t.spec.name, s.name));
            if s.factor == 1 {
                assert_eq!(
                    t.spec.kind.config_type(),
                    broker.kind.config_type(),
                    "{} and {} differ in type",
                    t.spec.name,
                    s.name
                );
            }
        }
    }
}

#[test]
fn topic_settings_fall_back_through_the_synonym_chain() {
    let broker = BrokerConfig::from_pairs([("log.segment.bytes", "1000"), ("log.retention.hours", "2")]).unwrap();
    let overrides = validate_topic_configs(&map(&[("max.message.bytes", "5")])).unwrap();
    let topic = TopicConfig { overrides: &overrides, broker: &broker };
    assert_eq!(topic.get(topic_keys::SEGMENT_BYTES), 1000);
    assert_eq!(topic.get(topic_keys::RETENTION_MS), 7_200_000, "log.retention.hours in milliseconds");
    assert_eq!(topic.get(topic_keys::MAX_MESSAGE_BYTES), 5);
    assert_eq!(topic.get(topic_keys::CLEANUP_POLICY), "delete");
    assert_eq!(topic.entry("segment.bytes").unwrap().source, ConfigSource::BrokerStatic);
    assert_eq!(topic.entry("max.message.bytes").unwrap().source, ConfigSource::TopicOverride);
    assert_eq!(topic.entry("min.insync.replicas").unwrap().source, ConfigSource::Default);
    // Kafka lists retention.ms's synonyms from log.retention.ms on: none set here.
    assert_eq!(topic.entry("retention.ms").unwrap().synonyms, vec![]);
    assert_eq!(topic.entry("retention.ms").unwrap().source, ConfigSource::Default);
    let broker = BrokerConfig::from_pairs([("log.retention.ms", "1000")]).unwrap();
    assert_eq!(TopicConfig { overrides: &BTreeMap::new(), broker: &broker }.get(topic_keys::RETENTION_MS), 1000);
}

#[test]
fn synonyms_follow_kafkas_layer_order() {
    let broker = BrokerConfig::from_pairs([("log.retention.ms", "3000")]).unwrap();
    broker.set_dynamic(map(&[("log.retention.ms", "2000")]), map(&[("log.retention.ms", "1000")]));
    let overrides = map(&[("retention.ms", "500")]);
    let topic = TopicConfig { overrides: &overrides, broker: &broker };
    let entry = topic.entry("retention.ms").unwrap();
    assert_eq!(entry.value.as_deref(), Some("500"));
    assert_eq!(
        sources(&entry),
        [
            ("retention.ms".into(), ConfigSource::TopicOverride),
            ("log.retention.ms".into(), ConfigSource::DynamicBroker),
            ("log.retention.ms".into(), ConfigSource::DynamicDefault),
            ("log.retention.ms".into(), ConfigSource::BrokerStatic),
            ("log.retention.hours".into(), ConfigSource::Default),
        ]
    );
    let no_override = TopicConfig { overrides: &BTreeMap::new(), broker: &broker };
    assert_eq!(no_override.get(topic_keys::RETENTION_MS), 1000, "the per-broker layer wins");
    let broker_entries = broker.entries(DynamicLayer::Node, &BTreeMap::new());
    let retention = broker_entries.iter().find(|e| e.name == "log.retention.ms").unwrap();
    assert_eq!((retention.source, retention.read_only), (ConfigSource::DynamicBroker, false));
    let hours = broker_entries.iter().find(|e| e.name == "log.retention.hours").unwrap();
    assert_eq!((hours.source, hours.read_only), (ConfigSource::Default, true));
    let cluster = broker.entries(DynamicLayer::ClusterDefault, &BTreeMap::new());
    assert_eq!(cluster.len(), 1);
    assert_eq!(sources(&cluster[0]), [("log.retention.ms".into(), ConfigSource::DynamicDefault)]);
    assert_eq!(cluster[0].value.as_deref(), Some("2000"));
}

#[test]
fn dynamic_broker_settings_are_the_topic_defaults() {
    assert!(BrokerConfig::validate_dynamic(&map(&[("log.retention.ms", "5"), ("message.max.bytes", "100")])).is_ok());
    let err =
        BrokerConfig::validate_dynamic(&map(&[("num.partitions", "3"), ("log.retention.hours", "1")])).unwrap_err();
    assert_eq!(err.to_string(), "Cannot update these configs dynamically: [log.retention.hours, num.partitions]");
    let err = BrokerConfig::validate_dynamic(&map(&[("log.segment.bytes", "big")])).unwrap_err();
    assert!(err.to_string().starts_with("Invalid value big for configuration log.segment.bytes"), "{err}");
}

#[test]
fn empty_cleanup_policy_is_a_valid_list() {
    let overrides = validate_topic_configs(&map(&[("cleanup.policy", "")])).unwrap();
    let topic = TopicConfig { overrides: &overrides, broker: &BrokerConfig::default() };
    assert_eq!(topic.get(topic_keys::CLEANUP_POLICY), "");
    assert_eq!(
        validate_topic_configs(&map(&[("cleanup.policy", " Delete , compact")])).unwrap()["cleanup.policy"],
        "delete,compact"
    );
}

#[test]
fn compaction_lags_must_agree() {
    let overrides = map(&[("min.compaction.lag.ms", "10"), ("max.compaction.lag.ms", "5")]);
    let err = TopicConfig { overrides: &overrides, broker: &BrokerConfig::default() }.check_consistency().unwrap_err();
    assert_eq!(err.to_string(), "conflict topic config setting min.compaction.lag.ms (10) > max.compaction.lag.ms (5)");
}

#[test]
fn group_settings_keep_to_the_broker_bounds() {
    let broker = BrokerConfig::default();
    let ok = validate_group_configs(&map(&[("consumer.session.timeout.ms", "50000")]), &broker).unwrap();
    let group = GroupConfig { overrides: &ok, broker: &broker };
    let settings = group.settings();
    assert_eq!((settings.consumer_session_timeout_ms, settings.consumer_heartbeat_interval_ms), (50_000, 5000));
    let share = settings.share;
    assert_eq!((share.record_lock_duration_ms, share.delivery_count_limit, share.max_record_locks), (30_000, 5, 2000));
    assert!(!share.start_at_earliest && !share.read_committed);
    let entry = group.entry("consumer.session.timeout.ms").unwrap();
    assert_eq!(
        sources(&entry),
        [
            ("consumer.session.timeout.ms".into(), ConfigSource::GroupOverride),
            ("group.consumer.session.timeout.ms".into(), ConfigSource::Default)
        ]
    );
    let err = validate_group_configs(&map(&[("consumer.session.timeout.ms", "1000")]), &broker).unwrap_err();
    assert_eq!(
        err.to_string(),
        "consumer.session.timeout.ms must be greater than or equal to group.consumer.min.session.timeout.ms"
    );
    let err = validate_group_configs(&map(&[("consumer.heartbeat.interval.ms", "16000")]), &broker).unwrap_err();
    assert_eq!(
        err.to_string(),
        "consumer.heartbeat.interval.ms must be less than or equal to group.consumer.max.heartbeat.interval.ms"
    );
    let err = validate_group_configs(&map(&[("consumer.timeout", "1")]), &broker).unwrap_err();
    assert_eq!(err.to_string(), "Unknown group config name: consumer.timeout");
    let reset = GroupConfig { overrides: &BTreeMap::new(), broker: &broker }.entry("share.auto.offset.reset").unwrap();
    assert_eq!(sources(&reset), [("share.auto.offset.reset".into(), ConfigSource::Default)]);
}
