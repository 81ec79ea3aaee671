//! The coordinator's operations, one per Kafka request, plus the background pass that
//! aborts transactions past their timeout and finishes ones a crash interrupted.
//!
//! Each operation locks its transactional id's slot, checks the producer's id and epoch
//! against it, and persists any state change before answering. EndTxn answers once the
//! markers are durable in every partition of the transaction, so a read_committed
//! consumer that sees the commit acknowledged also sees the records.

use std::collections::BTreeSet;

use tidelog_log::BatchHeader;

use super::{TransactionVersion, TxnDescription, TxnMeta, TxnState};
use crate::access::{Operation, RequestContext, Resource};
use crate::broker::{now_ms, Broker};
use crate::config::keys;
use crate::error::{BrokerError, Result};
use crate::group::OffsetCommit;
use crate::producer_ids::MAX_EPOCH;
use crate::records::{encode_marker, Marker};

/// The state after InitProducerId, or the id's current state: it must belong to this
/// producer id and epoch.
pub(super) fn check_producer(meta: Option<&mut TxnMeta>, producer_id: i64, epoch: i16) -> Result<&mut TxnMeta> {
    let meta = meta.ok_or_else(|| {
        BrokerError::InvalidProducerIdMapping("the transactional id has no producer id: call InitProducerId".into())
    })?;
    if meta.producer_id != producer_id {
        return Err(BrokerError::InvalidProducerIdMapping(format!(
            "producer id {producer_id} is not the transactional id's current producer id {}",
            meta.producer_id
        )));
    }
    if meta.producer_epoch != epoch {
        return Err(BrokerError::ProducerFenced(format!(
            "epoch {epoch} is not the current epoch {}: a newer producer with this transactional id exists",
            meta.producer_epoch
        )));
    }
    Ok(meta)
}

/// Moves a transaction that is not open into Ongoing; refuses while one is completing.
/// A request of transaction version 2 marks the transaction as such.
fn begin_if_needed(meta: &mut TxnMeta, now: i64, version: TransactionVersion) -> Result<()> {
    match meta.state {
        TxnState::Ongoing => {
            meta.version = meta.version.max(version);
            Ok(())
        }
        TxnState::PrepareCommit | TxnState::PrepareAbort => Err(BrokerError::ConcurrentTransactions),
        TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => {
            meta.state = TxnState::Ongoing;
            meta.start_ms = now;
            meta.partitions.clear();
            meta.offsets.clear();
            meta.version = version;
            Ok(())
        }
    }
}

impl Broker {
    /// InitProducerId with a `transactional.id`: the id's producer gets the next epoch
    /// (fencing any older instance), after its open transaction, if any, is aborted.
    pub async fn init_transactional_producer(
        &self,
        ctx: &RequestContext,
        transactional_id: &str,
        timeout_ms: i32,
        existing: Option<(i64, i16)>,
    ) -> Result<(i64, i16)> {
        self.authorize(ctx, Operation::Write, Resource::TransactionalId(transactional_id))?;
        if transactional_id.is_empty() {
            return Err(BrokerError::InvalidRequest("the transactional id must not be empty".into()));
        }
        let max = self.config.get(keys::TRANSACTION_MAX_TIMEOUT_MS);
        if timeout_ms <= 0 || i64::from(timeout_ms) > max {
            return Err(BrokerError::InvalidTransactionTimeout { given: timeout_ms, max });
        }
        let slot = self.transactions.slot(transactional_id);
        let mut guard = slot.lock().await;
        let now = now_ms();
        if guard.is_none() {
            *guard = Some(TxnMeta {
                producer_id: self.allocate_producer_id()?,
                producer_epoch: -1,
                timeout_ms,
                state: TxnState::Empty,
                partitions: BTreeSet::new(),
                offsets: Default::default(),
                start_ms: -1,
                updated_ms: now,
                version: TransactionVersion::V1,
                next_producer_id: None,
                previous_producer_id: None,
            });
        }
        let meta = guard.as_mut().expect("just filled");
        if let Some((producer_id, epoch)) = existing {
            if (producer_id, epoch) != (meta.producer_id, meta.producer_epoch) {
                return Err(BrokerError::ProducerFenced(format!(
                    "producer {producer_id} epoch {epoch} is not the current producer of '{transactional_id}'"
                )));
            }
        }
        match meta.state {
            TxnState::PrepareCommit => self.end_transaction(transactional_id, meta, Marker::Commit).await?,
            TxnState::PrepareAbort => self.end_transaction(transactional_id, meta, Marker::Abort).await?,
            TxnState::Ongoing => {
                // The new epoch goes on the abort markers (same producer id, so they close its
                // open transactions), fencing the old producer everywhere it wrote.
                fence(meta);
                self.end_transaction(transactional_id, meta, Marker::Abort).await?;
                if meta.producer_epoch >= MAX_EPOCH {
                    bump_epoch(self, meta)?;
                }
            }
            TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort => bump_epoch(self, meta)?,
        }
        meta.state = TxnState::Empty;
        meta.timeout_ms = timeout_ms;
        meta.updated_ms = now;
        self.persist_txn(transactional_id, Some(meta)).await?;
        Ok((meta.producer_id, meta.producer_epoch))
    }

    /// AddPartitionsToTxn: one result per partition. With `verify_only` nothing changes;
    /// each partition is checked to be part of the open transaction.
    pub async fn add_partitions_to_txn(
        &self,
        ctx: &RequestContext,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        partitions: Vec<(String, i32)>,
        verify_only: bool,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Write, Resource::TransactionalId(transactional_id))?;
        let slot = self.transactions.slot(transactional_id);
        let mut guard = slot.lock().await;
        let meta = check_producer(guard.as_mut(), producer_id, epoch)?;
        if verify_only {
            let open = meta.state == TxnState::Ongoing;
            return Ok(partitions
                .iter()
                .map(|p| match open && meta.partitions.contains(p) {
                    true => Ok(()),
                    false => Err(BrokerError::InvalidTxnState(format!("{}-{} is not in the transaction", p.0, p.1))),
                })
                .collect());
        }
        let unknown: Vec<bool> = partitions.iter().map(|(t, p)| self.partition(t, *p).is_err()).collect();
        if unknown.iter().any(|u| *u) {
            return Ok(partitions
                .into_iter()
                .zip(unknown)
                .map(|((topic, partition), unknown)| match unknown {
                    true => Err(BrokerError::UnknownTopicOrPartition { topic, partition: Some(partition) }),
                    false => Err(BrokerError::OperationNotAttempted),
                })
                .collect());
        }
        let count = partitions.len();
        self.join_transaction(transactional_id, meta, partitions, TransactionVersion::V1).await?;
        Ok((0..count).map(|_| Ok(())).collect())
    }

    /// Opens the transaction if needed and adds `partitions`, persisting any change.
    pub(super) async fn join_transaction(
        &self,
        transactional_id: &str,
        meta: &mut TxnMeta,
        partitions: Vec<(String, i32)>,
        version: TransactionVersion,
    ) -> Result<()> {
        let now = now_ms();
        let before = (meta.state, meta.version, meta.partitions.len());
        begin_if_needed(meta, now, version)?;
        meta.partitions.extend(partitions);
        if (meta.state, meta.version, meta.partitions.len()) != before {
            meta.updated_ms = now;
            self.persist_txn(transactional_id, Some(meta)).await?;
        }
        Ok(())
    }

    /// AddOffsetsToTxn: the transaction will commit offsets for `group_id`.
    pub async fn add_offsets_to_txn(
        &self,
        ctx: &RequestContext,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        group_id: &str,
    ) -> Result<()> {
        self.authorize(ctx, Operation::Write, Resource::TransactionalId(transactional_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        let slot = self.transactions.slot(transactional_id);
        let mut guard = slot.lock().await;
        let meta = check_producer(guard.as_mut(), producer_id, epoch)?;
        self.join_with_group(transactional_id, meta, group_id, TransactionVersion::V1).await
    }

    /// Opens the transaction if needed and makes it commit offsets for `group_id`.
    async fn join_with_group(
        &self,
        transactional_id: &str,
        meta: &mut TxnMeta,
        group_id: &str,
        version: TransactionVersion,
    ) -> Result<()> {
        let now = now_ms();
        let before = (meta.state, meta.version);
        begin_if_needed(meta, now, version)?;
        if (meta.state, meta.version) != before || !meta.offsets.contains_key(group_id) {
            meta.offsets.entry(group_id.to_string()).or_default();
            meta.updated_ms = now;
            self.persist_txn(transactional_id, Some(meta)).await?;
        }
        Ok(())
    }

    /// TxnOffsetCommit: offsets that become the group's committed offsets when the
    /// transaction commits. `Err` is for every partition; `Ok` has one result each.
    /// Under transaction version 2 (v5+) the group joins the transaction here; before,
    /// AddOffsetsToTxn must have added it.
    #[allow(clippy::too_many_arguments)]
    pub async fn txn_offset_commit(
        &self,
        ctx: &RequestContext,
        transactional_id: &str,
        group_id: &str,
        producer_id: i64,
        epoch: i16,
        generation: i32,
        member_id: &str,
        instance: Option<&str>,
        commits: Vec<OffsetCommit>,
        version: TransactionVersion,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::Read, Resource::Group(group_id))?;
        if group_id.is_empty() {
            return Err(BrokerError::InvalidGroupId(group_id.into()));
        }
        if !member_id.is_empty() || generation >= 0 {
            self.check_group_member(group_id, generation, member_id, instance)?;
        }
        let slot = self.transactions.slot(transactional_id);
        let mut guard = slot.lock().await;
        let meta = check_producer(guard.as_mut(), producer_id, epoch)?;
        if version == TransactionVersion::V2 {
            // Persisted below, with the offsets.
            begin_if_needed(meta, now_ms(), version)?;
            meta.offsets.entry(group_id.to_string()).or_default();
        }
        if meta.state != TxnState::Ongoing || !meta.offsets.contains_key(group_id) {
            return Err(BrokerError::InvalidTxnState(format!(
                "group '{group_id}' was not added to the open transaction (AddOffsetsToTxn)"
            )));
        }
        let results: Vec<Result<()>> = commits.iter().map(|c| self.check_offset_commit(c)).collect();
        let pending = meta.offsets.entry(group_id.to_string()).or_default();
        for (commit, result) in commits.into_iter().zip(&results) {
            if result.is_ok() {
                pending.retain(|p| (&p.topic, p.partition) != (&commit.topic, commit.partition));
                pending.push(commit);
            }
        }
        meta.updated_ms = now_ms();
        self.persist_txn(transactional_id, Some(meta)).await?;
        Ok(results)
    }

    /// EndTxn: commits or aborts the open transaction, answering the producer id and
    /// epoch the producer goes on with. Under version 1 a retry of a completed EndTxn
    /// succeeds again and the opposite decision is refused. Under version 2 every end
    /// bumps the epoch, so a retry is told apart by carrying the epoch before the bump.
    pub async fn end_txn(
        &self,
        ctx: &RequestContext,
        transactional_id: &str,
        producer_id: i64,
        epoch: i16,
        commit: bool,
        version: TransactionVersion,
    ) -> Result<(i64, i16)> {
        self.authorize(ctx, Operation::Write, Resource::TransactionalId(transactional_id))?;
        let slot = self.transactions.slot(transactional_id);
        let mut guard = slot.lock().await;
        let marker = if commit { Marker::Commit } else { Marker::Abort };
        let meta = match version {
            TransactionVersion::V1 => {
                let meta = check_producer(guard.as_mut(), producer_id, epoch)?;
                self.end_v1(transactional_id, meta, marker).await?;
                meta
            }
            TransactionVersion::V2 => {
                let meta = guard.as_mut().ok_or_else(|| {
                    BrokerError::InvalidProducerIdMapping(
                        "the transactional id has no producer id: call InitProducerId".into(),
                    )
                })?;
                self.end_v2(transactional_id, meta, producer_id, epoch, marker).await?;
                meta
            }
        };
        Ok((meta.producer_id, meta.producer_epoch))
    }

    async fn end_v1(&self, transactional_id: &str, meta: &mut TxnMeta, marker: Marker) -> Result<()> {
        if meta.state == TxnState::Ongoing {
            // The client keeps its epoch: the end must not bump it, however it began.
            meta.version = TransactionVersion::V1;
        }
        match (meta.state, marker) {
            (TxnState::Ongoing, _)
            | (TxnState::PrepareCommit, Marker::Commit)
            | (TxnState::PrepareAbort, Marker::Abort) => self.end_transaction(transactional_id, meta, marker).await,
            (TxnState::CompleteCommit, Marker::Commit) | (TxnState::CompleteAbort, Marker::Abort) => Ok(()),
            (state, _) => Err(invalid_end(state, marker)),
        }
    }

    /// Kafka's `TransactionCoordinator.endTransaction` for transaction version 2. An abort
    /// with no transaction open is valid (and still bumps the epoch): the client may abort
    /// before anything joined its transaction.
    async fn end_v2(
        &self,
        transactional_id: &str,
        meta: &mut TxnMeta,
        producer_id: i64,
        epoch: i16,
        marker: Marker,
    ) -> Result<()> {
        // A retry of an end that completed: the epoch bumped, or ran out and moved the
        // transactional id to a new producer id.
        let retry_on_bump = i32::from(meta.producer_epoch) == i32::from(epoch) + 1;
        let retry_on_overflow =
            meta.previous_producer_id == Some(producer_id) && epoch == MAX_EPOCH && meta.producer_epoch == 0;
        if meta.producer_id != producer_id && !retry_on_overflow {
            return Err(BrokerError::InvalidProducerIdMapping(format!(
                "producer id {producer_id} is not the transactional id's current producer id {}",
                meta.producer_id
            )));
        }
        let valid_epoch = match meta.state {
            TxnState::Ongoing | TxnState::Empty => epoch == meta.producer_epoch,
            TxnState::PrepareCommit | TxnState::PrepareAbort => retry_on_bump,
            TxnState::CompleteCommit | TxnState::CompleteAbort => {
                retry_on_bump || retry_on_overflow || epoch == meta.producer_epoch
            }
        };
        if !valid_epoch {
            return Err(BrokerError::ProducerFenced(format!(
                "epoch {epoch} is not the current epoch {}: a newer producer with this transactional id exists",
                meta.producer_epoch
            )));
        }
        let retry = retry_on_bump || retry_on_overflow;
        match (meta.state, marker) {
            (TxnState::Ongoing, _) => {
                meta.version = TransactionVersion::V2;
                self.end_transaction(transactional_id, meta, marker).await
            }
            (TxnState::CompleteCommit, Marker::Commit) | (TxnState::CompleteAbort, Marker::Abort) if retry => Ok(()),
            (TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort, Marker::Abort) if !retry => {
                meta.version = TransactionVersion::V2;
                meta.partitions.clear();
                meta.offsets.clear();
                meta.start_ms = now_ms();
                self.end_transaction(transactional_id, meta, marker).await
            }
            // Prepared (its epoch already bumped) but not finished: a write failed after
            // the prepare. Finishing it here answers the retry at once.
            (TxnState::PrepareCommit, Marker::Commit) | (TxnState::PrepareAbort, Marker::Abort) => {
                self.end_transaction(transactional_id, meta, marker).await
            }
            (state, _) => Err(invalid_end(state, marker)),
        }
    }

    /// Prepare (persisted), markers in every partition (durable), the transaction's
    /// offsets on commit, then Complete (persisted). Safe to repeat after a failure.
    /// Under transaction version 2 the prepare bumps the epoch and the markers carry the
    /// new one: the producer's late writes of this transaction are then fenced.
    async fn end_transaction(&self, transactional_id: &str, meta: &mut TxnMeta, marker: Marker) -> Result<()> {
        let (prepare, complete) = match marker {
            Marker::Commit => (TxnState::PrepareCommit, TxnState::CompleteCommit),
            Marker::Abort => (TxnState::PrepareAbort, TxnState::CompleteAbort),
        };
        if meta.state != prepare {
            meta.state = prepare;
            if meta.version == TransactionVersion::V2 {
                if meta.producer_epoch >= MAX_EPOCH {
                    meta.next_producer_id = Some(self.allocate_producer_id()?);
                }
                meta.producer_epoch = meta.producer_epoch.saturating_add(1);
            }
            meta.updated_ms = now_ms();
            self.persist_txn(transactional_id, Some(meta)).await?;
        }
        self.write_markers(meta, marker).await?;
        if marker == Marker::Commit {
            for (group, commits) in &meta.offsets {
                self.store_offsets(group, commits.clone()).await?;
            }
        }
        meta.state = complete;
        meta.partitions.clear();
        meta.offsets.clear();
        meta.start_ms = -1;
        meta.updated_ms = now_ms();
        if let Some(next) = meta.next_producer_id.take() {
            meta.previous_producer_id = Some(meta.producer_id);
            meta.producer_id = next;
            meta.producer_epoch = 0;
        }
        self.persist_txn(transactional_id, Some(meta)).await
    }

    /// Appends the marker to every partition of the transaction and waits until all are
    /// durable. Partitions of topics deleted meanwhile are skipped.
    async fn write_markers(&self, meta: &TxnMeta, marker: Marker) -> Result<()> {
        let now = now_ms();
        let batch = encode_marker(meta.producer_id, meta.producer_epoch, marker, now)?;
        let header = BatchHeader::parse(&batch).map_err(|e| BrokerError::Storage(format!("marker batch: {e}")))?;
        let mut written = Vec::with_capacity(meta.partitions.len());
        for (topic, index) in &meta.partitions {
            let Ok(partition) = self.partition(topic, *index) else { continue };
            let appended = partition.append(&batch, &header, now)?;
            written.push((partition, appended.offsets.log_end_offset));
        }
        for (partition, end) in written {
            partition.sync_to(end).await?;
        }
        Ok(())
    }

    /// Aborts transactions open longer than their timeout (fencing their producer with a
    /// new epoch), finishes any left between prepare and complete (after a crash or a
    /// failed write), and forgets ids idle past `transactional.id.expiration.ms`.
    pub(crate) async fn transaction_housekeeping(&self) {
        let now = now_ms();
        let expiration = self.config.get(keys::TRANSACTIONAL_ID_EXPIRATION_MS);
        for (id, slot) in self.transactions.all() {
            // A busy id is being driven by its producer: leave it for the next pass.
            let Ok(mut guard) = slot.try_lock() else { continue };
            let Some(meta) = guard.as_mut() else { continue };
            let outcome = match meta.state {
                TxnState::Ongoing if now - meta.start_ms > i64::from(meta.timeout_ms) => {
                    tracing::info!(transactional_id = %id, timeout_ms = meta.timeout_ms, "aborting timed-out transaction");
                    fence(meta);
                    self.end_transaction(&id, meta, Marker::Abort).await
                }
                TxnState::PrepareCommit => self.end_transaction(&id, meta, Marker::Commit).await,
                TxnState::PrepareAbort => self.end_transaction(&id, meta, Marker::Abort).await,
                TxnState::Empty | TxnState::CompleteCommit | TxnState::CompleteAbort
                    if now - meta.updated_ms > expiration =>
                {
                    let forgotten = self.persist_txn(&id, None).await;
                    if forgotten.is_ok() {
                        *guard = None;
                    }
                    forgotten
                }
                _ => Ok(()),
            };
            if let Err(e) = outcome {
                tracing::warn!(transactional_id = %id, error = %e, "transaction housekeeping failed; will retry");
            }
        }
    }

    /// DescribeTransactions: the state of each id (`Err` for unknown ids).
    pub async fn describe_transactions(&self, ids: &[String]) -> Vec<Result<TxnDescription>> {
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let slot = self.transactions.slots.lock().get(id).cloned();
            let meta = match slot {
                Some(slot) => slot.lock().await.clone(),
                None => None,
            };
            out.push(
                meta.map(|meta| TxnDescription { transactional_id: id.clone(), meta })
                    .ok_or_else(|| BrokerError::TransactionalIdNotFound(id.clone())),
            );
        }
        out
    }

    /// ListTransactions: every known id, filtered by state names, producer ids, and a
    /// minimum running time of the open transaction (each filter empty/negative: all).
    pub async fn list_transactions(
        &self,
        states: &[String],
        producer_ids: &[i64],
        min_duration_ms: i64,
    ) -> Vec<TxnDescription> {
        let now = now_ms();
        let mut out = Vec::new();
        for (id, slot) in self.transactions.all() {
            let Some(meta) = slot.lock().await.clone() else { continue };
            let state_ok = states.is_empty() || states.iter().any(|s| s == meta.state.name());
            let producer_ok = producer_ids.is_empty() || producer_ids.contains(&meta.producer_id);
            let duration_ok = min_duration_ms < 0 || (meta.start_ms >= 0 && now - meta.start_ms >= min_duration_ms);
            if state_ok && producer_ok && duration_ok {
                out.push(TxnDescription { transactional_id: id, meta });
            }
        }
        out.sort_by(|a, b| a.transactional_id.cmp(&b.transactional_id));
        out
    }
}

/// INVALID_TXN_STATE for an end the transaction's state does not allow.
fn invalid_end(state: TxnState, marker: Marker) -> BrokerError {
    BrokerError::InvalidTxnState(format!(
        "cannot {} a transaction in state {}",
        if marker == Marker::Commit { "commit" } else { "abort" },
        state.name()
    ))
}

/// Raises the epoch for abort markers that fence the current producer.
fn fence(meta: &mut TxnMeta) {
    meta.producer_epoch = meta.producer_epoch.saturating_add(1);
}

/// The next epoch of the id's producer, or a fresh producer id once epochs run out.
fn bump_epoch(broker: &Broker, meta: &mut TxnMeta) -> Result<()> {
    if meta.producer_epoch >= MAX_EPOCH {
        meta.producer_id = broker.allocate_producer_id()?;
        meta.producer_epoch = 0;
    } else {
        meta.producer_epoch += 1;
    }
    Ok(())
}
