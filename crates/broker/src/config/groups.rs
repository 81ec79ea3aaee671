//! A group's effective settings: its own values over the broker's `group.*` settings, and
//! Kafka's `GroupConfig.validate` checks against the broker's bounds.

use std::collections::BTreeMap;

use super::group_keys::{self, GROUP_SPECS};
use super::topic::{layered_value, TopicSpec};
use super::{keys, BrokerConfig, ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, SettingValue, TopicKey};

fn group_spec(name: &str) -> Option<&'static TopicSpec> {
    GROUP_SPECS.iter().find(|t| t.spec.name == name)
}

/// A group's effective settings.
#[derive(Debug, Clone)]
pub struct GroupConfig<'a> {
    pub overrides: &'a BTreeMap<String, String>,
    pub broker: &'a BrokerConfig,
}

/// What the group coordinator reads of a group's settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct GroupSettings {
    pub consumer_session_timeout_ms: i64,
    pub consumer_heartbeat_interval_ms: i64,
    pub share: ShareSettings,
}

/// A share group's settings (KIP-932), each its own value or the broker's default.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ShareSettings {
    pub session_timeout_ms: i64,
    pub heartbeat_interval_ms: i64,
    pub record_lock_duration_ms: i64,
    /// `share.auto.offset.reset=earliest`.
    pub start_at_earliest: bool,
    pub read_committed: bool,
    pub delivery_count_limit: i16,
    pub max_record_locks: usize,
}

impl GroupConfig<'_> {
    pub fn get<T: SettingValue>(&self, key: TopicKey<T>) -> T {
        T::from_validated(&key.spec, &layered_value(self.overrides, self.broker, &key.spec, key.synonyms))
    }

    pub fn settings(&self) -> GroupSettings {
        GroupSettings {
            consumer_session_timeout_ms: self.get(group_keys::CONSUMER_SESSION_TIMEOUT_MS),
            consumer_heartbeat_interval_ms: self.get(group_keys::CONSUMER_HEARTBEAT_INTERVAL_MS),
            share: ShareSettings {
                session_timeout_ms: self.get(group_keys::SHARE_SESSION_TIMEOUT_MS),
                heartbeat_interval_ms: self.get(group_keys::SHARE_HEARTBEAT_INTERVAL_MS),
                record_lock_duration_ms: self.get(group_keys::SHARE_RECORD_LOCK_DURATION_MS),
                start_at_earliest: self.get(group_keys::SHARE_AUTO_OFFSET_RESET) == "earliest",
                read_committed: self.get(group_keys::SHARE_ISOLATION_LEVEL) == "read_committed",
                delivery_count_limit: self.get(group_keys::SHARE_DELIVERY_COUNT_LIMIT) as i16,
                max_record_locks: self.get(group_keys::SHARE_PARTITION_MAX_RECORD_LOCKS) as usize,
            },
        }
    }

    /// The entry of `name`, with Kafka's synonyms: the group's own value, then the layers of
    /// its broker setting, or the group default where there is no broker setting.
    pub fn entry(&self, name: &str) -> Option<ConfigEntry> {
        let t = group_spec(name)?;
        let value = layered_value(self.overrides, self.broker, &t.spec, t.synonyms);
        let mut synonyms = match t.synonyms.first() {
            Some(s) => self.broker.synonyms(s.name),
            None => t
                .spec
                .default
                .map(|d| ConfigSynonym { name: name.into(), value: Some(d.into()), source: ConfigSource::Default })
                .into_iter()
                .collect(),
        };
        if let Some(v) = self.overrides.get(name) {
            synonyms.insert(
                0,
                ConfigSynonym { name: name.into(), value: Some(v.clone()), source: ConfigSource::GroupOverride },
            );
        }
        Some(ConfigEntry::from_synonyms(&t.spec, Some(value), synonyms))
    }

    pub fn entries(&self) -> Vec<ConfigEntry> {
        GROUP_SPECS.iter().filter_map(|t| self.entry(t.spec.name)).collect()
    }
}

/// Validates a group's settings as a whole (names, values, then Kafka's bounds against the
/// broker's `group.*.min/max` settings); the validated overrides on success.
pub fn validate_group_configs(
    configs: &BTreeMap<String, String>,
    broker: &BrokerConfig,
) -> Result<BTreeMap<String, String>, ConfigError> {
    let validated = configs
        .iter()
        .map(|(k, v)| {
            let t = group_spec(k).ok_or_else(|| ConfigError::UnknownGroupKey(k.clone()))?;
            Ok((k.clone(), t.spec.validate(v)?))
        })
        .collect::<Result<BTreeMap<_, _>, ConfigError>>()?;
    let group = GroupConfig { overrides: &validated, broker };
    let refuse = |setting: &str, relation: &str, bound: &str| {
        Err(ConfigError::Refused(format!("{setting} must be {relation} {bound}")))
    };
    let bounds = [
        (
            group_keys::CONSUMER_HEARTBEAT_INTERVAL_MS,
            keys::GROUP_CONSUMER_MIN_HEARTBEAT_INTERVAL_MS,
            keys::GROUP_CONSUMER_MAX_HEARTBEAT_INTERVAL_MS,
        ),
        (
            group_keys::CONSUMER_SESSION_TIMEOUT_MS,
            keys::GROUP_CONSUMER_MIN_SESSION_TIMEOUT_MS,
            keys::GROUP_CONSUMER_MAX_SESSION_TIMEOUT_MS,
        ),
        (
            group_keys::SHARE_HEARTBEAT_INTERVAL_MS,
            keys::GROUP_SHARE_MIN_HEARTBEAT_INTERVAL_MS,
            keys::GROUP_SHARE_MAX_HEARTBEAT_INTERVAL_MS,
        ),
        (
            group_keys::SHARE_SESSION_TIMEOUT_MS,
            keys::GROUP_SHARE_MIN_SESSION_TIMEOUT_MS,
            keys::GROUP_SHARE_MAX_SESSION_TIMEOUT_MS,
        ),
        (
            group_keys::SHARE_RECORD_LOCK_DURATION_MS,
            keys::GROUP_SHARE_MIN_RECORD_LOCK_DURATION_MS,
            keys::GROUP_SHARE_MAX_RECORD_LOCK_DURATION_MS,
        ),
    ];
    for (setting, min, max) in bounds {
        let value = group.get(setting);
        if value < broker.get(min) {
            return refuse(setting.name(), "greater than or equal to", min.name());
        }
        if value > broker.get(max) {
            return refuse(setting.name(), "less than or equal to", max.name());
        }
    }
    let pairs = [
        (group_keys::CONSUMER_SESSION_TIMEOUT_MS, group_keys::CONSUMER_HEARTBEAT_INTERVAL_MS),
        (group_keys::SHARE_SESSION_TIMEOUT_MS, group_keys::SHARE_HEARTBEAT_INTERVAL_MS),
    ];
    for (session, heartbeat) in pairs {
        if group.get(session) <= group.get(heartbeat) {
            return refuse(session.name(), "greater than", heartbeat.name());
        }
    }
    Ok(validated)
}
