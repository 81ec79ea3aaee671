//! A topic's effective settings: its overrides over its broker synonyms, and the checks
//! Kafka's `LogConfig.validate` makes of a topic's overrides.

use std::collections::BTreeMap;

use super::{
    BrokerConfig, ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, SettingValue, Spec, Synonym, TopicKey,
    TOPIC_SPECS,
};

/// A topic (or group) setting and the broker settings it falls back to.
#[derive(Debug, Clone, Copy)]
pub struct TopicSpec {
    pub spec: Spec,
    pub synonyms: &'static [Synonym],
}

fn topic_spec(name: &str) -> Option<&'static TopicSpec> {
    TOPIC_SPECS.iter().find(|t| t.spec.name == name)
}

/// Validates topic overrides (CreateTopics, AlterConfigs): known names, valid values, and
/// no tiered storage asked for.
pub fn validate_topic_configs(configs: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
    let validated = configs
        .iter()
        .map(|(k, v)| {
            let t = topic_spec(k).ok_or_else(|| ConfigError::UnknownTopicKey(k.clone()))?;
            Ok((k.clone(), t.spec.validate(v)?))
        })
        .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
    if validated.get(super::topic_keys::REMOTE_STORAGE_ENABLE.name()).is_some_and(|v| v == "true") {
        return Err(ConfigError::Refused(
            "Tiered Storage functionality is disabled in the broker. Topic cannot be configured with remote log storage."
                .into(),
        ));
    }
    Ok(validated)
}

/// A topic's effective settings: its overrides over the broker's values.
#[derive(Debug, Clone)]
pub struct TopicConfig<'a> {
    pub overrides: &'a BTreeMap<String, String>,
    pub broker: &'a BrokerConfig,
}

/// The value of a setting: the override, else what the broker synonyms give, else the
/// setting's own default.
pub(crate) fn layered_value(
    overrides: &BTreeMap<String, String>,
    broker: &BrokerConfig,
    spec: &Spec,
    synonyms: &[Synonym],
) -> String {
    overrides
        .get(spec.name)
        .cloned()
        .or_else(|| broker.resolve(synonyms))
        .or_else(|| spec.default.map(str::to_string))
        .unwrap_or_default()
}

impl TopicConfig<'_> {
    /// A setting's effective value.
    pub fn get<T: SettingValue>(&self, key: TopicKey<T>) -> T {
        T::from_validated(&key.spec, &layered_value(self.overrides, self.broker, &key.spec, key.synonyms))
    }

    /// The entry of the setting called `name`, for listings by name (DescribeConfigs), with
    /// Kafka's synonyms: the topic's override, then the layers of its first broker synonym's
    /// chain. `None` for a name that is not a topic setting.
    pub fn entry(&self, name: &str) -> Option<ConfigEntry> {
        let t = topic_spec(name)?;
        let value = layered_value(self.overrides, self.broker, &t.spec, t.synonyms);
        let mut synonyms: Vec<ConfigSynonym> =
            t.synonyms.first().map(|s| self.broker.synonyms(s.name)).unwrap_or_default();
        if let Some(v) = self.overrides.get(name) {
            synonyms.insert(
                0,
                ConfigSynonym { name: name.into(), value: Some(v.clone()), source: ConfigSource::TopicOverride },
            );
        }
        Some(ConfigEntry::from_synonyms(&t.spec, Some(value), synonyms))
    }

    pub fn entries(&self) -> Vec<ConfigEntry> {
        TOPIC_SPECS.iter().filter_map(|t| self.entry(t.spec.name)).collect()
    }

    /// Kafka's `LogConfig.validateValues`: checks across settings, on effective values.
    pub fn check_consistency(&self) -> Result<(), ConfigError> {
        let min = self.get(super::topic_keys::MIN_COMPACTION_LAG_MS);
        let max = self.get(super::topic_keys::MAX_COMPACTION_LAG_MS);
        if min > max {
            return Err(ConfigError::Refused(format!(
                "conflict topic config setting min.compaction.lag.ms ({min}) > max.compaction.lag.ms ({max})"
            )));
        }
        Ok(())
    }
}
