//! The data path: PutRecord(s) route by MD5 of the partition key (or ExplicitHashKey) to
//! a shard and append there, answered once durable; GetShardIterator and GetRecords read
//! the same partition logs Kafka clients use (key = partition key, value = data,
//! timestamp = arrival).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::Bytes;
use md5::{Digest, Md5};
use serde::Deserialize;
use serde_json::{json, Value};
use tidelog_broker::streams::shard_for_hash_key;
use tidelog_broker::{now_ms, OffsetQuery};

use super::streams::existing;
use super::{seconds, Output};
use crate::error::KinesisError;
use crate::iterator::ShardIterator;
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{shard_id, shard_index, StreamRef};

const MAX_RECORD_BYTES: usize = 1 << 20;
const MAX_PUT_RECORDS: usize = 500;
const MAX_PUT_BYTES: usize = 5 << 20;
const MAX_GET_RECORDS: i64 = 10_000;
const MAX_GET_BYTES: usize = 10 << 20;

/// One record of PutRecord or PutRecords.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry {
    data: String,
    partition_key: String,
    explicit_hash_key: Option<String>,
}

/// A checked entry: its shard and payload.
struct Routed {
    shard: usize,
    key: Bytes,
    data: Bytes,
}

fn route(entry: Entry, shards: usize, field: &str) -> Result<Routed, KinesisError> {
    let key_len = entry.partition_key.chars().count();
    if !(1..=256).contains(&key_len) {
        return Err(KinesisError::validation(
            &format!("{field}partitionKey"),
            &entry.partition_key,
            "Member must have length less than or equal to 256 and greater than or equal to 1",
        ));
    }
    let data = STANDARD
        .decode(entry.data.as_bytes())
        .map_err(|e| KinesisError::serialization(format!("Data is not valid base64: {e}")))?;
    if data.len() > MAX_RECORD_BYTES {
        return Err(KinesisError::validation(
            &format!("{field}data"),
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
    Ok(Routed {
        shard: shard_for_hash_key(hash, shards),
        key: Bytes::from(entry.partition_key),
        data: Bytes::from(data),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(flatten)]
    entry: Entry,
    #[allow(dead_code)] // order within a shard is already the order of arrival
    sequence_number_for_ordering: Option<String>,
}

pub async fn put_record(call: &Call, input: PutRecordInput) -> Output {
    let (name, shards) = existing(call, &input.stream)?;
    let routed = route(input.entry, shards, "")?;
    let produced = call
        .broker
        .append_records(&name, routed.shard as i32, &[(Some(routed.key), Some(routed.data))])
        .map_err(|e| KinesisError::from_broker(e, &name))?;
    produced.wait_durable().await.map_err(|e| KinesisError::from_broker(e, &name))?;
    Ok(json!({
        "ShardId": shard_id(routed.shard as i32),
        "SequenceNumber": sequence::encode(routed.shard as i32, produced.base_offset),
        "EncryptionType": "NONE",
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordsInput {
    #[serde(flatten)]
    stream: StreamRef,
    records: Vec<Entry>,
}

pub async fn put_records(call: &Call, input: PutRecordsInput) -> Output {
    let (name, shards) = existing(call, &input.stream)?;
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
        .map(|(i, e)| route(e, shards, &format!("records.{}.member.", i + 1)))
        .collect::<Result<_, _>>()?;
    let total: usize = routed.iter().map(|r| r.data.len() + r.key.len()).sum();
    if total > MAX_PUT_BYTES {
        return Err(KinesisError::invalid_argument(format!(
            "Records size exceeds 5 MB limit: {total} bytes of data and partition keys"
        )));
    }
    // One batch per shard, in request order; each record's answer is its own offset.
    let mut answers: Vec<Value> = vec![Value::Null; count];
    let mut by_shard: std::collections::BTreeMap<usize, Vec<usize>> = Default::default();
    for (i, r) in routed.iter().enumerate() {
        by_shard.entry(r.shard).or_default().push(i);
    }
    let mut pending = Vec::new();
    for (shard, indexes) in by_shard {
        let records: Vec<_> =
            indexes.iter().map(|&i| (Some(routed[i].key.clone()), Some(routed[i].data.clone()))).collect();
        match call.broker.append_records(&name, shard as i32, &records) {
            Ok(produced) => pending.push((shard, indexes, produced)),
            Err(e) => fail(&mut answers, &indexes, &KinesisError::from_broker(e, &name)),
        }
    }
    for (shard, indexes, produced) in pending {
        match produced.wait_durable().await {
            Ok(()) => {
                for (n, &i) in indexes.iter().enumerate() {
                    answers[i] = json!({
                        "ShardId": shard_id(shard as i32),
                        "SequenceNumber": sequence::encode(shard as i32, produced.base_offset + n as u64),
                    });
                }
            }
            Err(e) => fail(&mut answers, &indexes, &KinesisError::from_broker(e, &name)),
        }
    }
    let failed = answers.iter().filter(|a| a.get("ErrorCode").is_some()).count();
    Ok(json!({ "FailedRecordCount": failed, "Records": answers, "EncryptionType": "NONE" }))
}

/// Per-record failures, as PutRecords reports them (the request itself succeeds).
fn fail(answers: &mut [Value], indexes: &[usize], error: &KinesisError) {
    for &i in indexes {
        answers[i] = json!({ "ErrorCode": "InternalFailure", "ErrorMessage": error.message });
    }
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
    let (name, shards) = existing(call, &input.stream)?;
    let shard = shard_index(&input.shard_id)?;
    if shard as usize >= shards {
        return Err(KinesisError::from_broker(
            tidelog_broker::BrokerError::UnknownTopicOrPartition { topic: name.clone(), partition: Some(shard) },
            &name,
        ));
    }
    let partition = call.broker.partition(&name, shard).map_err(|e| KinesisError::from_broker(e, &name))?;
    let (start, end) = (partition.offsets().log_start_offset, partition.last_stable_offset());
    let sequence = || {
        input.starting_sequence_number.as_deref().ok_or_else(|| {
            KinesisError::invalid_argument(format!(
                "StartingSequenceNumber is required for ShardIteratorType {}",
                input.shard_iterator_type
            ))
        })
    };
    let offset = match input.shard_iterator_type.as_str() {
        "TRIM_HORIZON" => start,
        "LATEST" => end,
        "AT_SEQUENCE_NUMBER" => sequence::decode(sequence()?, shard)?,
        "AFTER_SEQUENCE_NUMBER" => sequence::decode(sequence()?, shard)? + 1,
        "AT_TIMESTAMP" => {
            let ts = input.timestamp.ok_or_else(|| {
                KinesisError::invalid_argument("Timestamp is required for ShardIteratorType AT_TIMESTAMP")
            })?;
            let query = OffsetQuery::Timestamp((ts * 1000.0) as i64);
            match call.broker.list_offset(&name, shard, query).map_err(|e| KinesisError::from_broker(e, &name))? {
                (-1, _) => end,
                (offset, _) => offset as u64,
            }
        }
        other => {
            return Err(KinesisError::validation(
                "shardIteratorType",
                other,
                "Member must satisfy enum value set: [AFTER_SEQUENCE_NUMBER, AT_SEQUENCE_NUMBER, AT_TIMESTAMP, TRIM_HORIZON, LATEST]",
            ))
        }
    };
    // Trimmed positions start at the oldest record still kept.
    let offset = offset.clamp(start, end.max(start));
    let iterator = ShardIterator { stream: name, shard, offset, created_ms: now_ms() };
    Ok(json!({ "ShardIterator": iterator.encode() }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct GetRecordsInput {
    shard_iterator: String,
    limit: Option<i64>,
}

pub fn get_records(call: &Call, input: GetRecordsInput) -> Output {
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
    let read = call
        .broker
        .read_records(&name, iterator.shard, iterator.offset, limit, MAX_GET_BYTES)
        .or_else(|e| match e {
            // Retention moved past the iterator: continue from the oldest kept record.
            tidelog_broker::BrokerError::OffsetOutOfRange { log_start_offset, .. }
                if iterator.offset < log_start_offset =>
            {
                call.broker.read_records(&name, iterator.shard, log_start_offset, limit, MAX_GET_BYTES)
            }
            other => Err(other),
        })
        .map_err(|e| KinesisError::from_broker(e, &name))?;
    let records: Vec<Value> = read
        .records
        .iter()
        .map(|r| {
            json!({
                "SequenceNumber": sequence::encode(iterator.shard, r.offset),
                "ApproximateArrivalTimestamp": seconds(r.timestamp),
                "Data": STANDARD.encode(r.value.as_deref().unwrap_or_default()),
                "PartitionKey": String::from_utf8_lossy(r.key.as_deref().unwrap_or_default()),
            })
        })
        .collect();
    let behind = match read.records.last() {
        Some(last) if read.next_offset < read.high_watermark => (now - last.timestamp).max(0),
        _ => 0,
    };
    let next = ShardIterator { offset: read.next_offset, created_ms: now, ..iterator };
    Ok(json!({ "Records": records, "NextShardIterator": next.encode(), "MillisBehindLatest": behind }))
}
