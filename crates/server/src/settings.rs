//! The server's settings: a TOML file < `TIDELOG_*` environment < command-line flags.
//!
//! The file's top-level keys are the server's own (`data-dir`, `kafka-addr`,
//! `advertised-kafka-addr`, `kinesis-addr`, `admin-addr`, `registry-addr`); every other key is a broker setting under its Kafka name.
//! TOML turns `num.partitions = 3` into nested tables, so nested keys are joined back
//! with dots. `--set key=value` overrides the file. Unknown keys are errors.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use tidelog_broker::BrokerConfig;

pub const DEFAULT_DATA_DIR: &str = "./tidelog-data";
pub const DEFAULT_KAFKA_ADDR: &str = "127.0.0.1:9092";
pub const DEFAULT_KINESIS_ADDR: &str = "127.0.0.1:4567";
pub const DEFAULT_ADMIN_ADDR: &str = "127.0.0.1:9644";
pub const DEFAULT_REGISTRY_ADDR: &str = "127.0.0.1:8081";

#[derive(Debug, Clone)]
pub struct Settings {
    pub data_dir: PathBuf,
    pub kafka_addr: String,
    /// Host:port put in Metadata responses; defaults to the bound address.
    pub advertised_kafka_addr: Option<String>,
    /// Kinesis Data Streams (HTTP) listener address.
    pub kinesis_addr: String,
    /// Admin HTTP listener (metrics, health, JSON views); `None` when set to "off".
    pub admin_addr: Option<String>,
    /// Schema registry (Confluent REST API) listener; `None` when set to "off".
    pub registry_addr: Option<String>,
    pub broker: BrokerConfig,
}

/// Values given on the command line (or through the environment), before merging.
#[derive(Debug, Default, Clone)]
pub struct Overrides {
    pub config_file: Option<PathBuf>,
    pub data_dir: Option<PathBuf>,
    pub kafka_addr: Option<String>,
    pub advertised_kafka_addr: Option<String>,
    pub kinesis_addr: Option<String>,
    pub admin_addr: Option<String>,
    pub registry_addr: Option<String>,
    pub set: Vec<String>,
}

impl Settings {
    pub fn load(overrides: &Overrides) -> anyhow::Result<Settings> {
        let mut file = match &overrides.config_file {
            Some(path) => read_file(path)?,
            None => BTreeMap::new(),
        };
        let take = |file: &mut BTreeMap<String, String>, key: &str| file.remove(key);
        let data_dir = overrides
            .data_dir
            .clone()
            .or_else(|| take(&mut file, "data-dir").map(PathBuf::from))
            .unwrap_or_else(|| DEFAULT_DATA_DIR.into());
        let kafka_addr = overrides
            .kafka_addr
            .clone()
            .or_else(|| take(&mut file, "kafka-addr"))
            .unwrap_or_else(|| DEFAULT_KAFKA_ADDR.into());
        let advertised_kafka_addr =
            overrides.advertised_kafka_addr.clone().or_else(|| take(&mut file, "advertised-kafka-addr"));
        let kinesis_addr = overrides
            .kinesis_addr
            .clone()
            .or_else(|| take(&mut file, "kinesis-addr"))
            .unwrap_or_else(|| DEFAULT_KINESIS_ADDR.into());
        let admin_addr = overrides
            .admin_addr
            .clone()
            .or_else(|| take(&mut file, "admin-addr"))
            .unwrap_or_else(|| DEFAULT_ADMIN_ADDR.into());
        let admin_addr = (admin_addr != "off").then_some(admin_addr);
        let registry_addr = overrides
            .registry_addr
            .clone()
            .or_else(|| take(&mut file, "registry-addr"))
            .unwrap_or_else(|| DEFAULT_REGISTRY_ADDR.into());
        let registry_addr = (registry_addr != "off").then_some(registry_addr);
        let mut broker_settings = file;
        for pair in &overrides.set {
            let Some((key, value)) = pair.split_once('=') else {
                bail!("--set expects key=value, got '{pair}'");
            };
            broker_settings.insert(key.trim().to_string(), value.trim().to_string());
        }
        let broker = BrokerConfig::from_pairs(&broker_settings).context("invalid broker setting")?;
        Ok(Settings { data_dir, kafka_addr, advertised_kafka_addr, kinesis_addr, admin_addr, registry_addr, broker })
    }
}

fn read_file(path: &Path) -> anyhow::Result<BTreeMap<String, String>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("cannot read config file {}", path.display()))?;
    let table: toml::Table =
        text.parse().with_context(|| format!("config file {} is not valid TOML", path.display()))?;
    let mut flat = BTreeMap::new();
    flatten("", &toml::Value::Table(table), &mut flat).with_context(|| format!("in config file {}", path.display()))?;
    Ok(flat)
}

fn flatten(prefix: &str, value: &toml::Value, out: &mut BTreeMap<String, String>) -> anyhow::Result<()> {
    match value {
        toml::Value::Table(t) => {
            for (k, v) in t {
                let key = if prefix.is_empty() { k.clone() } else { format!("{prefix}.{k}") };
                flatten(&key, v, out)?;
            }
        }
        toml::Value::String(s) => {
            out.insert(prefix.to_string(), s.clone());
        }
        toml::Value::Integer(_) | toml::Value::Boolean(_) | toml::Value::Float(_) => {
            out.insert(prefix.to_string(), value.to_string());
        }
        other => bail!("setting '{prefix}' has unsupported type {}", other.type_str()),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("tidelog.toml");
        std::fs::write(&path, text).unwrap();
        (dir, path)
    }

    #[test]
    fn file_flags_and_dotted_keys_merge() {
        let (_d, path) = file("data-dir = \"/tmp/x\"\nnum.partitions = 3\n\"log.segment.bytes\" = 2048\n");
        let s = Settings::load(&Overrides {
            config_file: Some(path),
            set: vec!["num.partitions=5".into()],
            ..Default::default()
        })
        .unwrap();
        assert_eq!(s.data_dir, PathBuf::from("/tmp/x"));
        use tidelog_broker::config::keys;
        assert_eq!(s.broker.get(keys::NUM_PARTITIONS), 5);
        assert_eq!(s.broker.get(keys::LOG_SEGMENT_BYTES), 2048);
        assert_eq!(s.kafka_addr, DEFAULT_KAFKA_ADDR);
    }

    #[test]
    fn unknown_keys_are_named() {
        let (_d, path) = file("num.partitons = 3\n");
        let err = Settings::load(&Overrides { config_file: Some(path), ..Default::default() }).unwrap_err();
        assert!(format!("{err:#}").contains("unknown setting 'num.partitons'"), "{err:#}");
        let err = Settings::load(&Overrides { set: vec!["nope".into()], ..Default::default() }).unwrap_err();
        assert!(err.to_string().contains("key=value"));
    }
}
