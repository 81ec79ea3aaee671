//! Transaction version 2 (KIP-890 part 2) through the broker API: partitions joining on
//! produce, groups joining on TxnOffsetCommit, an epoch bump at every end, retries told
//! apart by the epoch before the bump, and the move to a new producer id when epochs run
//! out.

use super::tests::{commit, state, txn_batch, with_topic};
use super::TransactionVersion::{V1, V2};
use super::{TxnMeta, TxnState};
use crate::access::RequestContext;
use crate::config::BrokerConfig;
use crate::producer_ids::MAX_EPOCH;
use crate::{Broker, BrokerError};

fn ctx() -> RequestContext {
    RequestContext::local()
}

/// What a Produce v12+ does for one transactional batch: join if needed, then append.
async fn produce(b: &Broker, partition: i32, batch: &[u8]) -> crate::Result<()> {
    if let Some((id, epoch)) = b.transaction_to_join("t", partition, batch) {
        b.add_partitions_for_produce(&ctx(), id, epoch, vec![("t".into(), partition)]).await?;
    }
    b.append(&ctx(), "t", partition, batch).map(|_| ())
}

#[tokio::test]
async fn every_end_bumps_the_epoch_and_a_retry_carries_the_one_before() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let (id, epoch) = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    let first = txn_batch((id, epoch), 0, "a");
    assert_eq!(b.transaction_to_join("t", 0, &first), Some((id, epoch)), "not in the transaction yet");
    produce(&b, 0, &first).await.unwrap();
    assert_eq!(b.transaction_to_join("t", 0, &txn_batch((id, epoch), 1, "b")), None, "joined");
    assert_eq!(state(&b, "tx").await, TxnState::Ongoing);

    let after = b.end_txn(&ctx(), "tx", id, epoch, true, V2).await.unwrap();
    assert_eq!(after, (id, epoch + 1));
    let part = b.partition("t", 0).unwrap();
    assert_eq!(part.last_stable_offset(), 2, "the record and its commit marker are stable");
    // The same EndTxn again (its answer was lost): the epoch before the bump marks a retry.
    assert_eq!(b.end_txn(&ctx(), "tx", id, epoch, true, V2).await.unwrap(), after);
    assert!(matches!(b.end_txn(&ctx(), "tx", id, epoch, false, V2).await, Err(BrokerError::InvalidTxnState(_))));
    // A commit at the new epoch with nothing open is not a retry.
    assert!(matches!(b.end_txn(&ctx(), "tx", id, epoch + 1, true, V2).await, Err(BrokerError::InvalidTxnState(_))));
    // A late batch of the finished transaction is fenced by the marker's epoch.
    assert!(matches!(
        b.append(&ctx(), "t", 0, &txn_batch((id, epoch), 1, "late")),
        Err(BrokerError::InvalidProducerEpoch { .. })
    ));
    // The next transaction runs at the new epoch, its sequences from 0.
    produce(&b, 0, &txn_batch(after, 0, "c")).await.unwrap();
    assert_eq!(b.end_txn(&ctx(), "tx", id, epoch + 1, false, V2).await.unwrap(), (id, epoch + 2));
    assert_eq!(part.read_isolated(0, 1 << 20, true).unwrap().aborted.len(), 1);
    // An older epoch than the one before the bump is a zombie.
    assert!(matches!(b.end_txn(&ctx(), "tx", id, epoch, false, V2).await, Err(BrokerError::ProducerFenced(_))));
}

#[tokio::test]
async fn an_abort_with_nothing_open_still_bumps_the_epoch() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let (id, epoch) = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    assert!(matches!(b.end_txn(&ctx(), "tx", id, epoch, true, V2).await, Err(BrokerError::InvalidTxnState(_))));
    assert_eq!(b.end_txn(&ctx(), "tx", id, epoch, false, V2).await.unwrap(), (id, epoch + 1));
    assert_eq!(state(&b, "tx").await, TxnState::CompleteAbort);
}

#[tokio::test]
async fn txn_offset_commit_brings_its_group_into_the_transaction() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let (id, epoch) = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    // Under version 1 the group must have been added first.
    let refused = b.txn_offset_commit(&ctx(), "tx", "g", id, epoch, -1, "", None, vec![commit(0, 7)], V1).await;
    assert!(matches!(refused, Err(BrokerError::InvalidTxnState(_))));
    b.txn_offset_commit(&ctx(), "tx", "g", id, epoch, -1, "", None, vec![commit(0, 7)], V2).await.unwrap();
    assert_eq!(state(&b, "tx").await, TxnState::Ongoing);
    b.end_txn(&ctx(), "tx", id, epoch, true, V2).await.unwrap();
    let committed = b.fetch_offsets(&ctx(), "g", None).unwrap();
    assert_eq!(committed[0].1[0].1.as_ref().unwrap().offset, 7);
}

#[tokio::test]
async fn a_version_1_end_keeps_the_epoch_however_the_transaction_began() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let (id, epoch) = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    produce(&b, 1, &txn_batch((id, epoch), 0, "a")).await.unwrap();
    assert_eq!(b.end_txn(&ctx(), "tx", id, epoch, true, V1).await.unwrap(), (id, epoch));
    assert_eq!(b.partition("t", 1).unwrap().last_stable_offset(), 2);
}

#[tokio::test]
async fn a_join_from_a_fenced_or_unknown_producer_is_refused() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let old = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    let new = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    assert!(matches!(produce(&b, 0, &txn_batch(old, 0, "zombie")).await, Err(BrokerError::ProducerFenced(_))));
    assert!(matches!(
        produce(&b, 0, &txn_batch((new.0 + 100, 0), 0, "stranger")).await,
        Err(BrokerError::InvalidProducerIdMapping(_))
    ));
    produce(&b, 0, &txn_batch(new, 0, "ok")).await.unwrap();
}

#[tokio::test]
async fn when_epochs_run_out_the_end_moves_the_id_to_a_new_producer_id() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let (id, _) = b.init_transactional_producer(&ctx(), "tx", 60_000, None).await.unwrap();
    {
        let slot = b.transactions.slot("tx");
        let mut guard = slot.lock().await;
        let meta = guard.as_mut().unwrap();
        meta.producer_epoch = MAX_EPOCH;
        b.transactions.open.note("tx", meta);
    }
    produce(&b, 0, &txn_batch((id, MAX_EPOCH), 0, "last")).await.unwrap();
    let (next_id, next_epoch) = b.end_txn(&ctx(), "tx", id, MAX_EPOCH, true, V2).await.unwrap();
    assert_ne!(next_id, id);
    assert_eq!(next_epoch, 0);
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 2, "the marker closed the old id's transaction");
    // The retry still names the old producer id and epoch.
    assert_eq!(b.end_txn(&ctx(), "tx", id, MAX_EPOCH, true, V2).await.unwrap(), (next_id, 0));
    produce(&b, 0, &txn_batch((next_id, 0), 0, "first")).await.unwrap();
}

#[test]
fn state_written_before_version_2_still_reads() {
    let old = r#"{"producer_id":5,"producer_epoch":3,"timeout_ms":60000,"state":"CompleteCommit",
        "partitions":[],"offsets":{},"start_ms":-1,"updated_ms":0}"#;
    let meta: TxnMeta = serde_json::from_str(old).unwrap();
    assert_eq!((meta.version, meta.next_producer_id, meta.previous_producer_id), (V1, None, None));
}
