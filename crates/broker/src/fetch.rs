//! Fetch with long-poll: read what is there; if it is less than `min_bytes`, wait for
//! any of the partitions' high watermarks to move (or the deadline, or shutdown) and
//! read again. Never sleeps in a loop.

use std::sync::Arc;
use std::time::Duration;

use futures::future::select_all;
use tidelog_log::{LogOffsets, Records};
use tokio::time::Instant;

use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use crate::partition::Partition;
use crate::producer_state::AbortedTxn;

#[derive(Debug, Clone)]
pub struct FetchPartition {
    pub topic: String,
    pub partition: i32,
    pub fetch_offset: i64,
    pub max_bytes: usize,
    /// The leader epoch the client believes current (-1: none given), checked first.
    pub current_leader_epoch: i32,
}

#[derive(Debug)]
pub struct FetchedPartition {
    pub error: Option<BrokerError>,
    pub offsets: LogOffsets,
    pub last_stable_offset: u64,
    /// read_committed: aborted transactions the records overlap, for the client to drop.
    pub aborted: Vec<AbortedTxn>,
    /// read_uncommitted reads of a file log come as a file slice (see `Records`).
    pub records: Records,
}

impl FetchedPartition {
    fn failed(error: BrokerError, offsets: LogOffsets) -> Self {
        FetchedPartition {
            error: Some(error),
            offsets,
            last_stable_offset: offsets.high_watermark,
            aborted: Vec::new(),
            records: Records::default(),
        }
    }
}

#[derive(Debug, Clone, Copy)]
pub struct FetchLimits {
    pub max_wait: Duration,
    pub min_bytes: usize,
    pub max_bytes: usize,
    /// Only records below the last stable offset (no open transaction's records).
    pub read_committed: bool,
}

impl Broker {
    pub async fn fetch(
        &self,
        ctx: &RequestContext,
        requests: &[FetchPartition],
        limits: FetchLimits,
    ) -> Vec<FetchedPartition> {
        let deadline = Instant::now() + limits.max_wait;
        // A partition the caller may not read answers with the refusal, the others as usual.
        let partitions: Vec<Result<Arc<Partition>>> = requests
            .iter()
            .map(|r| {
                self.authorize(ctx, Operation::Read, Resource::Topic(&r.topic))?;
                self.partition(&r.topic, r.partition)
            })
            .collect();
        let mut watchers: Vec<_> = partitions.iter().filter_map(|p| p.as_ref().ok().map(|p| p.subscribe())).collect();
        let mut shutdown = self.shutdown_signal();
        loop {
            for w in &mut watchers {
                w.borrow_and_update();
            }
            let results = read_once(requests, &partitions, limits);
            let bytes: usize = results.iter().map(|r| r.records.len()).sum();
            let has_error = results.iter().any(|r| r.error.is_some());
            if bytes >= limits.min_bytes
                || has_error
                || watchers.is_empty()
                || Instant::now() >= deadline
                || *shutdown.borrow()
            {
                return results;
            }
            let any_append = select_all(watchers.iter_mut().map(|w| Box::pin(w.changed())));
            tokio::select! {
                _ = any_append => {}
                _ = tokio::time::sleep_until(deadline) => {}
                _ = crate::shutdown::stopped(&mut shutdown) => {}
            }
        }
    }
}

/// One pass over the partitions, as Kafka's `ReplicaManager.readFromLog` fills a response
/// (KIP-74): the budget `max_bytes` is spent in request order, each partition reading at
/// most `min(partition max_bytes, what is left)`. Only the first partition that returns
/// data may exceed either limit, by its first batch, so that a consumer always makes
/// progress; a later partition whose first batch does not fit gets no records (Kafka
/// drops an incomplete first batch rather than send it). The check looks at lengths only,
/// so a file slice stays a slice.
fn read_once(
    requests: &[FetchPartition],
    partitions: &[Result<Arc<Partition>>],
    limits: FetchLimits,
) -> Vec<FetchedPartition> {
    let mut remaining = limits.max_bytes;
    let mut any_data = false;
    requests
        .iter()
        .zip(partitions)
        .map(|(req, part)| {
            let part = match part {
                Ok(p) => p,
                Err(_) => {
                    let error = BrokerError::UnknownTopicOrPartition {
                        topic: req.topic.clone(),
                        partition: Some(req.partition),
                    };
                    return FetchedPartition::failed(error, LogOffsets::default());
                }
            };
            if let Err(e) = part.check_leader_epoch(req.current_leader_epoch) {
                return FetchedPartition::failed(e, part.offsets());
            }
            // `read` returns the marks with the data: one lock on the common path.
            if req.fetch_offset < 0 {
                let offsets = part.offsets();
                let error = BrokerError::OffsetOutOfRange {
                    offset: req.fetch_offset,
                    log_start_offset: offsets.log_start_offset,
                    log_end_offset: offsets.log_end_offset,
                };
                return FetchedPartition::failed(error, offsets);
            }
            let budget = req.max_bytes.min(remaining);
            if budget == 0 && any_data {
                // Out of budget: read nothing, but still report the partition's marks.
                let offsets = part.offsets();
                let last_stable_offset = part.last_stable_offset();
                return FetchedPartition {
                    error: None,
                    offsets,
                    last_stable_offset,
                    aborted: Vec::new(),
                    records: Records::default(),
                };
            }
            match read_partition(part, req.fetch_offset as u64, budget.max(1), limits.read_committed) {
                // The log returns one whole batch past the budget rather than none; only
                // the first partition with data may keep it.
                Ok(fetched) if any_data && fetched.records.len() > budget => {
                    FetchedPartition { records: Records::default(), aborted: Vec::new(), ..fetched }
                }
                Ok(fetched) => {
                    if !fetched.records.is_empty() {
                        any_data = true;
                        remaining = remaining.saturating_sub(fetched.records.len());
                    }
                    fetched
                }
                Err(e) => FetchedPartition::failed(e, part.offsets()),
            }
        })
        .collect()
}

/// One partition's read, counted in its topic's meters. Either isolation level stays in
/// the file; only a read_committed read that an open transaction cuts short is read into
/// memory.
fn read_partition(part: &Partition, offset: u64, max_bytes: usize, read_committed: bool) -> Result<FetchedPartition> {
    let read = part.read_for_sending(offset, max_bytes, read_committed)?;
    match &read.records {
        Records::Memory(bytes) => part.meters().read_batches(bytes),
        // Records counted by offsets spanned: the batches themselves are not read.
        Records::File(slice) => part.meters().read_records(slice.len as u64, slice.next_offset - slice.first_offset),
    }
    Ok(FetchedPartition {
        error: None,
        offsets: read.offsets,
        last_stable_offset: read.last_stable_offset,
        aborted: read.aborted,
        records: read.records,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RequestContext;
    use crate::admin::NewTopic;
    use crate::config::BrokerConfig;

    fn batch(value: &str) -> Vec<u8> {
        crate::test_support::encode_batch(
            1,
            value.as_bytes(),
            crate::broker::now_ms(),
            kafka_protocol::records::Compression::None,
        )
    }

    fn broker() -> Arc<Broker> {
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_topic(
            &RequestContext::local(),
            NewTopic { name: "t".into(), partitions: Some(2), ..Default::default() },
            false,
        )
        .unwrap();
        b
    }

    fn req(partition: i32, fetch_offset: i64) -> FetchPartition {
        FetchPartition { topic: "t".into(), partition, fetch_offset, max_bytes: 1 << 20, current_leader_epoch: -1 }
    }

    #[tokio::test]
    async fn long_poll_is_woken_by_an_append() {
        let b = broker();
        let waiter = {
            let b = b.clone();
            tokio::spawn(async move {
                let limits = FetchLimits {
                    max_wait: Duration::from_secs(30),
                    min_bytes: 1,
                    max_bytes: 1 << 20,
                    read_committed: false,
                };
                b.fetch(&RequestContext::local(), &[req(0, 0), req(1, 0)], limits).await
            })
        };
        tokio::task::yield_now().await;
        b.append(&RequestContext::local(), "t", 1, &batch("hello")).unwrap();
        let results = tokio::time::timeout(Duration::from_secs(10), waiter).await.unwrap().unwrap();
        assert!(results[0].records.is_empty());
        assert!(!results[1].records.is_empty());
        assert_eq!(results[1].offsets.high_watermark, 1);
    }

    #[tokio::test]
    async fn returns_at_deadline_and_reports_errors() {
        let b = broker();
        let limits = FetchLimits {
            max_wait: Duration::from_millis(20),
            min_bytes: 1,
            max_bytes: 1 << 20,
            read_committed: false,
        };
        let results = b.fetch(&RequestContext::local(), &[req(0, 0)], limits).await;
        assert!(results[0].records.is_empty() && results[0].error.is_none());
        let results = b.fetch(&RequestContext::local(), &[req(0, 5), req(7, 0)], limits).await;
        assert!(matches!(results[0].error, Some(BrokerError::OffsetOutOfRange { .. })));
        assert!(matches!(results[1].error, Some(BrokerError::UnknownTopicOrPartition { .. })));
        let ahead = FetchPartition { current_leader_epoch: 3, ..req(0, 0) };
        let results = b.fetch(&RequestContext::local(), &[ahead, req(1, 0)], limits).await;
        assert!(matches!(results[0].error, Some(BrokerError::UnknownLeaderEpoch { given: 3, current: 0 })));
        assert!(results[1].error.is_none());
    }

    #[tokio::test]
    async fn a_later_partition_gets_only_what_fits_in_the_response_budget() {
        let b = broker();
        let big = batch(&"x".repeat(900));
        b.append(&RequestContext::local(), "t", 0, &big).unwrap();
        b.append(&RequestContext::local(), "t", 1, &big).unwrap();
        b.append(&RequestContext::local(), "t", 1, &batch("small")).unwrap();
        // Room for one big batch and a bit: the second partition's first batch does not fit.
        let limits =
            FetchLimits { max_wait: Duration::ZERO, min_bytes: 0, max_bytes: big.len() + 100, read_committed: false };
        let results = b.fetch(&RequestContext::local(), &[req(0, 0), req(1, 0)], limits).await;
        assert_eq!(results[0].records.len(), big.len());
        assert!(results[1].records.is_empty() && results[1].error.is_none());
        assert_eq!(results[1].offsets.high_watermark, 2, "the marks are still reported");
        // From the small batch on, it fits.
        let results = b.fetch(&RequestContext::local(), &[req(0, 0), req(1, 1)], limits).await;
        assert_eq!(results[0].records.len(), big.len());
        assert!(!results[1].records.is_empty() && results[1].records.len() <= 100);
        // The first partition with data may exceed its own partition limit, by one batch.
        let small = FetchPartition { max_bytes: 10, ..req(0, 0) };
        let results = b.fetch(&RequestContext::local(), &[req(1, 5), small], limits).await;
        assert!(matches!(results[0].error, Some(BrokerError::OffsetOutOfRange { .. })));
        assert_eq!(results[1].records.len(), big.len());
    }

    #[tokio::test]
    async fn response_budget_is_shared_but_first_batch_always_fits() {
        let b = broker();
        b.append(&RequestContext::local(), "t", 0, &batch(&"x".repeat(500))).unwrap();
        b.append(&RequestContext::local(), "t", 1, &batch(&"y".repeat(500))).unwrap();
        let limits = FetchLimits { max_wait: Duration::ZERO, min_bytes: 0, max_bytes: 10, read_committed: false };
        let results = b.fetch(&RequestContext::local(), &[req(0, 0), req(1, 0)], limits).await;
        assert!(!results[0].records.is_empty());
        assert!(results[1].records.is_empty());
    }
}
