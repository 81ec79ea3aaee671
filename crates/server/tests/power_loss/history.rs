//! Everything the broker acknowledged, across rounds: what the checks hold it to.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

/// A Kafka record the broker answered with success under acks=all.
#[derive(Clone, Debug)]
pub struct AckedRecord {
    pub round: usize,
    pub partition: i32,
    pub offset: i64,
    pub value: Vec<u8>,
}

/// A PutRecords entry the broker answered with a shard and sequence number.
#[derive(Clone, Debug)]
pub struct AckedPut {
    pub round: usize,
    pub shard_id: String,
    pub sequence_number: String,
    pub data: Vec<u8>,
}

#[derive(Clone, Default)]
pub struct Acked {
    pub records: Vec<AckedRecord>,
    pub puts: Vec<AckedPut>,
    /// The highest offset per partition whose synchronous commit was acknowledged.
    pub commits: BTreeMap<i32, i64>,
    /// Acknowledged commits per round, for the progress condition and the summary.
    pub commit_count: BTreeMap<usize, usize>,
    /// The last failure of each kind of traffic, to explain a round that stalled.
    pub last_error: BTreeMap<&'static str, String>,
}

impl Acked {
    pub fn records_in(&self, round: usize) -> usize {
        self.records.iter().filter(|r| r.round == round).count()
    }

    pub fn puts_in(&self, round: usize) -> usize {
        self.puts.iter().filter(|p| p.round == round).count()
    }

    pub fn commits_in(&self, round: usize) -> usize {
        self.commit_count.get(&round).copied().unwrap_or(0)
    }
}

/// Acknowledgements, shared by the traffic threads; waiters are woken on each one.
#[derive(Default)]
pub struct History {
    acked: Mutex<Acked>,
    changed: Condvar,
}

impl History {
    pub fn record(&self, record: AckedRecord) {
        self.acked.lock().records.push(record);
        self.changed.notify_all();
    }

    pub fn put(&self, put: AckedPut) {
        self.acked.lock().puts.push(put);
        self.changed.notify_all();
    }

    pub fn committed(&self, round: usize, offsets: &BTreeMap<i32, i64>) {
        let mut acked = self.acked.lock();
        for (partition, offset) in offsets {
            let best = acked.commits.entry(*partition).or_insert(*offset);
            *best = (*best).max(*offset);
        }
        *acked.commit_count.entry(round).or_default() += 1;
        drop(acked);
        self.changed.notify_all();
    }

    pub fn failed(&self, traffic: &'static str, error: String) {
        self.acked.lock().last_error.insert(traffic, error);
    }

    pub fn with<R>(&self, f: impl FnOnce(&Acked) -> R) -> R {
        f(&self.acked.lock())
    }

    /// Waits until `done` holds or `timeout` passes; returns whether it holds.
    pub fn wait_until(&self, timeout: Duration, done: impl Fn(&Acked) -> bool) -> bool {
        let deadline = Instant::now() + timeout;
        let mut acked = self.acked.lock();
        while !done(&acked) {
            if self.changed.wait_until(&mut acked, deadline).timed_out() {
                return done(&acked);
            }
        }
        true
    }
}

/// A stop flag that threads can wait on instead of sleeping.
#[derive(Default)]
pub struct Stop {
    stopped: Mutex<bool>,
    changed: Condvar,
}

impl Stop {
    pub fn stop(&self) {
        *self.stopped.lock() = true;
        self.changed.notify_all();
    }

    pub fn is_stopped(&self) -> bool {
        *self.stopped.lock()
    }

    /// Waits up to `timeout` for the stop; returns whether it came. Used to back off
    /// after a failed request without spinning against a dead broker.
    pub fn wait(&self, timeout: Duration) -> bool {
        let mut stopped = self.stopped.lock();
        if !*stopped {
            self.changed.wait_for(&mut stopped, timeout);
        }
        *stopped
    }
}
