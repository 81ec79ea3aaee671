//! The broker's settings in Kafka's layers: dynamic for this broker, dynamic for every
//! broker (the cluster default), static (config file, `--set`), then the default. The
//! static layer is fixed at start; the dynamic ones are replaced from the metadata log
//! (AlterConfigs on BROKER resources), so a value read through a key is always current.
//! Synonyms and sources are computed here as Kafka's `ConfigHelper` computes them.

use std::collections::BTreeMap;

use parking_lot::RwLock;

use super::{
    ConfigEntry, ConfigError, ConfigSource, ConfigSynonym, Key, SettingValue, Spec, Synonym, BROKER_SPECS,
    REPORTED_SPECS, TOPIC_SPECS,
};

/// Which dynamic layer a BROKER resource names: "" is every broker, a node id this one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DynamicLayer {
    ClusterDefault,
    Node,
}

#[derive(Debug, Clone, Default)]
struct Layers {
    cluster: BTreeMap<String, String>,
    node: BTreeMap<String, String>,
}

/// Validated broker settings: the layers above the defaults.
#[derive(Debug, Default)]
pub struct BrokerConfig {
    explicit: BTreeMap<String, String>,
    dynamic: RwLock<Layers>,
}

impl Clone for BrokerConfig {
    fn clone(&self) -> Self {
        BrokerConfig { explicit: self.explicit.clone(), dynamic: RwLock::new(self.dynamic.read().clone()) }
    }
}

/// Whether Kafka changes the setting at run time. tidelog's dynamic settings are the
/// topic defaults (Kafka's `DynamicLogConfig`: the first synonym of each topic setting),
/// which every topic without its own value follows at once.
pub fn is_dynamic(name: &str) -> bool {
    TOPIC_SPECS.iter().any(|t| t.synonyms.first().is_some_and(|s| s.name == name))
}

/// The broker settings that stand for one another, in Kafka's order
/// (`DynamicBrokerConfig.brokerConfigSynonyms`): `log.retention.ms`, `.minutes`, `.hours`.
pub fn broker_synonym_chain(name: &str) -> Vec<&'static str> {
    const CHAINS: &[&[&str]] = &[
        &["log.roll.ms", "log.roll.hours"],
        &["log.roll.jitter.ms", "log.roll.jitter.hours"],
        &["log.retention.ms", "log.retention.minutes", "log.retention.hours"],
    ];
    if name == "log.flush.interval.ms" {
        return vec!["log.flush.interval.ms", "log.flush.scheduler.interval.ms"];
    }
    if let Some(chain) = CHAINS.iter().find(|c| c.contains(&name)) {
        return chain.to_vec();
    }
    BROKER_SPECS.iter().chain(REPORTED_SPECS).find(|s| s.name == name).map(|s| vec![s.name]).unwrap_or_default()
}

fn spec(name: &str) -> Option<&'static Spec> {
    BROKER_SPECS.iter().find(|s| s.name == name)
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
            let spec = spec(key).ok_or_else(|| ConfigError::UnknownKey(key.into()))?;
            explicit.insert(key.to_string(), spec.validate(v.as_ref())?);
        }
        Ok(BrokerConfig { explicit, dynamic: RwLock::default() })
    }

    /// A setting's value.
    pub fn get<T: SettingValue>(&self, key: Key<T>) -> T {
        T::from_validated(&key.spec, self.value_of(&key.spec).0.as_deref().unwrap_or_default())
    }

    /// The value from the highest layer that sets `name`, and that layer.
    fn layered(&self, name: &str) -> Option<(String, ConfigSource)> {
        let dynamic = self.dynamic.read();
        dynamic
            .node
            .get(name)
            .map(|v| (v.clone(), ConfigSource::DynamicBroker))
            .or_else(|| dynamic.cluster.get(name).map(|v| (v.clone(), ConfigSource::DynamicDefault)))
            .or_else(|| self.explicit.get(name).map(|v| (v.clone(), ConfigSource::BrokerStatic)))
    }

    /// The value (validated text; `None` for a setting without a default) and its source.
    fn value_of(&self, spec: &Spec) -> (Option<String>, ConfigSource) {
        match self.layered(spec.name) {
            Some((v, source)) => (Some(v), source),
            None => (spec.default.map(str::to_string), ConfigSource::Default),
        }
    }

    /// The value and source of the broker setting called `name`; `None` for a name that is
    /// not one.
    pub fn lookup(&self, name: &str) -> Option<(Option<String>, ConfigSource)> {
        spec(name).map(|s| self.value_of(s))
    }

    /// What a topic or group setting without its own value takes from `synonyms`: the first
    /// one set in any layer, else the first one with a default, in the setting's unit.
    pub(crate) fn resolve(&self, synonyms: &[Synonym]) -> Option<String> {
        let scaled = |s: &Synonym, v: String| match (s.factor, v.parse::<i64>()) {
            (1, _) | (_, Err(_)) => v,
            // Kafka: a negative retention in minutes or hours is "keep forever" (-1 ms).
            (_, Ok(n)) if n < 0 => "-1".to_string(),
            (factor, Ok(n)) => n.saturating_mul(factor).to_string(),
        };
        synonyms
            .iter()
            .find_map(|s| self.layered(s.name).map(|(v, _)| scaled(s, v)))
            .or_else(|| synonyms.iter().find_map(|s| spec(s.name)?.default.map(|d| scaled(s, d.to_string()))))
    }

    /// Kafka's synonyms of broker setting `name`: every layer that sets a setting of its
    /// chain, highest layer first, starting at `name` itself.
    pub fn synonyms(&self, name: &str) -> Vec<ConfigSynonym> {
        let chain = broker_synonym_chain(name);
        let dynamic = self.dynamic.read();
        let defaults: BTreeMap<String, String> = chain
            .iter()
            .filter_map(|n| spec(n).and_then(|s| s.default).map(|d| (n.to_string(), d.to_string())))
            .collect();
        let layers = [
            (&dynamic.node, ConfigSource::DynamicBroker),
            (&dynamic.cluster, ConfigSource::DynamicDefault),
            (&self.explicit, ConfigSource::BrokerStatic),
            (&defaults, ConfigSource::Default),
        ];
        let mut all = Vec::new();
        for (values, source) in layers {
            for n in &chain {
                if let Some(v) = values.get(*n) {
                    all.push(ConfigSynonym { name: n.to_string(), value: Some(v.clone()), source });
                }
            }
        }
        // As Kafka: describing log.retention.hours does not list log.retention.ms's values.
        all.into_iter().skip_while(|s| s.name != name).collect()
    }

    /// The entry of a broker setting. For the cluster-default resource only its own
    /// layer counts, as in Kafka.
    fn entry(&self, spec: &Spec, layer: DynamicLayer) -> ConfigEntry {
        let mut synonyms = self.synonyms(spec.name);
        let value = match layer {
            DynamicLayer::Node => self.value_of(spec).0,
            DynamicLayer::ClusterDefault => {
                synonyms.retain(|s| s.source == ConfigSource::DynamicDefault);
                self.dynamic.read().cluster.get(spec.name).cloned()
            }
        };
        ConfigEntry { read_only: !is_dynamic(spec.name), ..ConfigEntry::from_synonyms(spec, value, synonyms) }
    }

    /// DescribeConfigs of a BROKER resource. For this node: every setting, real and
    /// reported-only, with `runtime` giving what the running broker has for the latter
    /// (listeners, log.dirs). For the cluster default: the settings set there.
    pub fn entries(&self, layer: DynamicLayer, runtime: &BTreeMap<&str, String>) -> Vec<ConfigEntry> {
        if layer == DynamicLayer::ClusterDefault {
            let names: Vec<String> = self.dynamic.read().cluster.keys().cloned().collect();
            return names.iter().filter_map(|n| spec(n)).map(|s| self.entry(s, layer)).collect();
        }
        let reported = REPORTED_SPECS.iter().map(|spec| {
            let synonym =
                |value: &str, source| ConfigSynonym { name: spec.name.into(), value: Some(value.into()), source };
            let synonyms: Vec<ConfigSynonym> = match runtime.get(spec.name) {
                Some(v) => vec![synonym(v, ConfigSource::BrokerStatic)],
                None => spec.default.map(|d| synonym(d, ConfigSource::Default)).into_iter().collect(),
            };
            let value = synonyms.first().and_then(|s| s.value.clone());
            ConfigEntry { read_only: true, ..ConfigEntry::from_synonyms(spec, value, synonyms) }
        });
        BROKER_SPECS.iter().map(|s| self.entry(s, layer)).chain(reported).collect()
    }

    /// The settings of a dynamic layer, as persisted.
    pub fn dynamic(&self, layer: DynamicLayer) -> BTreeMap<String, String> {
        let dynamic = self.dynamic.read();
        match layer {
            DynamicLayer::ClusterDefault => dynamic.cluster.clone(),
            DynamicLayer::Node => dynamic.node.clone(),
        }
    }

    /// Replaces both dynamic layers (from the metadata image).
    pub(crate) fn set_dynamic(&self, cluster: BTreeMap<String, String>, node: BTreeMap<String, String>) {
        *self.dynamic.write() = Layers { cluster, node };
    }

    /// Validates a dynamic layer as Kafka's `DynamicBrokerConfig.validateConfigs` does:
    /// only settings changeable at run time, each with a valid value.
    pub fn validate_dynamic(configs: &BTreeMap<String, String>) -> Result<BTreeMap<String, String>, ConfigError> {
        let fixed: Vec<&str> = configs.keys().map(String::as_str).filter(|k| !is_dynamic(k)).collect();
        if !fixed.is_empty() {
            return Err(ConfigError::Refused(format!(
                "Cannot update these configs dynamically: [{}]",
                fixed.join(", ")
            )));
        }
        configs
            .iter()
            .map(|(k, v)| {
                let spec = spec(k).ok_or_else(|| ConfigError::UnknownKey(k.clone()))?;
                Ok((k.clone(), spec.validate(v)?))
            })
            .collect()
    }

    pub fn node_id(&self) -> i32 {
        self.get(super::keys::NODE_ID) as i32
    }
}
