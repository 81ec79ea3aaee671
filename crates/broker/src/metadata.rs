//! Cluster metadata as a sequence of events applied to an in-memory state machine.
//!
//! On one node the events are persisted to a local append-only file (length, CRC32C,
//! JSON per record), replayed on start; a torn last record is dropped. In a cluster the
//! same events will travel through a Raft log instead. The state is only ever changed by
//! applying an event, so replay and live operation cannot diverge.

use std::collections::{BTreeMap, HashMap};
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{BrokerError, Result};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum MetadataEvent {
    ClusterCreated {
        cluster_id: String,
    },
    TopicCreated {
        name: String,
        topic_id: Uuid,
        partitions: u32,
        configs: BTreeMap<String, String>,
    },
    PartitionsAdded {
        name: String,
        partitions: u32,
    },
    TopicDeleted {
        name: String,
    },
    /// A topic's overrides replaced as a whole (AlterConfigs, IncrementalAlterConfigs).
    TopicConfigsChanged {
        name: String,
        configs: BTreeMap<String, String>,
    },
    /// Producer ids below `next` are handed out (or reserved): never reused.
    ProducerIdsReserved {
        next: i64,
    },
    /// A topic's Kinesis view (mode, tags, encryption...) replaced as a whole.
    StreamSettingsChanged {
        name: String,
        settings: crate::streams::StreamSettings,
    },
    /// Shards closed and child partitions added, in one event so that a crash never
    /// leaves half a reshard.
    StreamResharded {
        name: String,
        partitions: u32,
        settings: crate::streams::StreamSettings,
    },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TopicMeta {
    pub name: String,
    pub topic_id: Uuid,
    pub partitions: u32,
    pub configs: BTreeMap<String, String>,
    /// Set once the topic is created or changed as a Kinesis stream.
    pub stream: Option<crate::streams::StreamSettings>,
}

#[derive(Debug, Default, Clone)]
pub struct MetadataState {
    pub cluster_id: String,
    pub topics: BTreeMap<String, TopicMeta>,
    pub topic_names_by_id: HashMap<Uuid, String>,
    /// First producer id not yet reserved.
    pub next_producer_id: i64,
}

impl MetadataState {
    pub fn apply(&mut self, event: &MetadataEvent) {
        match event {
            MetadataEvent::ClusterCreated { cluster_id } => self.cluster_id = cluster_id.clone(),
            MetadataEvent::TopicCreated { name, topic_id, partitions, configs } => {
                self.topic_names_by_id.insert(*topic_id, name.clone());
                self.topics.insert(
                    name.clone(),
                    TopicMeta {
                        name: name.clone(),
                        topic_id: *topic_id,
                        partitions: *partitions,
                        configs: configs.clone(),
                        stream: None,
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
            MetadataEvent::StreamSettingsChanged { name, settings } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.stream = Some(settings.clone());
                }
            }
            MetadataEvent::StreamResharded { name, partitions, settings } => {
                if let Some(t) = self.topics.get_mut(name) {
                    t.partitions = *partitions;
                    t.stream = Some(settings.clone());
                }
            }
            MetadataEvent::ProducerIdsReserved { next } => self.next_producer_id = self.next_producer_id.max(*next),
            MetadataEvent::TopicDeleted { name } => {
                if let Some(t) = self.topics.remove(name) {
                    self.topic_names_by_id.remove(&t.topic_id);
                }
            }
        }
    }
}

/// The append-only event file.
#[derive(Debug)]
pub struct MetadataLog {
    path: PathBuf,
    file: File,
}

impl MetadataLog {
    /// Opens the file and replays it. Returns the log and the events in order.
    pub fn open(dir: &Path) -> Result<(Self, Vec<MetadataEvent>)> {
        let io = |e: std::io::Error| BrokerError::Storage(format!("metadata log in {}: {e}", dir.display()));
        std::fs::create_dir_all(dir).map_err(io)?;
        let path = dir.join("events.log");
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(io)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (events, valid_len) = decode_events(&bytes);
        if valid_len < bytes.len() {
            tracing::warn!(path = %path.display(), valid_len, total = bytes.len(), "truncating torn metadata log tail");
            file.set_len(valid_len as u64).map_err(io)?;
        }
        Ok((MetadataLog { path, file }, events))
    }

    /// Appends and fsyncs one event: metadata changes are rare and must not be lost.
    pub fn append(&mut self, event: &MetadataEvent) -> Result<()> {
        let json = serde_json::to_vec(event).map_err(|e| BrokerError::Storage(e.to_string()))?;
        let mut record = Vec::with_capacity(json.len() + 8);
        record.extend_from_slice(&(json.len() as u32).to_be_bytes());
        record.extend_from_slice(&crc32c::crc32c(&json).to_be_bytes());
        record.extend_from_slice(&json);
        let io = |e: std::io::Error| BrokerError::Storage(format!("metadata log {}: {e}", self.path.display()));
        self.file.write_all(&record).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// Decodes whole, CRC-valid records; returns them and the length of the valid prefix.
fn decode_events(bytes: &[u8]) -> (Vec<MetadataEvent>, usize) {
    let mut events = Vec::new();
    let mut pos = 0;
    while bytes.len() - pos >= 8 {
        let len = u32::from_be_bytes([bytes[pos], bytes[pos + 1], bytes[pos + 2], bytes[pos + 3]]) as usize;
        let crc = u32::from_be_bytes([bytes[pos + 4], bytes[pos + 5], bytes[pos + 6], bytes[pos + 7]]);
        let Some(body) = bytes.get(pos + 8..pos + 8 + len) else {
            break;
        };
        if crc32c::crc32c(body) != crc {
            break;
        }
        match serde_json::from_slice(body) {
            Ok(event) => events.push(event),
            Err(_) => break,
        }
        pos += 8 + len;
    }
    (events, pos)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn replays_events_and_drops_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let created = MetadataEvent::TopicCreated {
            name: "t".into(),
            topic_id: Uuid::new_v4(),
            partitions: 2,
            configs: BTreeMap::new(),
        };
        {
            let (mut log, events) = MetadataLog::open(dir.path()).unwrap();
            assert!(events.is_empty());
            log.append(&created).unwrap();
            log.append(&MetadataEvent::PartitionsAdded { name: "t".into(), partitions: 4 }).unwrap();
        }
        let path = dir.path().join("events.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 0, 0, 50, 1, 2]).unwrap();
        drop(f);
        let (_, events) = MetadataLog::open(dir.path()).unwrap();
        let mut state = MetadataState::default();
        events.iter().for_each(|e| state.apply(e));
        assert_eq!(events.len(), 2);
        assert_eq!(state.topics["t"].partitions, 4);
    }
}
