//! The registry: state in memory, made durable on the compacted topic `_schemas`
//! (partition 0, written through the broker's ordinary append path and fsynced before a
//! write counts), and rebuilt by replaying that topic when it opens. Ids and versions are
//! assigned by one writer at a time; readers never wait for writers.

use std::sync::Arc;

use bytes::Bytes;
use parking_lot::RwLock;
use tidelog_broker::access::RequestContext;
use tidelog_broker::{Broker, BrokerError, NewTopic};
use tracing::info;

use crate::error::{RegistryError, Result};
use crate::records::RecordKey;
use crate::state::State;

/// Where the registry keeps its records, as Confluent's does (`kafkastore.topic`).
pub const SCHEMAS_TOPIC: &str = "_schemas";

pub struct Registry {
    pub(crate) broker: Arc<Broker>,
    pub(crate) state: RwLock<State>,
    /// Held from reading the state a write depends on (the next id, the next version)
    /// until that write is durable and applied, so two registrations never take the
    /// same id. An async mutex: it is held across the fsync wait on purpose.
    pub(crate) writer: tokio::sync::Mutex<()>,
}

/// One record to write: a key and a JSON value, or a tombstone.
pub(crate) type Write = (RecordKey, Option<serde_json::Value>);

impl Registry {
    /// Opens the registry on `broker`: creates `_schemas` (one partition, compacted) if
    /// it does not exist and replays it. Blocking: reads the whole topic.
    pub fn open(broker: Arc<Broker>) -> Result<Arc<Registry>> {
        if broker.topic(SCHEMAS_TOPIC).is_none() {
            let configs = [("cleanup.policy".to_string(), "compact".to_string())].into();
            let topic = NewTopic { name: SCHEMAS_TOPIC.into(), partitions: Some(1), replication_factor: None, configs };
            match broker.create_topic(&RequestContext::internal(), topic, false) {
                Ok(_) | Err(BrokerError::TopicAlreadyExists(_)) => {}
                Err(e) => return Err(e.into()),
            }
        }
        let mut state = State::default();
        let records = replay(&broker, &mut state)?;
        info!(records, subjects = state.subjects.len(), schemas = state.schemas.len(), "schema registry loaded");
        Ok(Arc::new(Registry { broker, state: RwLock::new(state), writer: tokio::sync::Mutex::new(()) }))
    }

    /// Appends `writes` as one batch (all or none), waits until it is fsynced, then
    /// applies it. The caller holds `writer`.
    pub(crate) async fn write(&self, writes: Vec<Write>) -> Result<()> {
        if writes.is_empty() {
            return Ok(());
        }
        let mut records = Vec::with_capacity(writes.len());
        for (key, value) in &writes {
            let key = serde_json::to_vec(key).map_err(|e| RegistryError::Store(e.to_string()))?;
            let value = match value {
                Some(v) => Some(Bytes::from(serde_json::to_vec(v).map_err(|e| RegistryError::Store(e.to_string()))?)),
                None => None,
            };
            records.push((Some(Bytes::from(key)), value));
        }
        let produced = self.broker.append_records(&RequestContext::internal(), SCHEMAS_TOPIC, 0, &records)?;
        produced.wait_durable().await?;
        let mut state = self.state.write();
        for (key, value) in &records {
            let key = key.as_deref().unwrap_or_default();
            state.apply(key, value.as_deref());
        }
        Ok(())
    }
}

/// Applies every record of `_schemas` to `state`; returns how many were read.
fn replay(broker: &Broker, state: &mut State) -> Result<usize> {
    let ctx = RequestContext::internal();
    let mut offset = broker.partition(SCHEMAS_TOPIC, 0)?.offsets().log_start_offset;
    let mut count = 0;
    loop {
        let read = broker.read_records(&ctx, SCHEMAS_TOPIC, 0, offset, 10_000, 1 << 20)?;
        for record in &read.records {
            let Some(key) = record.key.as_deref() else { continue };
            state.apply(key, record.value.as_deref());
            count += 1;
        }
        if read.next_offset >= read.high_watermark || read.next_offset <= offset {
            break;
        }
        offset = read.next_offset;
    }
    Ok(count)
}
