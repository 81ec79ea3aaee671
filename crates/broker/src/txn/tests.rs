//! The coordinator through the broker API: state changes, markers, the last stable
//! offset, fencing, transactional offsets and recovery after a restart.

use crate::access::RequestContext;

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::Compression;

use super::TransactionVersion::V1;
use super::TxnState;
use crate::admin::NewTopic;
use crate::config::BrokerConfig;
use crate::group::OffsetCommit;
use crate::records::{encode_batch_as, BatchProducer};
use crate::{Broker, BrokerError};

pub(super) fn with_topic(b: Arc<Broker>) -> Arc<Broker> {
    b.create_topic(
        &RequestContext::local(),
        NewTopic { name: "t".into(), partitions: Some(2), ..Default::default() },
        false,
    )
    .unwrap();
    b
}

pub(super) fn txn_batch(producer: (i64, i16), sequence: i32, value: &str) -> Vec<u8> {
    let p = BatchProducer {
        id: producer.0,
        epoch: producer.1,
        base_sequence: sequence,
        transactional: true,
        control: false,
    };
    let records = [(Some(Bytes::from_static(b"k")), Some(Bytes::copy_from_slice(value.as_bytes())))];
    encode_batch_as(p, &records, crate::now_ms(), Compression::None).unwrap()
}

fn plain_batch(value: &str) -> Vec<u8> {
    crate::test_support::encode_batch(1, value.as_bytes(), crate::now_ms(), Compression::None)
}

pub(super) fn commit(partition: i32, offset: i64) -> OffsetCommit {
    OffsetCommit { topic: "t".into(), partition, offset, leader_epoch: -1, metadata: String::new() }
}

pub(super) async fn state(b: &Broker, id: &str) -> TxnState {
    b.describe_transactions(&[id.to_string()]).await.remove(0).unwrap().meta.state
}

#[tokio::test]
async fn commit_makes_records_stable_and_abort_lists_them() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let p = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    assert_eq!(p.1, 0);
    b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    assert_eq!(state(&b, "tx").await, TxnState::Ongoing);
    b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 0, "a")).unwrap();
    b.append(&RequestContext::local(), "t", 0, &plain_batch("plain")).unwrap();
    let part = b.partition("t", 0).unwrap();
    // The open transaction holds the stable offset at its first record.
    assert_eq!((part.last_stable_offset(), part.offsets().high_watermark), (0, 2));
    assert!(part.read_isolated(0, 1 << 20, true).unwrap().records.is_empty());
    assert!(!part.read_isolated(0, 1 << 20, false).unwrap().records.is_empty());
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await.unwrap();
    assert_eq!(state(&b, "tx").await, TxnState::CompleteCommit);
    assert_eq!(part.last_stable_offset(), 3, "data, plain record and the commit marker are stable");
    // A retried EndTxn(commit) succeeds; an abort now is refused.
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await.unwrap();
    assert!(matches!(
        b.end_txn(&RequestContext::local(), "tx", p.0, p.1, false, V1).await,
        Err(BrokerError::InvalidTxnState(_))
    ));

    b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 1, "b")).unwrap();
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, false, V1).await.unwrap();
    let read = part.read_isolated(0, 1 << 20, true).unwrap();
    assert_eq!(read.last_stable_offset, 5);
    assert_eq!(read.aborted.len(), 1);
    assert_eq!((read.aborted[0].producer_id, read.aborted[0].first_offset, read.aborted[0].last_offset), (p.0, 3, 4));
}

#[tokio::test]
async fn a_new_producer_fences_the_old_one_and_aborts_its_transaction() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let old = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    b.add_partitions_to_txn(&RequestContext::local(), "tx", old.0, old.1, vec![("t".into(), 1)], false).await.unwrap();
    b.append(&RequestContext::local(), "t", 1, &txn_batch(old, 0, "zombie")).unwrap();
    let new = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    assert_eq!((new.0, new.1), (old.0, old.1 + 1));
    let part = b.partition("t", 1).unwrap();
    assert_eq!(part.last_stable_offset(), 2, "the zombie's transaction was aborted");
    assert_eq!(part.read_isolated(0, 1 << 20, true).unwrap().aborted.len(), 1);
    // The old epoch is fenced at the coordinator and at the partition.
    let fenced =
        b.add_partitions_to_txn(&RequestContext::local(), "tx", old.0, old.1, vec![("t".into(), 0)], false).await;
    assert!(matches!(fenced, Err(BrokerError::ProducerFenced(_))));
    assert!(matches!(
        b.end_txn(&RequestContext::local(), "tx", old.0, old.1, true, V1).await,
        Err(BrokerError::ProducerFenced(_))
    ));
    assert!(matches!(
        b.append(&RequestContext::local(), "t", 1, &txn_batch(old, 1, "late")),
        Err(BrokerError::InvalidProducerEpoch { .. })
    ));
    // Unknown partitions fail alone; the rest is not attempted.
    let results = b
        .add_partitions_to_txn(
            &RequestContext::local(),
            "tx",
            new.0,
            new.1,
            vec![("t".into(), 0), ("nope".into(), 0)],
            false,
        )
        .await;
    let results = results.unwrap();
    assert!(matches!(results[0], Err(BrokerError::OperationNotAttempted)));
    assert!(matches!(results[1], Err(BrokerError::UnknownTopicOrPartition { .. })));
    assert!(matches!(
        b.init_transactional_producer(&RequestContext::local(), "tx", 0, None).await,
        Err(BrokerError::InvalidTransactionTimeout { .. })
    ));
}

#[tokio::test]
async fn offsets_commit_with_the_transaction_only() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let p = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    b.add_offsets_to_txn(&RequestContext::local(), "tx", p.0, p.1, "g").await.unwrap();
    b.txn_offset_commit(&RequestContext::local(), "tx", "g", p.0, p.1, -1, "", None, vec![commit(0, 7)], V1)
        .await
        .unwrap();
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, false, V1).await.unwrap();
    assert!(
        b.fetch_offsets(&RequestContext::local(), "g", None).unwrap().is_empty(),
        "aborted offsets are never committed"
    );
    b.add_offsets_to_txn(&RequestContext::local(), "tx", p.0, p.1, "g").await.unwrap();
    b.txn_offset_commit(
        &RequestContext::local(),
        "tx",
        "g",
        p.0,
        p.1,
        -1,
        "",
        None,
        vec![commit(0, 9), commit(1, 4)],
        V1,
    )
    .await
    .unwrap();
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await.unwrap();
    let committed = b.fetch_offsets(&RequestContext::local(), "g", None).unwrap();
    let offsets: Vec<i64> = committed[0].1.iter().map(|(_, c)| c.as_ref().unwrap().offset).collect();
    assert_eq!(offsets, vec![9, 4]);
    // Offsets for a group not added to the transaction are refused.
    b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    let refused = b
        .txn_offset_commit(&RequestContext::local(), "tx", "other", p.0, p.1, -1, "", None, vec![commit(0, 1)], V1)
        .await;
    assert!(matches!(refused, Err(BrokerError::InvalidTxnState(_))));
}

#[tokio::test]
async fn timed_out_transactions_are_aborted_and_their_producer_fenced() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let p = b.init_transactional_producer(&RequestContext::local(), "tx", 1, None).await.unwrap();
    b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 0, "slow")).unwrap();
    tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    b.transaction_housekeeping().await;
    assert_eq!(state(&b, "tx").await, TxnState::CompleteAbort);
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 2);
    assert!(matches!(
        b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await,
        Err(BrokerError::ProducerFenced(_))
    ));
    let listed = b.list_transactions(&["CompleteAbort".into()], &[], -1).await;
    assert_eq!(listed.len(), 1);
    assert!(b.list_transactions(&["Ongoing".into()], &[], -1).await.is_empty());
}

#[tokio::test]
async fn state_and_open_transactions_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let (p, first) = {
        let b = with_topic(Broker::open(BrokerConfig::default(), dir.path()).unwrap());
        let p = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
        b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
        b.add_offsets_to_txn(&RequestContext::local(), "tx", p.0, p.1, "g").await.unwrap();
        b.txn_offset_commit(&RequestContext::local(), "tx", "g", p.0, p.1, -1, "", None, vec![commit(0, 1)], V1)
            .await
            .unwrap();
        let first = b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 0, "open")).unwrap();
        first.wait_durable().await.unwrap();
        // Dropped without shutdown: an unclean stop.
        (p, first.base_offset)
    };
    let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
    assert_eq!(state(&b, "tx").await, TxnState::Ongoing);
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), first, "the open transaction is recovered");
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await.unwrap();
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 2);
    assert_eq!(b.fetch_offsets(&RequestContext::local(), "g", None).unwrap()[0].1[0].1.as_ref().unwrap().offset, 1);
    drop(b);
    let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
    assert_eq!(state(&b, "tx").await, TxnState::CompleteCommit);
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 2, "markers are replayed");
    let next = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    assert_eq!(next, (p.0, p.1 + 1));
}

#[tokio::test]
async fn a_commit_interrupted_after_prepare_is_finished_at_the_next_start() {
    let dir = tempfile::tempdir().unwrap();
    let p = {
        let b = with_topic(Broker::open(BrokerConfig::default(), dir.path()).unwrap());
        let p = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
        b.add_partitions_to_txn(
            &RequestContext::local(),
            "tx",
            p.0,
            p.1,
            vec![("t".into(), 0), ("t".into(), 1)],
            false,
        )
        .await
        .unwrap();
        b.add_offsets_to_txn(&RequestContext::local(), "tx", p.0, p.1, "g").await.unwrap();
        b.txn_offset_commit(&RequestContext::local(), "tx", "g", p.0, p.1, -1, "", None, vec![commit(1, 5)], V1)
            .await
            .unwrap();
        b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 0, "x")).unwrap().wait_durable().await.unwrap();
        // The crash lands after PrepareCommit was persisted, before any marker.
        let mut meta = b.describe_transactions(&["tx".into()]).await.remove(0).unwrap().meta;
        meta.state = TxnState::PrepareCommit;
        b.persist_txn("tx", Some(&meta)).await.unwrap();
        p
    };
    let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 0);
    b.transaction_housekeeping().await;
    assert_eq!(state(&b, "tx").await, TxnState::CompleteCommit);
    assert_eq!(b.partition("t", 0).unwrap().last_stable_offset(), 2);
    assert_eq!(b.fetch_offsets(&RequestContext::local(), "g", None).unwrap()[0].1[0].1.as_ref().unwrap().offset, 5);
    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, true, V1).await.unwrap();
}

/// read_committed over a file-backed log: a slice wholly below the last stable offset is
/// sent as a file slice; one that an open transaction cuts is read and cut in memory.
#[tokio::test]
async fn read_committed_sends_file_slices_only_when_wholly_stable() {
    use tidelog_log::Records;

    let dir = tempfile::tempdir().unwrap();
    let b = with_topic(Broker::open(BrokerConfig::default(), dir.path()).unwrap());
    let part = b.partition("t", 0).unwrap();
    for value in ["a", "b"] {
        b.append(&RequestContext::local(), "t", 0, &plain_batch(value)).unwrap();
    }
    let p = b.init_transactional_producer(&RequestContext::local(), "tx", 60_000, None).await.unwrap();
    b.add_partitions_to_txn(&RequestContext::local(), "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    b.append(&RequestContext::local(), "t", 0, &txn_batch(p, 0, "open")).unwrap();
    b.append(&RequestContext::local(), "t", 0, &plain_batch("after")).unwrap();
    let uncommitted = part.read_isolated(0, 1 << 20, false).unwrap().records;

    let cut = part.read_for_sending(0, 1 << 20, true).unwrap();
    assert_eq!(cut.last_stable_offset, 2);
    let Records::Memory(stable) = cut.records else { panic!("an open transaction cuts the slice in memory") };
    assert_eq!(stable, part.read_isolated(0, 2 * uncommitted.len(), true).unwrap().records);
    let first_two = tidelog_log::batch::batches(&uncommitted).nth(1).unwrap().unwrap().1.end;
    assert_eq!(stable, uncommitted.slice(..first_two), "exactly the two batches before the transaction");

    b.end_txn(&RequestContext::local(), "tx", p.0, p.1, false, V1).await.unwrap();
    let whole = part.read_for_sending(0, 1 << 20, true).unwrap();
    assert_eq!(whole.last_stable_offset, part.offsets().high_watermark);
    assert_eq!(whole.aborted.len(), 1, "the aborted transaction is listed for the client to skip");
    let Records::File(slice) = whole.records else { panic!("a wholly stable read is a file slice") };
    assert_eq!((slice.first_offset, slice.next_offset), (0, whole.last_stable_offset));
    let all = part.read_isolated(0, 1 << 20, false).unwrap().records;
    assert_eq!(slice.read().unwrap(), all, "the slice is the same bytes read_uncommitted returns");
    // Past the last stable offset there is nothing; past the log end, an error.
    assert!(part.read_for_sending(whole.last_stable_offset, 1 << 20, true).unwrap().records.is_empty());
    assert!(part.read_for_sending(whole.last_stable_offset + 1, 1 << 20, true).is_err());
}

#[tokio::test]
async fn a_transactional_batch_is_stored_only_in_a_partition_its_transaction_added() {
    let b = with_topic(Broker::in_memory(BrokerConfig::default()));
    let ctx = RequestContext::local();
    let p = b.init_transactional_producer(&ctx, "tx", 60_000, None).await.unwrap();
    let stray = b.append(&ctx, "t", 0, &txn_batch(p, 0, "stray"));
    assert!(matches!(stray, Err(BrokerError::PartitionNotInTransaction { .. })), "{stray:?}");
    b.add_partitions_to_txn(&ctx, "tx", p.0, p.1, vec![("t".into(), 0)], false).await.unwrap();
    b.append(&ctx, "t", 0, &txn_batch(p, 0, "a")).unwrap();
    b.append(&ctx, "t", 0, &txn_batch(p, 1, "b")).unwrap();
    assert!(matches!(
        b.append(&ctx, "t", 1, &txn_batch(p, 0, "other")),
        Err(BrokerError::PartitionNotInTransaction { .. })
    ));
    b.end_txn(&ctx, "tx", p.0, p.1, true, V1).await.unwrap();
    // The transaction is over: a late batch would open one nobody closes.
    assert!(matches!(
        b.append(&ctx, "t", 0, &txn_batch(p, 2, "late")),
        Err(BrokerError::PartitionNotInTransaction { .. })
    ));
    let partition = b.partition("t", 0).unwrap();
    assert_eq!(partition.last_stable_offset(), partition.offsets().log_end_offset, "no hanging transaction");
    assert_eq!(b.partition("t", 1).unwrap().offsets().log_end_offset, 0, "nothing of the stray batches stored");
}
