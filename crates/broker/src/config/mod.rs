//! Broker and topic settings under Kafka's names, one typed key each.
//!
//! Every key has a type, a default and a range; unknown keys and bad values are errors
//! that name the key. Code reads a setting through its key (`config.get(keys::NUM_PARTITIONS)`
//! is an `i64`), so a misspelt key does not compile. Topic settings fall back to their
//! broker synonym (`segment.bytes` → `log.segment.bytes`), which is what DescribeConfigs
//! reports.

use std::collections::BTreeMap;
use std::marker::PhantomData;

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

/// A value type a setting can have; parses what validation already accepted.
pub trait SettingValue: Sized {
    fn from_validated(spec: &Spec, value: &str) -> Self;
}

impl SettingValue for i64 {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value.parse().unwrap_or_default()
    }
}

impl SettingValue for f64 {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value.parse().unwrap_or_default()
    }
}

impl SettingValue for bool {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value == "true"
    }
}

impl SettingValue for &'static str {
    /// The option as the schema spells it.
    fn from_validated(spec: &Spec, value: &str) -> Self {
        match spec.kind {
            Kind::Choice(options) => options.iter().find(|o| **o == value).copied().unwrap_or(spec.default),
            _ => spec.default,
        }
    }
}

/// A broker setting whose values are `T`.
#[derive(Debug)]
pub struct Key<T> {
    pub spec: Spec,
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for Key<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Key<T> {}

impl<T> Key<T> {
    pub const fn new(spec: Spec) -> Self {
        Key { spec, value: PhantomData }
    }

    pub const fn name(&self) -> &'static str {
        self.spec.name
    }
}

impl Key<i64> {
    const fn long(name: &'static str, min: i64, max: i64, default: &'static str, doc: &'static str) -> Self {
        Key::new(Spec { name, kind: Kind::Long { min, max }, default, doc })
    }
}

/// A topic setting whose values are `T`, and the broker setting it falls back to.
#[derive(Debug)]
pub struct TopicKey<T> {
    pub spec: Spec,
    pub synonym: Key<T>,
}

impl<T> Clone for TopicKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for TopicKey<T> {}

impl<T> TopicKey<T> {
    pub const fn new(spec: Spec, synonym: Key<T>) -> Self {
        TopicKey { spec, synonym }
    }

    pub const fn name(&self) -> &'static str {
        self.spec.name
    }
}

impl TopicKey<i64> {
    const fn long(
        name: &'static str,
        min: i64,
        max: i64,
        default: &'static str,
        doc: &'static str,
        synonym: Key<i64>,
    ) -> Self {
        TopicKey::new(Spec { name, kind: Kind::Long { min, max }, default, doc }, synonym)
    }
}

/// Declares each broker key as a constant and lists their specs in `BROKER_SPECS`.
macro_rules! broker_settings {
    ($($(#[$attr:meta])* $key:ident: $ty:ty = $value:expr;)*) => {
        $($(#[$attr])* pub const $key: Key<$ty> = $value;)*
        /// Every broker setting, in the order DescribeConfigs lists them.
        pub const BROKER_SPECS: &[Spec] = &[$($key.spec),*];
    };
}

/// Declares each topic key as a constant and lists them, with their broker synonyms, in
/// `TOPIC_SPECS`.
macro_rules! topic_settings {
    ($($(#[$attr:meta])* $key:ident: $ty:ty = $value:expr;)*) => {
        $($(#[$attr])* pub const $key: TopicKey<$ty> = $value;)*
        /// Every topic setting and the broker setting it falls back to.
        pub const TOPIC_SPECS: &[(Spec, &str)] = &[$(($key.spec, $key.synonym.spec.name)),*];
    };
}

pub mod keys;
pub mod topic_keys;

pub use keys::BROKER_SPECS;
pub use topic_keys::TOPIC_SPECS;

const I32_MAX: i64 = i32::MAX as i64;
const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
const CLEANUP_POLICIES: &[&str] = &["delete", "compact", "compact,delete", "delete,compact"];
const COMPRESSION_TYPES: &[&str] = &["producer", "uncompressed", "gzip", "snappy", "lz4", "zstd"];

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

    fn spec(name: &str) -> Option<&'static Spec> {
        BROKER_SPECS.iter().find(|s| s.name == name)
    }

    /// A setting's value.
    pub fn get<T: SettingValue>(&self, key: Key<T>) -> T {
        T::from_validated(&key.spec, &self.value_of(&key.spec).0)
    }

    /// The value (validated text) and its source.
    fn value_of(&self, spec: &Spec) -> (String, ConfigSource) {
        match self.explicit.get(spec.name) {
            Some(v) => (v.clone(), ConfigSource::BrokerStatic),
            None => (spec.default.to_string(), ConfigSource::Default),
        }
    }

    /// The value and source of the setting called `name`, for listings by name
    /// (DescribeConfigs); `None` for a name that is not a broker setting.
    pub fn lookup(&self, name: &str) -> Option<(String, ConfigSource)> {
        Self::spec(name).map(|spec| self.value_of(spec))
    }

    pub fn entries(&self) -> Vec<ConfigEntry> {
        BROKER_SPECS
            .iter()
            .map(|s| {
                let (value, source) = self.value_of(s);
                ConfigEntry { name: s.name.into(), value, source, synonym: None }
            })
            .collect()
    }

    pub fn node_id(&self) -> i32 {
        self.get(keys::NODE_ID) as i32
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
    /// A setting's effective value: the topic's override, else its broker synonym's.
    pub fn get<T: SettingValue>(&self, key: TopicKey<T>) -> T {
        match self.overrides.get(key.spec.name) {
            Some(v) => T::from_validated(&key.spec, v),
            None => self.broker.get(key.synonym),
        }
    }

    /// The entry of the setting called `name`, for listings by name (DescribeConfigs);
    /// `None` for a name that is not a topic setting.
    pub fn entry(&self, name: &str) -> Option<ConfigEntry> {
        let (spec, synonym) = TOPIC_SPECS.iter().find(|(s, _)| s.name == name)?;
        let (broker_value, broker_source) = self.broker.lookup(synonym)?;
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
        assert_eq!(cfg.get(keys::NUM_PARTITIONS), 3);
        assert!(!cfg.get(keys::AUTO_CREATE_TOPICS_ENABLE));
        assert_eq!(cfg.lookup("message.max.bytes"), Some(("1048588".into(), ConfigSource::Default)));
        assert_eq!(cfg.get(keys::LOG_MESSAGE_TIMESTAMP_TYPE), "CreateTime");
    }

    #[test]
    fn every_key_has_a_distinct_name_and_a_valid_default() {
        let mut names: Vec<&str> = BROKER_SPECS.iter().map(|s| s.name).collect();
        names.sort_unstable();
        names.dedup();
        assert_eq!(names.len(), BROKER_SPECS.len(), "a broker setting is declared twice");
        for spec in BROKER_SPECS.iter().chain(TOPIC_SPECS.iter().map(|(s, _)| s)) {
            validate(spec, spec.default).unwrap_or_else(|e| panic!("{}: {e}", spec.name));
        }
        for (spec, synonym) in TOPIC_SPECS {
            let broker = BrokerConfig::spec(synonym).unwrap_or_else(|| panic!("{}: no synonym {synonym}", spec.name));
            assert_eq!(spec.kind, broker.kind, "{} and {synonym} differ in kind", spec.name);
        }
    }

    #[test]
    fn topic_settings_fall_back_to_broker_synonyms() {
        let broker = BrokerConfig::from_pairs([("log.segment.bytes", "1000")]).unwrap();
        let overrides = validate_topic_configs(&[("retention.ms".to_string(), "5".to_string())].into()).unwrap();
        let topic = TopicConfig { overrides: &overrides, broker: &broker };
        assert_eq!(topic.get(topic_keys::SEGMENT_BYTES), 1000);
        assert_eq!(topic.get(topic_keys::RETENTION_MS), 5);
        assert_eq!(topic.get(topic_keys::CLEANUP_POLICY), "delete");
        assert_eq!(topic.entry("segment.bytes").unwrap().source, ConfigSource::BrokerStatic);
        assert_eq!(topic.entry("retention.ms").unwrap().source, ConfigSource::TopicOverride);
        assert_eq!(topic.entry("max.message.bytes").unwrap().source, ConfigSource::Default);
        assert!(validate_topic_configs(&[("bogus".to_string(), "1".to_string())].into()).is_err());
    }
}
