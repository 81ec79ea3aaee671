//! The transaction coordinator: one state machine per `transactional.id`, persisted in
//! the internal topic `__transaction_state` (`state_log.rs`), driven by the producer's
//! requests (`coordinator.rs`).
//!
//! ```text
//! Empty ──AddPartitions/AddOffsets──▶ Ongoing ──EndTxn──▶ PrepareCommit|PrepareAbort
//!   ▲                                                              │ markers written,
//!   └──── InitProducerId (epoch + 1) ◀── CompleteCommit|CompleteAbort ◀┘ offsets applied
//! ```
//!
//! Offsets sent with `TxnOffsetCommit` are kept in the transaction's own state record
//! until it commits, then stored in `__consumer_offsets` like any commit: a crash in
//! between leaves them in a `PrepareCommit` record, which recovery completes.

mod coordinator;
mod produce_join;
mod state_log;
mod verification;

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::Arc;

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::group::OffsetCommit;

pub const TRANSACTION_STATE_TOPIC: &str = "__transaction_state";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum TxnState {
    Empty,
    Ongoing,
    PrepareCommit,
    PrepareAbort,
    CompleteCommit,
    CompleteAbort,
}

impl TxnState {
    /// Kafka's name for the state (DescribeTransactions, ListTransactions filters).
    pub fn name(self) -> &'static str {
        match self {
            TxnState::Empty => "Empty",
            TxnState::Ongoing => "Ongoing",
            TxnState::PrepareCommit => "PrepareCommit",
            TxnState::PrepareAbort => "PrepareAbort",
            TxnState::CompleteCommit => "CompleteCommit",
            TxnState::CompleteAbort => "CompleteAbort",
        }
    }
}

/// What the coordinator keeps per transactional id: the value of its
/// `__transaction_state` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TxnMeta {
    pub producer_id: i64,
    pub producer_epoch: i16,
    pub timeout_ms: i32,
    pub state: TxnState,
    /// Data partitions written in the open transaction.
    pub partitions: BTreeSet<(String, i32)>,
    /// Offsets to commit per group when the transaction commits.
    pub offsets: BTreeMap<String, Vec<OffsetCommit>>,
    /// When the open transaction began (-1: none open).
    pub start_ms: i64,
    pub updated_ms: i64,
    /// The protocol the open (or last) transaction runs with: under version 2 its end
    /// gives the producer the next epoch.
    #[serde(default)]
    pub version: TransactionVersion,
    /// Under version 2, when the epoch runs out at an end: the producer id that takes
    /// over once the markers (written with the old id) are durable.
    #[serde(default)]
    pub next_producer_id: Option<i64>,
    /// The producer id replaced at the last such end, so that a retry of that EndTxn
    /// with the old id still succeeds.
    #[serde(default)]
    pub previous_producer_id: Option<i64>,
}

/// Kafka's `transaction.version` feature as a client uses it. Version 1: the client adds
/// every partition and group with AddPartitionsToTxn / AddOffsetsToTxn and keeps its
/// epoch across transactions. Version 2 (KIP-890 part 2; Produce v12+, TxnOffsetCommit
/// v5+, EndTxn v5+): partitions and groups join the transaction implicitly, and every
/// EndTxn bumps the epoch, so a late write from the previous transaction is fenced.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum TransactionVersion {
    #[default]
    V1,
    V2,
}

impl TransactionVersion {
    /// The feature level clients see finalized in ApiVersions.
    pub const FINALIZED_LEVEL: i16 = 2;
}

/// One transactional id: its state, `None` until InitProducerId. Operations on one id
/// are serialised by this async lock, held across the writes they make.
type Slot = Arc<tokio::sync::Mutex<Option<TxnMeta>>>;

#[derive(Default)]
pub(crate) struct Transactions {
    slots: Mutex<HashMap<String, Slot>>,
    /// What the produce path checks transactional batches against.
    pub(crate) open: verification::OpenTransactions,
}

impl Transactions {
    fn slot(&self, transactional_id: &str) -> Slot {
        self.slots.lock().entry(transactional_id.to_string()).or_default().clone()
    }

    /// Every id with its slot, for the background passes and listings.
    fn all(&self) -> Vec<(String, Slot)> {
        self.slots.lock().iter().map(|(id, slot)| (id.clone(), slot.clone())).collect()
    }
}

/// DescribeTransactions / ListTransactions view of one transactional id.
#[derive(Debug, Clone)]
pub struct TxnDescription {
    pub transactional_id: String,
    pub meta: TxnMeta,
}

#[cfg(test)]
mod tests;
#[cfg(test)]
mod version2_tests;
