//! The delivery state of one share-partition (KIP-932), independent of any protocol: the
//! share-partition start offset (SPSO: everything below it is done with), the end offset
//! (SPEO: the first offset never handed out), and between them each record's state and
//! delivery count. Kafka share groups and, later, Pub/Sub subscriptions are front-ends
//! over it.
//!
//! ```text
//!             acquire                    accept
//! Available ───────────▶ Acquired ─────────────▶ Acknowledged
//!     ▲                   │  │ reject, or released with
//!     └── release, lock ──┘  │ delivery count ≥ limit
//!         timeout, leave     └──────────────────▶ Archived
//! ```
//!
//! Offsets between start and end with no record (compacted away, transaction markers,
//! aborted data) are simply absent: nothing can be acquired there.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum RecordState {
    Available,
    Acquired,
    Acknowledged,
    Archived,
}

/// What a consumer says about records it holds (Kafka's AcknowledgeType; a gap, type 0,
/// is an offset with no record, archived like a rejected one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Acknowledgement {
    Accept,
    Release,
    Reject,
    /// Keep the records acquired for another lock duration (KIP-1222).
    Renew,
}

impl Acknowledgement {
    /// Kafka's wire value: 0 gap, 1 accept, 2 release, 3 reject, 4 renew.
    pub fn from_kafka(value: i8) -> Option<Self> {
        match value {
            0 | 3 => Some(Acknowledgement::Reject),
            1 => Some(Acknowledgement::Accept),
            2 => Some(Acknowledgement::Release),
            4 => Some(Acknowledgement::Renew),
            _ => None,
        }
    }
}

/// A run of records handed to one consumer, with how often they have been delivered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AcquiredRange {
    pub first: u64,
    pub last: u64,
    pub delivery_count: i16,
}

/// One batch of the log past the end offset, as acquisition sees it: a batch that is not
/// deliverable (a transaction marker, aborted data under read_committed) is skipped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogBatch {
    pub first: u64,
    pub last: u64,
    pub deliverable: bool,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct InFlight {
    state: RecordState,
    delivery_count: i16,
    owner: Option<String>,
    lock_until_ms: i64,
}

/// Why an acknowledgement was refused: Kafka's INVALID_RECORD_STATE.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("offset {offset} is not acquired by this member")]
pub struct NotAcquired {
    pub offset: u64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SharePartitionState {
    start: u64,
    end: u64,
    records: BTreeMap<u64, InFlight>,
}

/// The durable form: start and end offsets and runs of records sharing a state and
/// delivery count. Acquisitions do not outlive the broker: they are kept as Available.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Snapshot {
    pub start_offset: u64,
    pub end_offset: u64,
    /// (first, last, state, delivery count).
    pub runs: Vec<(u64, u64, RecordState, i16)>,
}

impl SharePartitionState {
    /// A share-partition whose delivery begins at `start`.
    pub fn starting_at(start: u64) -> Self {
        SharePartitionState { start, end: start, records: BTreeMap::new() }
    }

    pub fn start_offset(&self) -> u64 {
        self.start
    }

    pub fn end_offset(&self) -> u64 {
        self.end
    }

    /// Records acquired right now (the in-flight limit counts every record between start
    /// and end, as Kafka's `group.share.partition.max.record.locks` does).
    pub fn in_flight(&self) -> usize {
        self.records.len()
    }

    /// Hands records to `member` until `lock_until_ms`: first those released earlier, then
    /// new batches of the log from the end offset on, while fewer than `max_records` were
    /// taken and fewer than `max_in_flight` records are in flight. New batches are taken
    /// whole (a consumer filters by the ranges), so the limit may be passed by one batch.
    pub fn acquire(
        &mut self,
        member: &str,
        log: impl IntoIterator<Item = LogBatch>,
        max_records: usize,
        max_in_flight: usize,
        lock_until_ms: i64,
    ) -> Vec<AcquiredRange> {
        let mut taken = Vec::new();
        let mut count = 0usize;
        for (&offset, record) in self.records.iter_mut() {
            if count >= max_records {
                break;
            }
            if record.state == RecordState::Available {
                record.state = RecordState::Acquired;
                record.delivery_count = record.delivery_count.saturating_add(1);
                record.owner = Some(member.to_string());
                record.lock_until_ms = lock_until_ms;
                push_offset(&mut taken, offset, record.delivery_count);
                count += 1;
            }
        }
        for batch in log {
            if count >= max_records || self.records.len() >= max_in_flight {
                break;
            }
            if batch.last < self.end {
                continue;
            }
            let first = batch.first.max(self.end);
            self.end = batch.last + 1;
            if !batch.deliverable {
                continue;
            }
            for offset in first..=batch.last {
                let record = InFlight {
                    state: RecordState::Acquired,
                    delivery_count: 1,
                    owner: Some(member.into()),
                    lock_until_ms,
                };
                self.records.insert(offset, record);
            }
            push_range(&mut taken, AcquiredRange { first, last: batch.last, delivery_count: 1 });
            count += (batch.last + 1 - first) as usize;
        }
        self.advance();
        taken
    }

    /// Applies `ack` to the records of `first..=last` that `member` holds; offsets with no
    /// record are skipped. All or nothing: one record not held refuses the whole range.
    pub fn acknowledge(
        &mut self,
        member: &str,
        first: u64,
        last: u64,
        ack: Acknowledgement,
        delivery_limit: i16,
        lock_until_ms: i64,
    ) -> Result<(), NotAcquired> {
        for (&offset, record) in self.records.range(first..=last) {
            if record.state != RecordState::Acquired || record.owner.as_deref() != Some(member) {
                return Err(NotAcquired { offset });
            }
        }
        for record in self.records.range_mut(first..=last).map(|(_, r)| r) {
            match ack {
                Acknowledgement::Accept => settle(record, RecordState::Acknowledged),
                Acknowledgement::Reject => settle(record, RecordState::Archived),
                Acknowledgement::Release => release(record, delivery_limit),
                Acknowledgement::Renew => record.lock_until_ms = lock_until_ms,
            }
        }
        self.advance();
        Ok(())
    }

    /// Makes records whose lock expired available again (or archives them at the delivery
    /// limit). Returns how many were released.
    pub fn release_expired(&mut self, now_ms: i64, delivery_limit: i16) -> usize {
        self.release_where(delivery_limit, |r| r.lock_until_ms <= now_ms)
    }

    /// Gives back every record `member` holds (it left or was removed from the group).
    pub fn release_member(&mut self, member: &str, delivery_limit: i16) -> usize {
        self.release_where(delivery_limit, |r| r.owner.as_deref() == Some(member))
    }

    /// Moves the start to `offset` (AlterShareGroupOffsets, or a reset): nothing is in
    /// flight any more.
    pub fn reset_to(&mut self, offset: u64) {
        *self = SharePartitionState::starting_at(offset);
    }

    fn release_where(&mut self, delivery_limit: i16, mut matches: impl FnMut(&InFlight) -> bool) -> usize {
        let mut released = 0;
        for record in self.records.values_mut() {
            if record.state == RecordState::Acquired && matches(record) {
                release(record, delivery_limit);
                released += 1;
            }
        }
        if released > 0 {
            self.advance();
        }
        released
    }

    /// The start passes every finished record at its head.
    fn advance(&mut self) {
        while let Some(entry) = self.records.first_entry() {
            match entry.get().state {
                RecordState::Acknowledged | RecordState::Archived => {
                    entry.remove();
                }
                _ => break,
            }
        }
        self.start = self.records.first_key_value().map_or(self.end, |(&offset, _)| offset);
    }

    pub fn snapshot(&self) -> Snapshot {
        let mut runs: Vec<(u64, u64, RecordState, i16)> = Vec::new();
        for (&offset, record) in &self.records {
            let state = match record.state {
                RecordState::Acquired => RecordState::Available,
                other => other,
            };
            match runs.last_mut() {
                Some(run) if run.1 + 1 == offset && run.2 == state && run.3 == record.delivery_count => run.1 = offset,
                _ => runs.push((offset, offset, state, record.delivery_count)),
            }
        }
        Snapshot { start_offset: self.start, end_offset: self.end, runs }
    }

    pub fn restore(snapshot: &Snapshot) -> Self {
        let mut state = SharePartitionState::starting_at(snapshot.start_offset);
        state.end = snapshot.end_offset.max(snapshot.start_offset);
        for &(first, last, record_state, delivery_count) in &snapshot.runs {
            for offset in first..=last {
                state
                    .records
                    .insert(offset, InFlight { state: record_state, delivery_count, owner: None, lock_until_ms: 0 });
            }
        }
        state.advance();
        state
    }
}

fn settle(record: &mut InFlight, state: RecordState) {
    record.state = state;
    record.owner = None;
}

fn release(record: &mut InFlight, delivery_limit: i16) {
    let state = if record.delivery_count >= delivery_limit { RecordState::Archived } else { RecordState::Available };
    settle(record, state);
}

fn push_offset(taken: &mut Vec<AcquiredRange>, offset: u64, delivery_count: i16) {
    push_range(taken, AcquiredRange { first: offset, last: offset, delivery_count });
}

/// Adds a range, merged into the previous one when it continues it with the same count.
fn push_range(taken: &mut Vec<AcquiredRange>, range: AcquiredRange) {
    match taken.last_mut() {
        Some(last) if last.last + 1 == range.first && last.delivery_count == range.delivery_count => {
            last.last = range.last
        }
        _ => taken.push(range),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: u64, last: u64) -> LogBatch {
        LogBatch { first, last, deliverable: true }
    }

    const LIMIT: i16 = 3;

    #[test]
    fn records_go_to_one_member_at_a_time_and_the_start_follows_acceptance() {
        let mut s = SharePartitionState::starting_at(0);
        let a = s.acquire("a", [batch(0, 4)], 500, 2000, 1_000);
        assert_eq!(a, vec![AcquiredRange { first: 0, last: 4, delivery_count: 1 }]);
        // Nothing left for b until more is written.
        assert!(s.acquire("b", [batch(0, 4)], 500, 2000, 1_000).is_empty());
        let b = s.acquire("b", [batch(5, 9)], 500, 2000, 1_000);
        assert_eq!(b, vec![AcquiredRange { first: 5, last: 9, delivery_count: 1 }]);
        assert_eq!(s.acknowledge("b", 0, 4, Acknowledgement::Accept, LIMIT, 0), Err(NotAcquired { offset: 0 }));
        s.acknowledge("a", 0, 4, Acknowledgement::Accept, LIMIT, 0).unwrap();
        assert_eq!((s.start_offset(), s.end_offset(), s.in_flight()), (5, 10, 5));
    }

    #[test]
    fn released_records_come_back_with_a_higher_count_until_the_limit_archives_them() {
        let mut s = SharePartitionState::starting_at(0);
        s.acquire("a", [batch(0, 1)], 500, 2000, 1_000);
        s.acknowledge("a", 1, 1, Acknowledgement::Release, LIMIT, 0).unwrap();
        s.acknowledge("a", 0, 0, Acknowledgement::Accept, LIMIT, 0).unwrap();
        assert_eq!(s.acquire("b", [], 500, 2000, 1_000), vec![AcquiredRange { first: 1, last: 1, delivery_count: 2 }]);
        // The lock runs out: back to available, then the third delivery is the last.
        assert_eq!(s.release_expired(1_000, LIMIT), 1);
        assert_eq!(s.acquire("c", [], 500, 2000, 2_000)[0].delivery_count, 3);
        s.acknowledge("c", 1, 1, Acknowledgement::Release, LIMIT, 0).unwrap();
        assert_eq!((s.start_offset(), s.in_flight()), (2, 0), "archived at the delivery limit");
    }

    #[test]
    fn reject_archives_renew_keeps_the_lock_and_markers_are_never_delivered() {
        let mut s = SharePartitionState::starting_at(0);
        let log = [batch(0, 2), LogBatch { first: 3, last: 3, deliverable: false }, batch(4, 5)];
        let taken = s.acquire("a", log, 500, 2000, 1_000);
        assert_eq!(taken.iter().map(|r| (r.first, r.last)).collect::<Vec<_>>(), vec![(0, 2), (4, 5)]);
        s.acknowledge("a", 0, 0, Acknowledgement::Reject, LIMIT, 0).unwrap();
        s.acknowledge("a", 1, 2, Acknowledgement::Renew, LIMIT, 5_000).unwrap();
        assert_eq!(s.release_expired(1_000, LIMIT), 2, "only 4 and 5 had the old lock");
        // The range 1..=5 spans the marker's offset 3, which has no record.
        s.acknowledge("a", 1, 2, Acknowledgement::Accept, LIMIT, 0).unwrap();
        assert_eq!(s.start_offset(), 4);
    }

    #[test]
    fn a_member_that_leaves_gives_its_records_back_and_the_in_flight_limit_holds() {
        let mut s = SharePartitionState::starting_at(10);
        s.acquire("a", [batch(10, 14), batch(15, 19), batch(20, 24)], 500, 6, 1_000);
        assert_eq!(s.end_offset(), 20, "the second batch passes the limit of 6; the third waits");
        assert_eq!(s.release_member("a", LIMIT), 10);
        let again = s.acquire("b", [], 3, 6, 1_000);
        assert_eq!(again, vec![AcquiredRange { first: 10, last: 12, delivery_count: 2 }]);
    }

    #[test]
    fn the_snapshot_keeps_counts_and_outcomes_but_no_acquisition() {
        let mut s = SharePartitionState::starting_at(0);
        s.acquire("a", [batch(0, 5)], 500, 2000, 1_000);
        s.acknowledge("a", 2, 3, Acknowledgement::Accept, LIMIT, 0).unwrap();
        s.acknowledge("a", 4, 4, Acknowledgement::Reject, LIMIT, 0).unwrap();
        let snapshot = s.snapshot();
        let restored = SharePartitionState::restore(&snapshot);
        assert_eq!(restored.snapshot(), snapshot);
        let mut restored = restored;
        let taken = restored.acquire("b", [batch(0, 5), batch(6, 6)], 500, 2000, 1_000);
        let ranges: Vec<_> = taken.iter().map(|r| (r.first, r.last, r.delivery_count)).collect();
        assert_eq!(ranges, vec![(0, 1, 2), (5, 5, 2), (6, 6, 1)], "accepted 2-3 and rejected 4 stay done");
    }
}
