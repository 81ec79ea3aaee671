//! The one door for metadata changes: [`MetadataStore::propose`] returns once an event is
//! committed. On one node the store is a local append-only file (length, CRC32C, JSON per
//! event), replayed at start, a torn last record dropped; in a cluster a Raft quorum will
//! back the same trait. The store only persists: the broker applies what it committed.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use parking_lot::Mutex;

use super::MetadataEvent;
use crate::error::{BrokerError, Result};

pub trait MetadataStore: Send + Sync {
    /// Persists `event` after every event committed before it; returns once it is
    /// committed (fsynced here, on a quorum in a cluster). An error commits nothing.
    /// Blocking: call it from a blocking-capable thread.
    fn propose(&self, event: &MetadataEvent) -> Result<()>;
}

/// Keeps nothing: for brokers whose logs live in memory.
#[derive(Debug, Default)]
pub struct MemoryMetadataStore;

impl MetadataStore for MemoryMetadataStore {
    fn propose(&self, _event: &MetadataEvent) -> Result<()> {
        Ok(())
    }
}

/// The single-node store: an append-only event file.
#[derive(Debug)]
pub struct LocalMetadataStore {
    path: PathBuf,
    file: Mutex<File>,
}

impl LocalMetadataStore {
    /// Opens the file and replays it. Returns the store and the committed events in order.
    pub fn open(dir: &Path) -> Result<(Self, Vec<MetadataEvent>)> {
        let io = |e: std::io::Error| BrokerError::Storage(format!("metadata log in {}: {e}", dir.display()));
        tidelog_log::durable::create_dir_all(dir).map_err(io)?;
        let path = dir.join("events.log");
        let existed = path.exists();
        let mut file = OpenOptions::new().read(true).append(true).create(true).open(&path).map_err(io)?;
        if !existed {
            tidelog_log::durable::sync_dir(dir).map_err(io)?;
        }
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(io)?;
        let (events, valid_len) = decode_events(&bytes);
        if valid_len < bytes.len() {
            tracing::warn!(path = %path.display(), valid_len, total = bytes.len(), "truncating torn metadata log tail");
            file.set_len(valid_len as u64).map_err(io)?;
        }
        Ok((LocalMetadataStore { path, file: Mutex::new(file) }, events))
    }
}

impl MetadataStore for LocalMetadataStore {
    /// Appends and fsyncs one event: metadata changes are rare and must not be lost.
    fn propose(&self, event: &MetadataEvent) -> Result<()> {
        let json = serde_json::to_vec(event).map_err(|e| BrokerError::Storage(e.to_string()))?;
        let mut record = Vec::with_capacity(json.len() + 8);
        record.extend_from_slice(&(json.len() as u32).to_be_bytes());
        record.extend_from_slice(&crc32c::crc32c(&json).to_be_bytes());
        record.extend_from_slice(&json);
        let io = |e: std::io::Error| BrokerError::Storage(format!("metadata log {}: {e}", self.path.display()));
        let mut file = self.file.lock();
        file.write_all(&record).map_err(io)?;
        file.sync_data().map_err(io)
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
    use std::collections::BTreeMap;

    use uuid::Uuid;

    use super::*;
    use crate::metadata::MetadataState;

    #[test]
    fn replays_events_and_drops_torn_tail() {
        let dir = tempfile::tempdir().unwrap();
        let created = MetadataEvent::TopicCreated {
            name: "t".into(),
            topic_id: Uuid::new_v4(),
            partitions: 2,
            configs: BTreeMap::new(),
            attributes: BTreeMap::new(),
        };
        {
            let (log, events) = LocalMetadataStore::open(dir.path()).unwrap();
            assert!(events.is_empty());
            log.propose(&created).unwrap();
            log.propose(&MetadataEvent::PartitionsAdded { name: "t".into(), partitions: 4 }).unwrap();
        }
        let path = dir.path().join("events.log");
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(&[0, 0, 0, 50, 1, 2]).unwrap();
        drop(f);
        let (_, events) = LocalMetadataStore::open(dir.path()).unwrap();
        let mut state = MetadataState::default();
        events.iter().for_each(|e| state.apply(e));
        assert_eq!(events.len(), 2);
        assert_eq!(state.topics["t"].partitions, 4);
    }
}
