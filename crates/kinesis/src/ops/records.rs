//! The data path: PutRecord(s) route by MD5 of the partition key (or ExplicitHashKey) to
//! a shard and append there, answered once durable; GetShardIterator and GetRecords read
//! the same partition logs Kafka clients use (key = partition key, value = data,
//! timestamp = arrival).

use std::borrow::Cow;

use base64_simd::STANDARD;
use bytes::Bytes;
use futures::future::join_all;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use tidelog_broker::{now_ms, OffsetQuery, StoredRecord};

use super::streams::{existing, hash_key_range, shard, shards, writable};
use super::{epoch_seconds, Output};
use crate::answer::Answer;
use crate::error::KinesisError;
use crate::iterator::ShardIterator;
use crate::model::{self, Shard, ShardAppend};
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{shard_id, StreamRef};

const MAX_RECORD_BYTES: usize = 1 << 20;
const MAX_PUT_RECORDS: usize = 500;
const MAX_PUT_BYTES: usize = 5 << 20;
const MAX_GET_RECORDS: i64 = 10_000;
const MAX_GET_BYTES: usize = 10 << 20;

/// One record of PutRecord or PutRecords. Its base64 data is borrowed from the request
/// body where it has no JSON escapes (always, from the AWS SDKs).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    partition_key: String,
    explicit_hash_key: Option<String>,
}

/// A checked entry: its hash key, partition key and data.
type Routed = (u128, Bytes, Bytes);

/// `field`: the member path's prefix in errors, e.g. `records.3.member.`; built only
/// for an error, not for each of 500 good records.
fn route(entry: Entry<'_>, field: impl Fn() -> String) -> Result<Routed, KinesisError> {
    let key_len = entry.partition_key.chars().count();
    if !(1..=256).contains(&key_len) {
        return Err(KinesisError::validation(
            &format!("{}partitionKey", field()),
            &entry.partition_key,
            "Member must have length less than or equal to 256 and greater than or equal to 1",
        ));
    }
    let data = STANDARD
        .decode_to_vec(entry.data.as_bytes())
        .map_err(|e| KinesisError::serialization(format!("Data is not valid base64: {e}")))?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(KinesisError::validation(
            &format!("{}data", field()),
            format!("java.nio.HeapByteBuffer[pos=0 lim={} cap={}]", data.len(), data.len()),
            "Member must have length less than or equal to 1048576",
        ));
    }
    let hash = match &entry.explicit_hash_key {
        Some(text) => text.parse::<u128>().map_err(|_| {
            KinesisError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        })?,
        None => u128::from_be_bytes(Md5::digest(entry.partition_key.as_bytes()).into()),
    };
    Ok((hash, Bytes::from(entry.partition_key), Bytes::from(data)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput<'a> {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(flatten, borrow)]
    entry: Entry<'a>,
    #[allow(dead_code)] // order within a shard is already the order of arrival
    sequence_number_for_ordering: Option<String>,
}

pub async fn put_record(call: &Call, input: PutRecordInput<'_>) -> Output {
    let name = writable(call, &input.stream)?;
    let routed = route(input.entry, String::new)?;
    let partition = route_partitions(call, &name, &[routed.0])?[0];
    call.limits.admit_writes(&name, &[(partition, routed.2.len())]).remove(0)?;
    let appended = append(call, &name, &[routed])?;
    let ShardAppend { partition, produced, .. } = appended
        .into_iter()
        .next()
        .ok_or_else(|| KinesisError::new("InternalFailure", "the record was not appended to any shard"))?;
    let produced = produced.map_err(|e| KinesisError::from_broker(e, &name))?;
    produced.wait_durable().await.map_err(|e| KinesisError::from_broker(e, &name))?;
    super::reshard::scale_on_demand(call, &name, &[partition]);
    Ok(json!({
        "ShardId": shard_id(partition),
        "SequenceNumber": sequence::encode(partition, produced.base_offset),
        "EncryptionType": "NONE",
    }))
}

fn append(call: &Call, name: &str, records: &[Routed]) -> Result<Vec<ShardAppend>, KinesisError> {
    model::append_by_hash(&call.broker, &call.caller, name, records).map_err(|e| KinesisError::from_broker(e, name))
}

/// The open shard each hash key routes to now (for throughput accounting).
fn route_partitions(call: &Call, name: &str, hashes: &[u128]) -> Result<Vec<i32>, KinesisError> {
    let open: Vec<Shard> = shards(call, name)?.into_iter().filter(Shard::is_open).collect();
    hashes
        .iter()
        .map(|&hash| {
            open.iter()
                .find(|s| s.holds(hash))
                .map(|s| s.partition)
                .ok_or_else(|| KinesisError::new("InternalFailure", format!("no open shard of {name} holds {hash}")))
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput<'a> {
    // The two members of `StreamRef`, not `#[serde(flatten)] StreamRef`: flatten buffers
    // the whole body, all 500 records, in a tree before typing it.
    stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
    #[serde(borrow)]
    records: Vec<Entry<'a>>,
}

pub async fn put_records(call: &Call, input: PutRecordsInput<'_>) -> Result<Answer, KinesisError> {
    let stream = StreamRef { stream_name: input.stream_name, stream_arn: input.stream_arn };
    let name = writable(call, &stream)?;
    let count = input.records.len();
    if !(1..=MAX_PUT_RECORDS).contains(&count) {
        return Err(KinesisError::validation(
            "records",
            format!("[{count} records]"),
            "Member must have length less than or equal to 500 and greater than or equal to 1",
        ));
    }
    let routed: Vec<Routed> = input
        .records
        .into_iter()
        .enumerate()
        .map(|(i, e)| route(e, || format!("records.{}.member.", i + 1)))
        .collect::<Result<_, _>>()?;
    let total: usize = routed.iter().map(|r| r.1.len() + r.2.len()).sum();
    if total > MAX_PUT_BYTES {
        return Err(KinesisError::invalid_argument(format!(
            "Records size exceeds 5 MB limit: {total} bytes of data and partition keys"
        )));
    }
    // Records over a shard's throughput limit fail alone, as on AWS; the rest are
    // appended, one batch per shard in request order, each answered with its own offset.
    let mut answers: Vec<Option<PutResult>> = vec![None; count];
    let partitions = route_partitions(call, &name, &routed.iter().map(|r| r.0).collect::<Vec<_>>())?;
    let writes: Vec<(i32, usize)> = partitions.iter().zip(&routed).map(|(&p, r)| (p, r.2.len())).collect();
    let mut accepted = Vec::new();
    for (i, (r, admitted)) in routed.into_iter().zip(call.limits.admit_writes(&name, &writes)).enumerate() {
        match admitted {
            Ok(()) => accepted.push((i, r)),
            Err(e) => answers[i] = Some(PutResult::Failed { error_code: e.kind, error_message: e.message }),
        }
    }
    let records: Vec<Routed> = accepted.iter().map(|(_, r)| r.clone()).collect();
    let appended = append(call, &name, &records)?;
    let touched: Vec<i32> = appended.iter().map(|a| a.partition).collect();
    // Every shard's fsync at once, as Kafka's Produce waits for its partitions: a request
    // spanning shards waits for the slowest shard, not for the sum of them.
    let durable = join_all(appended.into_iter().map(|ShardAppend { partition, indexes, produced }| async move {
        let result = match produced {
            Ok(produced) => produced.wait_durable().await.map(|()| produced.base_offset),
            Err(e) => Err(e),
        };
        (partition, indexes, result)
    }))
    .await;
    for (partition, indexes, result) in durable {
        let indexes: Vec<usize> = indexes.iter().map(|&i| accepted[i].0).collect();
        match result {
            Ok(base) => {
                let shard = shard_id(partition);
                for (n, &i) in indexes.iter().enumerate() {
                    let sequence_number = sequence::encode(partition, base + n as u64);
                    answers[i] = Some(PutResult::Stored { shard_id: shard.clone(), sequence_number });
                }
            }
            Err(e) => {
                let error = KinesisError::from_broker(e, &name);
                for &i in &indexes {
                    let error_message = error.message.clone();
                    answers[i] = Some(PutResult::Failed { error_code: "InternalFailure", error_message });
                }
            }
        }
    }
    super::reshard::scale_on_demand(call, &name, &touched);
    let records: Vec<PutResult> = answers
        .into_iter()
        .map(|a| {
            a.unwrap_or_else(|| PutResult::Failed {
                error_code: "InternalFailure",
                error_message: "the record was not appended".into(),
            })
        })
        .collect();
    let failed_record_count = records.iter().filter(|r| matches!(r, PutResult::Failed { .. })).count();
    Ok(Answer::typed(PutRecordsOutput { failed_record_count, records, encryption_type: "NONE" }))
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsOutput {
    failed_record_count: usize,
    records: Vec<PutResult>,
    encryption_type: &'static str,
}

/// One record's outcome in a PutRecords answer.
#[derive(Clone, Serialize)]
#[serde(untagged)]
enum PutResult {
    #[serde(rename_all = "PascalCase")]
    Stored { shard_id: String, sequence_number: String },
    #[serde(rename_all = "PascalCase")]
    Failed { error_code: &'static str, error_message: String },
}

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
}

pub fn get_shard_iterator(call: &Call, input: IteratorInput) -> Output {
    let name = writable(call, &input.stream)?;
    let found = shard(call, &name, &input.shard_id)?;
    let position = Position {
        kind: &input.shard_iterator_type,
        sequence_number: input.starting_sequence_number.as_deref(),
        timestamp: input.timestamp,
        field: "shardIteratorType",
    };
    let offset = starting_offset(call, &name, &found, &position)?;
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

/// The offset a position names in `shard`, within what the shard still holds.
pub(crate) fn starting_offset(call: &Call, name: &str, shard: &Shard, at: &Position<'_>) -> Result<u64, KinesisError> {
    let index = shard.partition;
    let partition = call.broker.partition(name, index).map_err(|e| KinesisError::from_broker(e, name))?;
    let start = partition.offsets().log_start_offset;
    let end = shard_end(shard, partition.last_stable_offset());
    let sequence = || {
        at.sequence_number.ok_or_else(|| {
            KinesisError::invalid_argument(format!("StartingSequenceNumber is required for {}", at.kind))
        })
    };
    let offset = match at.kind {
        "TRIM_HORIZON" => start,
        "LATEST" => end,
        "AT_SEQUENCE_NUMBER" => sequence::decode(sequence()?, index)?,
        "AFTER_SEQUENCE_NUMBER" => sequence::decode(sequence()?, index)? + 1,
        "AT_TIMESTAMP" => {
            let ts = at
                .timestamp
                .ok_or_else(|| KinesisError::invalid_argument("Timestamp is required for AT_TIMESTAMP"))?;
            let query = OffsetQuery::Timestamp((ts * 1000.0) as i64);
            match call.broker.list_offset(&call.caller, name, index, query).map_err(|e| KinesisError::from_broker(e, name))? {
                (-1, _) => end,
                (offset, _) => offset as u64,
            }
        }
        other => {
            return Err(KinesisError::validation(
                at.field,
                other,
                "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
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
    existing(call, &stream)?;
    let found = shard(call, &name, &shard_id(iterator.shard))?;
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
    use super::*;

    fn entry(data: &str) -> Entry<'_> {
        Entry { data: Cow::Borrowed(data), partition_key: "k".into(), explicit_hash_key: None }
    }

    #[test]
    fn data_must_be_canonical_padded_base64() {
        let (_, key, data) = route(entry("eA=="), String::new).unwrap();
        assert_eq!((key.as_ref(), data.as_ref()), (&b"k"[..], &b"x"[..]));
        assert!(route(entry(""), String::new).unwrap().2.is_empty());
        for bad in ["eA", "eB==", "eA==\n", "e A==", "eA===", "!!"] {
            let e = route(entry(bad), String::new).err().unwrap();
            assert_eq!(e.kind, "SerializationException", "{bad:?}");
        }
    }

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
