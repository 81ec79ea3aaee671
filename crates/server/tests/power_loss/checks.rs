//! What must hold after a power cut and restart, checked against the history. Each
//! check returns findings (one line each, with numbers) rather than panicking, so that
//! one run reports everything that broke.

use std::collections::{BTreeMap, HashMap};
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::{Message, Offset, TopicPartitionList};

use super::history::Acked;
use super::kinesis::Kinesis;
use super::traffic::kafka_config;
use super::GROUP;

const WAIT: Duration = Duration::from_secs(10);

/// One partition as read back from the broker.
pub struct PartitionLog {
    pub log_start: i64,
    pub high_watermark: i64,
    /// offset → value, for every record read.
    pub records: BTreeMap<i64, Vec<u8>>,
}

/// Reads every partition of `topic` from its log start to its high watermark, noting
/// each offset below the high watermark that holds no record.
pub fn read_topic(kafka: &str, topic: &str, partitions: i32, findings: &mut Vec<String>) -> Vec<PartitionLog> {
    let consumer: BaseConsumer = kafka_config(kafka)
        .set("group.id", "power-loss-reader")
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        // A fetch below the log start or into a hole must be an error, not a silent jump.
        .set("auto.offset.reset", "error")
        .create()
        .expect("reader");
    let mut logs = Vec::new();
    let mut assignment = TopicPartitionList::new();
    for partition in 0..partitions {
        let (log_start, high_watermark) = match consumer.fetch_watermarks(topic, partition, WAIT) {
            Ok(w) => w,
            Err(e) => {
                findings.push(format!("{topic}/{partition}: cannot read the watermarks: {e}"));
                (0, 0)
            }
        };
        if log_start != 0 {
            findings
                .push(format!("{topic}/{partition}: log start offset is {log_start}, expected 0 (nothing deletes)"));
        }
        if high_watermark > log_start {
            assignment.add_partition_offset(topic, partition, Offset::Offset(log_start)).expect("assignment");
        }
        logs.push(PartitionLog { log_start, high_watermark, records: BTreeMap::new() });
    }
    consumer.assign(&assignment).expect("assign");
    let done = |logs: &[PartitionLog], next: &HashMap<i32, i64>| {
        logs.iter().enumerate().all(|(p, l)| next.get(&(p as i32)).copied().unwrap_or(l.log_start) >= l.high_watermark)
    };
    let mut next: HashMap<i32, i64> = HashMap::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !done(&logs, &next) && Instant::now() < deadline {
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(m)) => {
                let Some(log) = logs.get_mut(m.partition() as usize) else { continue };
                if m.offset() < log.high_watermark {
                    log.records.insert(m.offset(), m.payload().unwrap_or_default().to_vec());
                }
                next.insert(m.partition(), m.offset() + 1);
            }
            Some(Err(e)) => findings.push(format!("{topic}: fetch error: {e}")),
            None => {}
        }
    }
    for (partition, log) in logs.iter().enumerate() {
        let missing: Vec<i64> = (log.log_start..log.high_watermark).filter(|o| !log.records.contains_key(o)).collect();
        if !missing.is_empty() {
            findings.push(format!(
                "{topic}/{partition}: {} of the offsets {}..{} below the high watermark hold no record ({})",
                missing.len(),
                log.log_start,
                log.high_watermark,
                ranges(&missing)
            ));
        }
    }
    logs
}

/// Every acknowledged record is at its offset with its value.
pub fn acknowledged_records_survive(topic: &str, acked: &Acked, logs: &[PartitionLog], findings: &mut Vec<String>) {
    let mut lost: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    let mut changed: BTreeMap<i32, Vec<i64>> = BTreeMap::new();
    for r in &acked.records {
        let Some(log) = logs.get(r.partition as usize) else { continue };
        match log.records.get(&r.offset) {
            None => lost.entry(r.partition).or_default().push(r.offset),
            Some(v) if *v != r.value => changed.entry(r.partition).or_default().push(r.offset),
            Some(_) => {}
        }
    }
    for (partition, offsets) in lost {
        let log = &logs[partition as usize];
        findings.push(format!(
            "{topic}/{partition}: {} acknowledged (acks=all) records lost: offsets {} (high watermark now {})",
            offsets.len(),
            ranges(&offsets),
            log.high_watermark
        ));
    }
    for (partition, offsets) in changed {
        findings.push(format!(
            "{topic}/{partition}: {} acknowledged offsets now hold another record: {}",
            offsets.len(),
            ranges(&offsets)
        ));
    }
}

/// No two acknowledged records share an offset: a restarted broker never hands out an
/// offset it had acknowledged before.
pub fn no_offset_acknowledged_twice(topic: &str, acked: &Acked, findings: &mut Vec<String>) {
    let mut first: HashMap<(i32, i64), usize> = HashMap::new();
    let mut reused: BTreeMap<(i32, usize, usize), Vec<i64>> = BTreeMap::new();
    for r in &acked.records {
        if let Some(earlier) = first.insert((r.partition, r.offset), r.round) {
            reused.entry((r.partition, earlier, r.round)).or_default().push(r.offset);
        }
    }
    for ((partition, earlier, later), offsets) in reused {
        findings.push(format!(
            "{topic}/{partition}: {} offsets acknowledged in round {earlier} were acknowledged again, for other \
             records, after the restart (round {later}): {}",
            offsets.len(),
            ranges(&offsets)
        ));
    }
}

/// The group's committed offsets are at least what was acknowledged as committed.
pub fn commits_survive(kafka: &str, topic: &str, acked: &Acked, findings: &mut Vec<String>) {
    let consumer: BaseConsumer = kafka_config(kafka).set("group.id", GROUP).create().expect("offset reader");
    let mut wanted = TopicPartitionList::new();
    for partition in acked.commits.keys() {
        wanted.add_partition(topic, *partition);
    }
    let committed = match consumer.committed_offsets(wanted, WAIT) {
        Ok(c) => c,
        Err(e) => return findings.push(format!("group {GROUP}: OffsetFetch failed: {e}")),
    };
    for (partition, expected) in &acked.commits {
        let found = committed.find_partition(topic, *partition).map(|e| e.offset());
        match found {
            Some(Offset::Offset(o)) if o >= *expected => {}
            other => findings.push(format!(
                "group {GROUP} {topic}/{partition}: committed offset is {other:?}, but {expected} was acknowledged"
            )),
        }
    }
}

/// Every answered PutRecords entry is returned by GetRecords with its sequence number
/// and data, and no sequence number was answered twice.
pub fn puts_survive(kinesis: &str, stream: &str, acked: &Acked, findings: &mut Vec<String>) {
    let client = Kinesis::new(kinesis);
    let mut shards: BTreeMap<&str, HashMap<String, Vec<u8>>> = BTreeMap::new();
    for put in &acked.puts {
        shards.entry(put.shard_id.as_str()).or_default();
    }
    for (shard, records) in shards.iter_mut() {
        match client.read_shard(stream, shard) {
            Ok(read) => records.extend(read),
            Err(e) => findings.push(format!("{stream}/{shard}: cannot read: {e}")),
        }
    }
    let mut lost: BTreeMap<&str, usize> = BTreeMap::new();
    let mut changed: BTreeMap<&str, usize> = BTreeMap::new();
    let mut seen: HashMap<(&str, &str), usize> = HashMap::new();
    for put in &acked.puts {
        let shard = put.shard_id.as_str();
        if let Some(round) = seen.insert((shard, put.sequence_number.as_str()), put.round) {
            findings.push(format!(
                "{stream}/{shard}: sequence number {} answered in round {round} and again in round {}",
                put.sequence_number, put.round
            ));
        }
        match shards.get(shard).and_then(|r| r.get(&put.sequence_number)) {
            None => *lost.entry(shard).or_default() += 1,
            Some(data) if *data != put.data => *changed.entry(shard).or_default() += 1,
            Some(_) => {}
        }
    }
    for (shard, n) in lost {
        let total = acked.puts.iter().filter(|p| p.shard_id == shard).count();
        findings.push(format!(
            "{stream}/{shard}: {n} of {total} answered PutRecords entries are not returned by GetRecords"
        ));
    }
    for (shard, n) in changed {
        findings.push(format!("{stream}/{shard}: {n} answered sequence numbers now return other data"));
    }
}

/// `[1, 2, 3, 7]` → "1..=3, 7" (repeats once); long lists are shortened.
pub fn ranges(offsets: &[i64]) -> String {
    let mut sorted = offsets.to_vec();
    sorted.sort_unstable();
    sorted.dedup();
    let mut parts: Vec<String> = Vec::new();
    let mut i = 0;
    while i < sorted.len() {
        let start = sorted[i];
        while i + 1 < sorted.len() && sorted[i + 1] == sorted[i] + 1 {
            i += 1;
        }
        parts.push(if sorted[i] == start { start.to_string() } else { format!("{start}..={}", sorted[i]) });
        i += 1;
    }
    if parts.len() > 8 {
        let more = parts.len() - 8;
        parts.truncate(8);
        parts.push(format!("and {more} more ranges"));
    }
    parts.join(", ")
}
