//! AWS's per-shard throughput: writes of 1 MiB/s and 1,000 records/s, reads of 5
//! GetRecords calls/s and 2 MiB/s. Always metered (on-demand streams scale on it);
//! refused with ProvisionedThroughputExceededException only when `kinesis.enforce.limits`
//! is on, since local development rarely wants AWS's throttling.

use std::collections::HashMap;

use parking_lot::Mutex;
use tidelog_broker::now_ms;

use crate::error::KinesisError;

pub const WRITE_BYTES_PER_S: u64 = 1 << 20;
pub const WRITE_RECORDS_PER_S: u64 = 1000;
const READ_CALLS_PER_S: u64 = 5;
const READ_BYTES_PER_S: i64 = 2 << 20;

#[derive(Debug, Default, Clone, Copy)]
struct Meter {
    /// The epoch second the counters below belong to.
    second: i64,
    write_bytes: u64,
    write_records: u64,
    read_calls: u64,
    /// The previous second's writes, which on-demand scaling looks at.
    last_write_bytes: u64,
    last_write_records: u64,
    /// Read allowance in bytes, refilled at 2 MiB/s up to 2 MiB; a large GetRecords may
    /// overdraw it, and then the next calls wait, as AWS makes them.
    read_allowance: i64,
    allowance_ms: i64,
}

impl Meter {
    fn roll(&mut self, now: i64) {
        let second = now.div_euclid(1000);
        if second != self.second {
            let consecutive = second == self.second + 1;
            self.last_write_bytes = if consecutive { self.write_bytes } else { 0 };
            self.last_write_records = if consecutive { self.write_records } else { 0 };
            (self.second, self.write_bytes, self.write_records, self.read_calls) = (second, 0, 0, 0);
        }
        if self.allowance_ms == 0 {
            (self.read_allowance, self.allowance_ms) = (READ_BYTES_PER_S, now);
        }
        let refill = (now - self.allowance_ms).max(0) * READ_BYTES_PER_S / 1000;
        self.read_allowance = (self.read_allowance + refill).min(READ_BYTES_PER_S);
        self.allowance_ms = now;
    }
}

pub struct Limits {
    enforce: bool,
    /// Per stream, per shard.
    meters: Mutex<HashMap<String, HashMap<i32, Meter>>>,
}

/// The meter of one shard, created on first use; the stream's name is copied only then.
fn meter<'a>(meters: &'a mut HashMap<String, HashMap<i32, Meter>>, stream: &str, shard: i32) -> &'a mut Meter {
    if !meters.contains_key(stream) {
        meters.insert(stream.to_string(), HashMap::new());
    }
    meters.get_mut(stream).map(|m| m.entry(shard).or_default()).expect("inserted above")
}

fn exceeded(message: String) -> KinesisError {
    KinesisError::new("ProvisionedThroughputExceededException", message)
}

impl Limits {
    pub fn new(enforce: bool) -> Self {
        Limits { enforce, meters: Mutex::new(HashMap::new()) }
    }

    /// Counts each record of `(shard, bytes)`, or refuses it when its shard is over the
    /// limit; one answer per record, as PutRecords reports them.
    pub fn admit_writes(&self, stream: &str, writes: &[(i32, usize)]) -> Vec<Result<(), KinesisError>> {
        self.admit_writes_at(now_ms(), stream, writes)
    }

    fn admit_writes_at(&self, now: i64, stream: &str, writes: &[(i32, usize)]) -> Vec<Result<(), KinesisError>> {
        let mut meters = self.meters.lock();
        writes
            .iter()
            .map(|&(shard, bytes)| {
                let meter = meter(&mut meters, stream, shard);
                meter.roll(now);
                let over = meter.write_records + 1 > WRITE_RECORDS_PER_S
                    || meter.write_bytes + bytes as u64 > WRITE_BYTES_PER_S;
                if self.enforce && over {
                    return Err(exceeded(format!(
                        "Rate exceeded for shard shardId-{shard:012} in stream {stream} under account {}.",
                        crate::error::account()
                    )));
                }
                meter.write_records += 1;
                meter.write_bytes += bytes as u64;
                Ok(())
            })
            .collect()
    }

    /// Counts one GetRecords call, or refuses it when the shard's read limits are spent.
    pub fn admit_read(&self, stream: &str, shard: i32) -> Result<(), KinesisError> {
        self.admit_read_at(now_ms(), stream, shard)
    }

    fn admit_read_at(&self, now: i64, stream: &str, shard: i32) -> Result<(), KinesisError> {
        let mut meters = self.meters.lock();
        let meter = meter(&mut meters, stream, shard);
        meter.roll(now);
        if self.enforce && (meter.read_calls >= READ_CALLS_PER_S || meter.read_allowance <= 0) {
            return Err(exceeded(format!(
                "Rate exceeded for Shard - {}/shardId-{shard:012}/GetRecords",
                crate::error::account()
            )));
        }
        meter.read_calls += 1;
        Ok(())
    }

    /// Charges the bytes a GetRecords call returned against the shard's read allowance.
    pub fn record_read(&self, stream: &str, shard: i32, bytes: usize) {
        if let Some(meter) = self.meters.lock().get_mut(stream).and_then(|m| m.get_mut(&shard)) {
            meter.read_allowance -= bytes as i64;
        }
    }

    /// Whether the shard took more than one provisioned shard's writes in the last full
    /// second: on-demand streams split such a shard.
    pub fn overloaded(&self, stream: &str, shard: i32) -> bool {
        self.overloaded_at(now_ms(), stream, shard)
    }

    fn overloaded_at(&self, now: i64, stream: &str, shard: i32) -> bool {
        let mut meters = self.meters.lock();
        let Some(meter) = meters.get_mut(stream).and_then(|m| m.get_mut(&shard)) else { return false };
        meter.roll(now);
        let current = meter.write_bytes > WRITE_BYTES_PER_S || meter.write_records > WRITE_RECORDS_PER_S;
        current || meter.last_write_bytes > WRITE_BYTES_PER_S || meter.last_write_records > WRITE_RECORDS_PER_S
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: i64 = 1_000_000_000_000;

    #[test]
    fn enforced_write_limits_refuse_until_the_next_second() {
        let on = Limits::new(true);
        for _ in 0..WRITE_RECORDS_PER_S {
            on.admit_writes_at(T, "s", &[(0, 10)])[0].clone().unwrap();
        }
        let answers = on.admit_writes_at(T + 999, "s", &[(0, 10), (1, 10)]);
        assert_eq!(answers[0].clone().unwrap_err().kind, "ProvisionedThroughputExceededException");
        assert!(answers[1].is_ok(), "another shard's record is not refused");
        assert!(on.admit_writes_at(T + 1000, "s", &[(0, 10)])[0].is_ok());
        assert!(on.admit_writes_at(T, "s", &[(2, WRITE_BYTES_PER_S as usize + 1)])[0].is_err());
    }

    #[test]
    fn reads_are_limited_by_calls_and_by_bytes() {
        let on = Limits::new(true);
        for _ in 0..5 {
            on.admit_read_at(T, "s", 3).unwrap();
        }
        assert!(on.admit_read_at(T + 10, "s", 3).is_err());
        // 10 MiB returned by one call: the shard waits until the allowance is back.
        on.admit_read_at(T + 1000, "s", 3).unwrap();
        on.record_read("s", 3, 10 << 20);
        assert!(on.admit_read_at(T + 2000, "s", 3).is_err());
        on.admit_read_at(T + 6000, "s", 3).unwrap();
    }

    #[test]
    fn open_limits_only_count_and_report_overload() {
        let off = Limits::new(false);
        for _ in 0..2000 {
            assert!(off.admit_writes_at(T, "s", &[(0, 1)])[0].is_ok());
        }
        assert!(off.overloaded_at(T + 1500, "s", 0));
        assert!(!off.overloaded_at(T + 5000, "s", 0));
        assert!(!off.overloaded_at(T, "s", 1));
    }
}
