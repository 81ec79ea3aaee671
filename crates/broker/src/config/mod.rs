//! Broker, topic and group settings under Kafka's names, one typed key each.
//!
//! Every key has a kind, a default and a range; unknown keys and bad values are errors
//! that name the key, worded as Kafka words them (DescribeConfigs / AlterConfigs clients
//! show them to users). Code reads a setting through its key
//! (`config.get(keys::NUM_PARTITIONS)` is an `i64`), so a misspelt key does not compile.
//! Topic settings fall back to their broker synonyms (`retention.ms` → `log.retention.ms`,
//! `log.retention.minutes`, `log.retention.hours`), and broker settings come from layers
//! (dynamic per-broker, dynamic cluster default, static, default), which is what
//! DescribeConfigs reports as sources and synonyms.

use std::marker::PhantomData;

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
        /// Every topic setting and the broker settings it falls back to.
        pub const TOPIC_SPECS: &[super::TopicSpec] = &[$(super::TopicSpec { spec: $key.spec, synonyms: $key.synonyms }),*];
    };
}

mod broker_config;
pub mod group_keys;
mod groups;
pub mod keys;
pub mod reported_keys;
mod topic;
pub mod topic_keys;
mod values;

pub use broker_config::{broker_synonym_chain, is_dynamic, BrokerConfig, DynamicLayer};
pub use groups::{validate_group_configs, GroupConfig, GroupSettings, ShareSettings};
pub use keys::BROKER_SPECS;
pub use reported_keys::REPORTED_SPECS;
pub use topic::{validate_topic_configs, TopicConfig, TopicSpec};
pub use topic_keys::TOPIC_SPECS;
pub use values::{ConfigError, SettingValue};

/// The items of a LIST value, trimmed, empty ones dropped.
pub(crate) fn values_list(value: &str) -> Vec<String> {
    values::list_items(value).map(str::to_string).collect()
}

pub(crate) const I32_MAX: i64 = i32::MAX as i64;
pub(crate) const TIMESTAMP_TYPES: &[&str] = &["CreateTime", "LogAppendTime"];
pub(crate) const CLEANUP_POLICIES: &[&str] = &["compact", "delete"];
pub(crate) const COMPRESSION_TYPES: &[&str] = &["uncompressed", "zstd", "lz4", "snappy", "gzip", "producer"];

/// A setting's kind: how its values are validated, and the ConfigType DescribeConfigs
/// reports (v3+).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Kind {
    /// Kafka's INT.
    Int {
        min: i64,
        max: i64,
    },
    /// Kafka's LONG.
    Long {
        min: i64,
        max: i64,
    },
    /// A DOUBLE in [0, 1].
    Ratio,
    Bool,
    /// A STRING that must be one of these.
    Choice(&'static [&'static str]),
    /// A LIST whose items must be among these; empty is allowed.
    List(&'static [&'static str]),
    /// `leader/follower.replication.throttled.replicas`: `*` or `partition:broker` pairs.
    ThrottledReplicas,
    /// `compression.gzip.level`: -1 (the codec's default) or 1..=9.
    GzipLevel,
    /// A STRING with no constraint (reported-only settings).
    Text,
    /// A LIST with no constraint (reported-only settings).
    TextList,
}

impl Kind {
    /// Kafka's ConfigType id: BOOLEAN 1, STRING 2, INT 3, LONG 5, DOUBLE 6, LIST 7.
    pub fn config_type(self) -> i8 {
        match self {
            Kind::Bool => 1,
            Kind::Choice(_) | Kind::Text => 2,
            Kind::Int { .. } | Kind::GzipLevel => 3,
            Kind::Long { .. } => 5,
            Kind::Ratio => 6,
            Kind::List(_) | Kind::ThrottledReplicas | Kind::TextList => 7,
        }
    }

    pub fn is_list(self) -> bool {
        matches!(self, Kind::List(_) | Kind::ThrottledReplicas | Kind::TextList)
    }
}

/// One documented setting. `default: None` is Kafka's "no default" (`log.retention.ms`:
/// the value then comes from the next synonym, `log.retention.hours`).
#[derive(Debug, Clone, Copy)]
pub struct Spec {
    pub name: &'static str,
    pub kind: Kind,
    pub default: Option<&'static str>,
    pub doc: &'static str,
}

impl Spec {
    pub const fn new(name: &'static str, kind: Kind, default: &'static str, doc: &'static str) -> Spec {
        Spec { name, kind, default: Some(default), doc }
    }

    /// A setting without a default of its own.
    pub const fn unset(name: &'static str, kind: Kind, doc: &'static str) -> Spec {
        Spec { name, kind, default: None, doc }
    }

    /// Checks `value` against the kind; the canonical text on success.
    pub fn validate(&self, value: &str) -> Result<String, ConfigError> {
        values::validate(self, value)
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
        Key::new(Spec::new(name, Kind::Long { min, max }, default, doc))
    }

    const fn int(name: &'static str, min: i64, max: i64, default: &'static str, doc: &'static str) -> Self {
        Key::new(Spec::new(name, Kind::Int { min, max }, default, doc))
    }
}

/// A broker setting a topic setting falls back to, with the factor that turns its unit
/// into the topic setting's (`log.retention.hours` × 3 600 000 → `retention.ms`).
#[derive(Debug, Clone, Copy)]
pub struct Synonym {
    pub name: &'static str,
    pub factor: i64,
}

impl Synonym {
    pub const fn of<T>(key: Key<T>) -> Synonym {
        Synonym { name: key.spec.name, factor: 1 }
    }

    pub const fn scaled<T>(key: Key<T>, factor: i64) -> Synonym {
        Synonym { name: key.spec.name, factor }
    }
}

/// A topic setting whose values are `T`, and the broker settings it falls back to, in
/// Kafka's order (the first one set wins). No synonyms: the topic default applies.
#[derive(Debug)]
pub struct TopicKey<T> {
    pub spec: Spec,
    pub synonyms: &'static [Synonym],
    value: PhantomData<fn() -> T>,
}

impl<T> Clone for TopicKey<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for TopicKey<T> {}

impl<T> TopicKey<T> {
    pub const fn new(spec: Spec, synonyms: &'static [Synonym]) -> Self {
        TopicKey { spec, synonyms, value: PhantomData }
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
        synonyms: &'static [Synonym],
    ) -> Self {
        TopicKey::new(Spec::new(name, Kind::Long { min, max }, default, doc), synonyms)
    }

    const fn int(
        name: &'static str,
        min: i64,
        max: i64,
        default: &'static str,
        doc: &'static str,
        synonyms: &'static [Synonym],
    ) -> Self {
        TopicKey::new(Spec::new(name, Kind::Int { min, max }, default, doc), synonyms)
    }
}

/// Where a setting's value came from, as DescribeConfigs reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfigSource {
    TopicOverride,
    /// Set at run time for this broker (resource name = node id).
    DynamicBroker,
    /// Set at run time for every broker (resource name "").
    DynamicDefault,
    BrokerStatic,
    Default,
    /// A group's own override (GROUP resources).
    GroupOverride,
}

impl ConfigSource {
    /// Kafka's ConfigSource id.
    pub fn kafka_id(self) -> i8 {
        match self {
            ConfigSource::TopicOverride => 1,
            ConfigSource::DynamicBroker => 2,
            ConfigSource::DynamicDefault => 3,
            ConfigSource::BrokerStatic => 4,
            ConfigSource::Default => 5,
            ConfigSource::GroupOverride => 8,
        }
    }
}

/// One synonym of a described setting: a value that was, or would be, used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfigSynonym {
    pub name: String,
    pub value: Option<String>,
    pub source: ConfigSource,
}

/// One described setting, as DescribeConfigs reports it.
#[derive(Debug, Clone, PartialEq)]
pub struct ConfigEntry {
    pub name: String,
    /// `None` for a broker setting with no value (`log.retention.ms` when unset).
    pub value: Option<String>,
    pub source: ConfigSource,
    /// In Kafka's order: the entry's own override first, then broker layers.
    pub synonyms: Vec<ConfigSynonym>,
    pub read_only: bool,
    pub kind: Kind,
    pub doc: &'static str,
}

impl ConfigEntry {
    /// Source from the first synonym, as Kafka's `ConfigHelper` does.
    pub(crate) fn from_synonyms(spec: &Spec, value: Option<String>, synonyms: Vec<ConfigSynonym>) -> ConfigEntry {
        let source = synonyms.first().map_or(ConfigSource::Default, |s| s.source);
        ConfigEntry {
            name: spec.name.into(),
            value,
            source,
            synonyms,
            read_only: false,
            kind: spec.kind,
            doc: spec.doc,
        }
    }
}

#[cfg(test)]
mod tests;
