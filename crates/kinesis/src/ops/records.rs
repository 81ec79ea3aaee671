//! The read path: GetShardIterator and GetRecords read the same partition logs Kafka
//! clients use (key = partition key, value = data, timestamp = arrival). Writes are in
//! `put`.

use base64_simd::STANDARD;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tidelog_broker::{now_ms, OffsetQuery, StoredRecord};

use super::streams::{existing, hash_key_range, shard, shards, writable};
use super::{epoch_seconds, Output};
use crate::answer::Answer;
use crate::error::account;
use crate::error::KinesisError;
use crate::iterator::ShardIterator;
use crate::model::Shard;
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{shard_id, StreamRef};

const MAX_GET_RECORDS: i64 = 10_000;
const MAX_GET_BYTES: usize = 10 << 20;

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct IteratorInput {
    #[serde(flatten)]
    stream: StreamRef,
    shard_id: String,
    shard_iterator_type: String,
    starting_sequence_number: Option<String>,
    /// Epoch seconds.
    timestamp: Option<f64>,
    dry_run: Option<bool>,
}

/// AWS names the shard, not the stream, when a read's stream does not exist.
fn shard_of_missing_stream(e: KinesisError, shard: i32, stream: &str) -> KinesisError {
    match e.kind {
        "ResourceNotFoundException" => KinesisError::shard_not_found(&shard_id(shard), stream),
        _ => e,
    }
}

pub fn get_shard_iterator(call: &Call, input: IteratorInput) -> Output {
    // The shard id is read first: one AWS cannot read is refused whatever the stream.
    let stream = input.stream.name()?;
    let index = crate::stream_ref::shard_index(&input.shard_id, &stream)?;
    let name = writable(call, &input.stream).map_err(|e| shard_of_missing_stream(e, index, &stream))?;
    let found = shard(call, &name, &input.shard_id)?;
    let position = Position {
        kind: &input.shard_iterator_type,
        sequence_number: input.starting_sequence_number.as_deref(),
        timestamp: input.timestamp,
        field: "shardIteratorType",
    };
    let offset = starting_offset(call, &name, &found, &position)?;
    super::stop_if_dry_run(input.dry_run)?;
    let iterator = ShardIterator { stream: name, shard: found.partition, offset, created_ms: now_ms() };
    Ok(json!({ "ShardIterator": iterator.encode() }))
}

/// Where a reader starts: a shard iterator type or a SubscribeToShard starting position.
pub(crate) struct Position<'a> {
    pub kind: &'a str,
    pub sequence_number: Option<&'a str>,
    /// Epoch seconds.
    pub timestamp: Option<f64>,
    /// The member named in validation errors.
    pub field: &'a str,
}

/// The iterator types that start at a sequence number, and those that must not have one.
const MUST_EITHER: &str = "Must either specify (1) AT_SEQUENCE_NUMBER or AFTER_SEQUENCE_NUMBER and StartingSequenceNumber or (2) TRIM_HORIZON or LATEST and no StartingSequenceNumber.";

/// The offset a sequence number names in `shard`, refused in AWS's words when it is not
/// one of this shard's.
fn sequence_offset(sequence_number: &str, shard: &Shard, name: &str) -> Result<u64, KinesisError> {
    let id = shard_id(shard.partition);
    sequence::decode(sequence_number, shard.partition).map_err(|_| {
        match sequence_number.get(2..14).and_then(crate::stream_ref::parse_shard_index) {
            Some(other) if sequence_number.len() == 56 && other != shard.partition => KinesisError::invalid_argument(format!(
                "Invalid StartingSequenceNumber. It encodes {}, while it was used in a call to a shard with {id}",
                shard_id(other)
            )),
            _ => KinesisError::invalid_argument(format!(
                "StartingSequenceNumber {sequence_number} used in GetShardIterator on shard {id} in stream {name} under account {} is invalid.",
                account()
            )),
        }
    })
}

/// The offset a position names in `shard`, within what the shard still holds.
pub(crate) fn starting_offset(call: &Call, name: &str, shard: &Shard, at: &Position<'_>) -> Result<u64, KinesisError> {
    let index = shard.partition;
    let partition = call.broker.partition(name, index).map_err(|e| KinesisError::from_broker(e, name))?;
    let start = partition.offsets().log_start_offset;
    let end = shard_end(shard, partition.last_stable_offset());
    let by_sequence = matches!(at.kind, "AT_SEQUENCE_NUMBER" | "AFTER_SEQUENCE_NUMBER");
    match (by_sequence, at.sequence_number) {
        (true, None) => {
            return Err(KinesisError::invalid_argument(format!(
                "{MUST_EITHER} Request specified {} and no StartingSequenceNumber.",
                at.kind
            )))
        }
        (false, Some(_)) if at.kind != "AT_TIMESTAMP" => {
            return Err(KinesisError::invalid_argument(format!(
                "{MUST_EITHER} Request specified {} and also a StartingSequenceNumber.",
                at.kind
            )))
        }
        _ => {}
    }
    let offset = match (at.kind, at.sequence_number) {
        ("TRIM_HORIZON", _) => start,
        ("LATEST", _) => end,
        ("AT_SEQUENCE_NUMBER", Some(seq)) => sequence_offset(seq, shard, name)?,
        ("AFTER_SEQUENCE_NUMBER", Some(seq)) => sequence_offset(seq, shard, name)? + 1,
        ("AT_TIMESTAMP", _) => {
            let ts = at.timestamp.ok_or_else(|| {
                KinesisError::invalid_argument(
                    "Must specify timestampInMillis parameter for iterator of type AT_TIMESTAMP. Current request has no timestamp parameter.",
                )
            })?;
            let (millis, now) = ((ts * 1000.0) as i64, now_ms());
            if millis > now {
                return Err(KinesisError::invalid_argument(format!(
                    "The timestampInMillis parameter cannot be greater than the currentTimestampInMillis. timestampInMillis: {millis}, currentTimestampInMillis: {now}"
                )));
            }
            let query = OffsetQuery::Timestamp(millis);
            match call.broker.list_offset(&call.caller, name, index, query).map_err(|e| KinesisError::from_broker(e, name))? {
                (-1, _) => end,
                (offset, _) => offset as u64,
            }
        }
        (other, _) => {
            return Err(KinesisError::validation(
                at.field,
                other,
                "Member must satisfy enum value set: [AT_SEQUENCE_NUMBER, AFTER_SEQUENCE_NUMBER, TRIM_HORIZON, LATEST, AT_TIMESTAMP]",
            ))
        }
    };
    // Trimmed positions start at the oldest record still kept.
    Ok(offset.clamp(start, end.max(start)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    shard_iterator: String,
    limit: Option<i64>,
    dry_run: Option<bool>,
}

pub fn get_records(call: &Call, input: GetRecordsInput) -> Result<Answer, KinesisError> {
    let now = now_ms();
    let iterator = ShardIterator::decode(&input.shard_iterator, now)?;
    let limit = match input.limit {
        Some(l) if !(1..=MAX_GET_RECORDS).contains(&l) => {
            return Err(KinesisError::validation("limit", l, "Member must have value less than or equal to 10000"))
        }
        Some(l) => l as usize,
        None => MAX_GET_RECORDS as usize,
    };
    let name = iterator.stream.clone();
    let stream = StreamRef { stream_name: Some(name.clone()), stream_arn: None };
    existing(call, &stream).map_err(|e| shard_of_missing_stream(e, iterator.shard, &name))?;
    let found = shard(call, &name, &shard_id(iterator.shard))?;
    super::stop_if_dry_run(input.dry_run)?;
    call.limits.admit_read(&name, iterator.shard)?;
    let read = read_shard(call, &name, &found, iterator.offset, limit, MAX_GET_BYTES)?;
    call.limits.record_read(&name, iterator.shard, read.bytes);
    let answer = match read.next {
        // The end of a closed shard: no next iterator, and the children to read next.
        None => GetRecordsOutput {
            records: read.records,
            next_shard_iterator: None,
            millis_behind_latest: 0,
            child_shards: Some(read.child_shards),
        },
        Some(offset) => GetRecordsOutput {
            records: read.records,
            next_shard_iterator: Some(ShardIterator { offset, created_ms: now, ..iterator }.encode()),
            millis_behind_latest: read.millis_behind,
            child_shards: None,
        },
    };
    Ok(Answer::typed(answer))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsOutput {
    records: Vec<RecordOut>,
    #[serde(skip_serializing_if = "Option::is_none")]
    next_shard_iterator: Option<String>,
    millis_behind_latest: i64,
    #[serde(skip_serializing_if = "Option::is_none")]
    child_shards: Option<Vec<Value>>,
}

/// One read of a shard's Kinesis view, as GetRecords and SubscribeToShard answer it.
pub(crate) struct ShardRead {
    pub records: Vec<RecordOut>,
    /// Data bytes in `records` (what read limits charge).
    pub bytes: usize,
    /// Where the next read starts; `None` at the end of a closed shard.
    pub next: Option<u64>,
    pub millis_behind: i64,
    /// At the end of a closed shard, the shards to read next; empty otherwise.
    pub child_shards: Vec<Value>,
}

/// Reads committed records of `shard` from `offset`. A position retention has passed
/// continues at the oldest record kept; a closed shard ends where it closed, whatever
/// Kafka producers appended after.
pub(crate) fn read_shard(
    call: &Call,
    name: &str,
    shard: &Shard,
    offset: u64,
    limit: usize,
    max_bytes: usize,
) -> Result<ShardRead, KinesisError> {
    let index = shard.partition;
    let read = call
        .broker
        .read_records(&call.caller, name, index, offset, limit, max_bytes)
        .or_else(|e| match e {
            tidelog_broker::BrokerError::OffsetOutOfRange { log_start_offset, .. } if offset < log_start_offset => {
                call.broker.read_records(&call.caller, name, index, log_start_offset, limit, max_bytes)
            }
            other => Err(other),
        })
        .map_err(|e| KinesisError::from_broker(e, name))?;
    let ending = shard.ending_offset;
    let kept: Vec<_> = read.records.iter().filter(|r| ending.is_none_or(|e| r.offset < e)).collect();
    let bytes = kept.iter().map(|r| r.value.as_ref().map_or(0, |v| v.len())).sum();
    let records = kept.iter().map(|r| RecordOut::new(index, r)).collect();
    let next = ending.map_or(read.next_offset, |e| read.next_offset.min(e));
    if ending.is_some_and(|e| next >= e) {
        let child_shards = child_shards(call, name, shard)?;
        return Ok(ShardRead { records, bytes, next: None, millis_behind: 0, child_shards });
    }
    let millis_behind = match kept.last() {
        Some(last) if next < read.high_watermark => (now_ms() - last.timestamp).max(0),
        _ => 0,
    };
    crate::metrics::iterator_age(name, &shard_id(index), millis_behind);
    Ok(ShardRead { records, bytes, next: Some(next), millis_behind, child_shards: Vec::new() })
}

/// Where the Kinesis view of a shard ends: its closing offset, or the last stable offset.
fn shard_end(shard: &Shard, last_stable_offset: u64) -> u64 {
    shard.ending_offset.map_or(last_stable_offset, |e| e.min(last_stable_offset))
}

/// The shards that continue a closed one, as GetRecords and SubscribeToShard report them.
fn child_shards(call: &Call, name: &str, parent: &Shard) -> Result<Vec<Value>, KinesisError> {
    Ok(shards(call, name)?
        .iter()
        .filter(|s| s.parent == Some(parent.partition) || s.adjacent_parent == Some(parent.partition))
        .map(|s| {
            let parents: Vec<String> = s.parent.into_iter().chain(s.adjacent_parent).map(shard_id).collect();
            json!({
                "ShardId": shard_id(s.partition),
                "ParentShards": parents,
                "HashKeyRange": hash_key_range(s),
            })
        })
        .collect())
}

/// One record as GetRecords and SubscribeToShard carry it.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
pub(crate) struct RecordOut {
    sequence_number: String,
    /// Epoch seconds with millisecond precision.
    approximate_arrival_timestamp: f64,
    data: String,
    partition_key: String,
}

impl RecordOut {
    fn new(shard: i32, r: &StoredRecord) -> RecordOut {
        RecordOut {
            sequence_number: sequence::encode(shard, r.offset),
            approximate_arrival_timestamp: epoch_seconds(r.timestamp),
            data: STANDARD.encode_to_string(r.value.as_deref().unwrap_or_default()),
            partition_key: String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()).into_owned(),
        }
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn record_out_writes_data_as_base64_and_seconds() {
        let stored = StoredRecord {
            offset: 7,
            timestamp: 1_700_000_000_123,
            key: Some(Bytes::from_static(b"pk")),
            value: Some(Bytes::from_static(b"\x00\x01bin")),
        };
        let json = serde_json::to_value(RecordOut::new(3, &stored)).unwrap();
        assert_eq!(json["Data"], "AAFiaW4=");
        assert_eq!(json["PartitionKey"], "pk");
        assert_eq!(json["ApproximateArrivalTimestamp"], 1_700_000_000.123);
        assert_eq!(json["SequenceNumber"], sequence::encode(3, 7));
    }
}
