//! Configs changed at run time: dynamic broker layers (KIP-226; BROKER resources, "" for
//! every broker, the node id for this one) and groups' own configs (GROUP resources). Each
//! change is validated as a whole, committed as one metadata event and replayed at start;
//! topics without their own values follow a changed broker default at once.

use std::collections::BTreeMap;

use tracing::info;

use crate::access::{Operation, RequestContext, Resource};
use crate::admin::ConfigChange;
use crate::broker::Broker;
use crate::config::group_keys::GROUP_SPECS;
use crate::config::{
    validate_group_configs, BrokerConfig, ConfigEntry, DynamicLayer, GroupConfig, GroupSettings, BROKER_SPECS,
};
use crate::config_change::apply_changes;
use crate::error::{BrokerError, Result};
use crate::metadata::MetadataEvent;

impl Broker {
    /// Which layer the BROKER resource `name` is, as Kafka checks it.
    pub fn broker_config_layer(&self, name: &str) -> Result<DynamicLayer> {
        if name.is_empty() {
            return Ok(DynamicLayer::ClusterDefault);
        }
        let id: i32 = name
            .parse()
            .map_err(|_| BrokerError::InvalidRequest(format!("Node id must be an integer, but it is: {name}")))?;
        if id != self.node_id() {
            return Err(BrokerError::InvalidRequest(format!(
                "Unexpected broker id, expected {}, but received {name}",
                self.node_id()
            )));
        }
        Ok(DynamicLayer::Node)
    }

    /// DescribeConfigs of a BROKER resource; `runtime` holds what the front-end knows of
    /// reported-only settings (the listeners it serves).
    pub fn broker_config_entries(
        &self,
        ctx: &RequestContext,
        layer: DynamicLayer,
        mut runtime: BTreeMap<&'static str, String>,
    ) -> Result<Vec<ConfigEntry>> {
        self.authorize(ctx, Operation::DescribeConfigs, Resource::Cluster)?;
        runtime.insert("broker.id", self.node_id().to_string());
        runtime.insert("process.roles", "broker,controller".into());
        if let Some(dir) = self.data_dir() {
            runtime.insert("log.dirs", dir.display().to_string());
        }
        Ok(self.config.entries(layer, &runtime))
    }

    /// AlterConfigs / IncrementalAlterConfigs of a BROKER resource. Refusals are
    /// INVALID_REQUEST, as Kafka answers them (KAFKA-13609).
    pub fn alter_broker_configs(
        &self,
        ctx: &RequestContext,
        layer: DynamicLayer,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<()> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Cluster)?;
        let _guard = self.admin_lock.lock();
        let current = self.config.dynamic(layer);
        let mut configs = current.clone();
        apply_changes(&mut configs, changes, |k| BROKER_SPECS.iter().find(|s| s.name == k))?;
        let configs =
            BrokerConfig::validate_dynamic(&configs).map_err(|e| BrokerError::InvalidRequest(e.to_string()))?;
        if validate_only || configs == current {
            return Ok(());
        }
        let resource = match layer {
            DynamicLayer::ClusterDefault => String::new(),
            DynamicLayer::Node => self.node_id().to_string(),
        };
        self.commit_event(MetadataEvent::BrokerConfigsChanged { resource: resource.clone(), configs })?;
        self.refresh_dynamic_config();
        self.reopen_topics_for_new_defaults()?;
        info!(resource = %resource, "changed dynamic broker configs");
        Ok(())
    }

    /// Puts the committed dynamic layers in force (after a change, and at start before the
    /// topics open).
    pub(crate) fn refresh_dynamic_config(&self) {
        let metadata = self.metadata.read();
        let layer = |name: &str| metadata.broker_configs.get(name).cloned().unwrap_or_default();
        self.config.set_dynamic(layer(""), layer(&self.node_id().to_string()));
    }

    /// The settings the group coordinator uses for `group_id`: its own, else the broker's.
    pub fn group_config(&self, group_id: &str) -> GroupSettings {
        let metadata = self.metadata.read();
        let empty = BTreeMap::new();
        let overrides = metadata.group_configs.get(group_id).unwrap_or(&empty);
        GroupConfig { overrides, broker: &self.config }.settings()
    }

    /// Groups with configs of their own, by id (ListConfigResources lists them even when
    /// the group has no members, KIP-1142).
    pub fn groups_with_configs(&self) -> Vec<String> {
        self.metadata.read().group_configs.keys().cloned().collect()
    }

    pub fn group_config_entries(&self, ctx: &RequestContext, group_id: &str) -> Result<Vec<ConfigEntry>> {
        self.authorize(ctx, Operation::DescribeConfigs, Resource::Group(group_id))?;
        require_group_name(group_id)?;
        let metadata = self.metadata.read();
        let empty = BTreeMap::new();
        let overrides = metadata.group_configs.get(group_id).unwrap_or(&empty);
        Ok(GroupConfig { overrides, broker: &self.config }.entries())
    }

    /// AlterConfigs / IncrementalAlterConfigs of a GROUP resource; the group need not exist.
    pub fn alter_group_configs(
        &self,
        ctx: &RequestContext,
        group_id: &str,
        changes: &[ConfigChange],
        validate_only: bool,
    ) -> Result<()> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Group(group_id))?;
        require_group_name(group_id)?;
        let _guard = self.admin_lock.lock();
        let current = self.metadata.read().group_configs.get(group_id).cloned().unwrap_or_default();
        let mut configs = current.clone();
        apply_changes(&mut configs, changes, |k| GROUP_SPECS.iter().find(|t| t.spec.name == k).map(|t| &t.spec))?;
        let configs = validate_group_configs(&configs, &self.config)?;
        if validate_only || configs == current {
            return Ok(());
        }
        self.commit_event(MetadataEvent::GroupConfigsChanged { group: group_id.into(), configs })?;
        info!(group = %group_id, "changed group configs");
        Ok(())
    }
}

fn require_group_name(group_id: &str) -> Result<()> {
    if group_id.is_empty() {
        return Err(BrokerError::InvalidRequest("Group name must not be empty".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::admin::NewTopic;
    use crate::config::ConfigSource;

    fn set(k: &str, v: &str) -> ConfigChange {
        ConfigChange::Set(k.into(), v.into())
    }

    #[test]
    fn a_dynamic_default_reaches_topics_without_their_own_value() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let ctx = RequestContext::local();
        broker.create_topic(&ctx, NewTopic { name: "plain".into(), ..Default::default() }, false).unwrap();
        let own = [("max.message.bytes".to_string(), "2048".to_string())].into();
        broker.create_topic(&ctx, NewTopic { name: "own".into(), configs: own, ..Default::default() }, false).unwrap();
        broker
            .alter_broker_configs(
                &ctx,
                DynamicLayer::ClusterDefault,
                &[set("message.max.bytes", "512"), set("log.retention.ms", "60000")],
                false,
            )
            .unwrap();
        assert_eq!(broker.topic("plain").unwrap().limits.max_message_bytes, 512);
        assert_eq!(broker.topic("plain").unwrap().retention.ms, Some(60_000));
        assert_eq!(broker.topic("own").unwrap().limits.max_message_bytes, 2048, "the topic's own value stays");
        broker.alter_broker_configs(&ctx, DynamicLayer::Node, &[set("message.max.bytes", "1024")], false).unwrap();
        assert_eq!(broker.topic("plain").unwrap().limits.max_message_bytes, 1024, "per-broker beats cluster default");
        let entries = broker.broker_config_entries(&ctx, DynamicLayer::Node, BTreeMap::new()).unwrap();
        let max = entries.iter().find(|e| e.name == "message.max.bytes").unwrap();
        assert_eq!((max.value.as_deref(), max.source), (Some("1024"), ConfigSource::DynamicBroker));
        let err =
            broker.alter_broker_configs(&ctx, DynamicLayer::Node, &[set("num.partitions", "4")], false).unwrap_err();
        assert!(
            matches!(&err, BrokerError::InvalidRequest(m) if m == "Cannot update these configs dynamically: [num.partitions]"),
            "{err}"
        );
        broker
            .alter_broker_configs(&ctx, DynamicLayer::Node, &[ConfigChange::Delete("message.max.bytes".into())], false)
            .unwrap();
        assert_eq!(broker.topic("plain").unwrap().limits.max_message_bytes, 512);
        assert!(matches!(broker.broker_config_layer("7"), Err(BrokerError::InvalidRequest(_))));
    }

    #[test]
    fn dynamic_configs_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RequestContext::local();
        {
            let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
            broker.create_topic(&ctx, NewTopic { name: "t".into(), ..Default::default() }, false).unwrap();
            broker
                .alter_broker_configs(&ctx, DynamicLayer::ClusterDefault, &[set("log.segment.bytes", "4096")], false)
                .unwrap();
            broker.alter_group_configs(&ctx, "g", &[set("consumer.session.timeout.ms", "50000")], false).unwrap();
            broker.shutdown().unwrap();
        }
        let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        assert_eq!(broker.config().dynamic(DynamicLayer::ClusterDefault)["log.segment.bytes"], "4096");
        assert_eq!(broker.group_config("g").consumer_session_timeout_ms, 50_000);
        assert_eq!(broker.group_config("other").consumer_session_timeout_ms, 45_000);
        assert_eq!(broker.groups_with_configs(), ["g"]);
        let err =
            broker.alter_group_configs(&ctx, "g", &[set("consumer.session.timeout.ms", "10")], false).unwrap_err();
        assert!(matches!(err, BrokerError::InvalidConfig(_)), "{err}");
        broker.shutdown().unwrap();
    }
}
