//! The metadata image: what the committed events add up to. Only ever changed by applying
//! an event, so replay at start and live operation cannot diverge.

use std::collections::{BTreeMap, HashMap};

use uuid::Uuid;

use super::events::LEGACY_STREAM_NAMESPACE;
use super::{MetadataEvent, TopicMeta};

#[derive(Debug, Default, Clone)]
pub struct MetadataState {
    pub cluster_id: String,
    pub topics: BTreeMap<String, TopicMeta>,
    pub topic_names_by_id: HashMap<Uuid, String>,
    /// First producer id not yet reserved.
    pub next_producer_id: i64,
    pub client_quotas: crate::quotas::ClientQuotaImage,
    /// Dynamic broker config layers by resource name ("" or a node id).
    pub broker_configs: BTreeMap<String, BTreeMap<String, String>>,
    /// Groups' own configs, by group id.
    pub group_configs: BTreeMap<String, BTreeMap<String, String>>,
}

impl MetadataState {
    pub fn apply(&mut self, event: &MetadataEvent) {
        match event {
            MetadataEvent::ClusterCreated { cluster_id } => self.cluster_id = cluster_id.clone(),
            MetadataEvent::TopicCreated { name, topic_id, partitions, configs, attributes } => {
                self.topic_names_by_id.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    TopicMeta {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: *partitions,
                        configs: configs.clone(),
                        attributes: attributes.clone(),
                        sealed: BTreeMap::new(),
                    },
                );
            }
            MetadataEvent::PartitionsAdded { name, partitions } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions = *partitions;
                }
            }
            MetadataEvent::TopicConfigsChanged { name, configs } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.configs = configs.clone();
                }
            }
            MetadataEvent::TopicAttributeChanged { name, namespace, value } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.attributes.insert(namespace.clone(), value.clone());
                }
            }
            MetadataEvent::TopicReshaped { name, partitions, sealed, attributes } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions = *partitions;
                    t.sealed.extend(sealed.iter().map(|(p, s)| (*p, *s)));
                    t.attributes.extend(attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
                }
            }
            MetadataEvent::StreamSettingsChanged { name, settings } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.attributes.insert(LEGACY_STREAM_NAMESPACE.into(), settings.clone());
                }
            }
            MetadataEvent::StreamResharded { name, partitions, settings } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions = *partitions;
                    t.attributes.insert(LEGACY_STREAM_NAMESPACE.into(), settings.clone());
                }
            }
            MetadataEvent::BrokerConfigsChanged { resource, configs } => {
                replace_or_remove(&mut self.broker_configs, resource, configs)
            }
            MetadataEvent::GroupConfigsChanged { group, configs } => {
                replace_or_remove(&mut self.group_configs, group, configs)
            }
            MetadataEvent::ProducerIdsReserved { next } => self.next_producer_id = self.next_producer_id.max(*next),
            MetadataEvent::ClientQuotasAltered { changes } => changes.iter().for_each(|c| self.client_quotas.apply(c)),
            MetadataEvent::TopicDeleted { name } => {
                if let Some(t) = self.topics.remove(name) {
                    self.topic_names_by_id.remove(&t.topic_id);
                }
            }
        }
    }
}

fn replace_or_remove(
    map: &mut BTreeMap<String, BTreeMap<String, String>>,
    key: &str,
    configs: &BTreeMap<String, String>,
) {
    if configs.is_empty() {
        map.remove(key);
    } else {
        map.insert(key.to_string(), configs.clone());
    }
}
