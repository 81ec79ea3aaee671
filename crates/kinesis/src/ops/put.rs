//! The write path: PutRecord and PutRecords route each record by MD5 of its partition key
//! (or its ExplicitHashKey, or evenly under the AUTO distribution strategy) to a shard and
//! append there, answered once durable.
//!
//! Limits as AWS sets them: a record is its data plus its partition key, up to the
//! stream's maximum record size (1 MiB unless UpdateMaxRecordSize raised it, at most
//! 10 MiB); a PutRecords request carries at most 500 records and 10 MiB. A record over
//! its limit fails the whole request with InvalidArgumentException, never one record with
//! a retryable per-record error.

use std::borrow::Cow;

use base64_simd::STANDARD;
use bytes::Bytes;
use futures::future::join_all;
use md5::{Digest, Md5};
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::streams::{shards, writable};
use super::Output;
use crate::answer::Answer;
use crate::body::RequestBody;
use crate::error::{account, KinesisError};
use crate::model::{self, Shard, ShardAppend, StreamSettings, BATCH_HEADER_BYTES, RECORD_FRAMING_BYTES};
use crate::sequence;
use crate::server::Call;
use crate::spec::{self, blob_error, blob_value, Violations};
use crate::stream_ref::{parse_shard_index, shard_id, StreamRef};

/// A PutRecords request's data and partition keys together, at most.
const MAX_PUT_RECORDS_BYTES: usize = 10 << 20;

/// One record of PutRecord or PutRecords. Its base64 data is borrowed from the request
/// body where it has no JSON escapes (always, from the AWS SDKs).
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct Entry<'a> {
    #[serde(borrow)]
    data: Cow<'a, str>,
    /// Optional in the model: a stream with the AUTO distribution strategy needs none.
    partition_key: Option<String>,
    explicit_hash_key: Option<String>,
}

/// A checked entry: its hash key, partition key and data.
type Routed = (u128, Bytes, Bytes);

/// What routing a record needs to know about its stream.
struct Destination {
    name: String,
    /// Data plus partition key, at most.
    max_record_bytes: usize,
    /// Below the stream's limit when the topic's `max.message.bytes` (a topic created
    /// through Kafka) cannot hold a record that large in a batch.
    max_batch_record_bytes: usize,
    auto_distribution: bool,
}

impl Destination {
    fn of(call: &Call, name: String) -> Destination {
        let settings: StreamSettings = model::settings(&call.broker, &name).unwrap_or_default();
        let batch = call.broker.topic(&name).map_or(usize::MAX, |t| t.limits.max_message_bytes);
        Destination {
            max_record_bytes: settings.max_record_bytes(),
            max_batch_record_bytes: batch.saturating_sub(BATCH_HEADER_BYTES + RECORD_FRAMING_BYTES),
            auto_distribution: settings.auto_distribution,
            name,
        }
    }
}

/// Decodes and sizes one record and picks its hash key.
fn route(entry: Entry<'_>, to: &Destination) -> Result<Routed, KinesisError> {
    let data = STANDARD.decode_to_vec(entry.data.as_bytes()).map_err(|_| {
        KinesisError::serialization(blob_error(&entry.data).unwrap_or_else(|| "Data is not valid base64".into()))
    })?;
    let partition_key = match (entry.partition_key, to.auto_distribution) {
        (Some(key), _) => key,
        (None, true) => String::new(),
        (None, false) => {
            return Err(KinesisError::invalid_argument(format!(
                "PartitionKey is required: stream {} under account {} distributes records by partition key (USER_PARTITION_KEY).",
                to.name,
                account()
            )))
        }
    };
    let size = data.len() + partition_key.len();
    if size > to.max_record_bytes {
        return Err(KinesisError::invalid_argument(format!(
            "Record size {size} bytes (data plus partition key) exceeds the maximum record size of {} KiB for stream {} under account {}.",
            to.max_record_bytes >> 10,
            to.name,
            account()
        )));
    }
    if size > to.max_batch_record_bytes {
        return Err(KinesisError::invalid_argument(format!(
            "Record size {size} bytes (data plus partition key) exceeds what topic {} takes in a record batch (max.message.bytes); UpdateMaxRecordSize raises it.",
            to.name
        )));
    }
    let hash = match (&entry.explicit_hash_key, to.auto_distribution) {
        // AUTO ignores both the partition key and ExplicitHashKey, as AWS documents.
        (_, true) => uuid::Uuid::new_v4().as_u128(),
        (Some(text), false) => text.parse::<u128>().map_err(|_| {
            KinesisError::invalid_argument(format!(
                "Invalid ExplicitHashKey. ExplicitHashKey must be in the range: [0, 2^128-1]. Specified value was {text}"
            ))
        })?,
        (None, false) => u128::from_be_bytes(Md5::digest(partition_key.as_bytes()).into()),
    };
    Ok((hash, Bytes::from(partition_key), Bytes::from(data)))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutRecordInput<'a> {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(flatten, borrow)]
    entry: Entry<'a>,
    sequence_number_for_ordering: Option<String>,
    dry_run: Option<bool>,
}

/// SequenceNumberForOrdering must be a sequence number of this stream. Records of a shard
/// are stored in arrival order, so every later put to that shard already gets a higher
/// number, which is what the member asks for.
fn check_ordering(call: &Call, name: &str, sequence_number: &str) -> Result<(), KinesisError> {
    let shard = sequence_number.get(2..14).and_then(parse_shard_index);
    let known = shard.and_then(|index| {
        let shards: Vec<Shard> = shards(call, name).ok()?;
        shards.iter().any(|s| s.partition == index).then_some(index)
    });
    match known {
        Some(index) if sequence::decode(sequence_number, index).is_ok() => Ok(()),
        _ => Err(KinesisError::invalid_argument(format!(
            "ExclusiveMinimumSequenceNumber {sequence_number} used in PutRecord on stream {name} under account {} is invalid.",
            account()
        ))),
    }
}

pub async fn put_record(call: &Call, input: PutRecordInput<'_>) -> Output {
    let name = writable(call, &input.stream)?;
    if let Some(sequence_number) = &input.sequence_number_for_ordering {
        check_ordering(call, &name, sequence_number)?;
    }
    let to = Destination::of(call, name);
    let routed = route(input.entry, &to)?;
    super::stop_if_dry_run(input.dry_run)?;
    let name = to.name;
    let partition = route_partitions(call, &name, &[routed.0])?[0];
    call.limits.admit_writes(&name, &[(partition, routed.2.len())]).remove(0)?;
    let appended = append(call, &name, &[routed])?;
    let ShardAppend { partition, produced, .. } = appended
        .into_iter()
        .next()
        .ok_or_else(|| KinesisError::internal("the record was not appended to any shard"))?;
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
                .ok_or_else(|| KinesisError::internal(format!("no open shard of {name} holds {hash}")))
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
    dry_run: Option<bool>,
}

/// The length of the data a base64 text holds, without decoding it.
fn decoded_len(text: &str) -> usize {
    let padding = text.bytes().rev().take_while(|&b| b == b'=').count().min(2);
    (text.len() / 4 * 3).saturating_sub(padding)
}

/// PutRecords' input, typed straight from the body and then checked against the model as
/// `spec` checks every other operation, in the same order and words. A body that does not
/// type is checked as a tree, so its error is AWS's too.
pub fn checked_put_records(body: &RequestBody) -> Result<PutRecordsInput<'_>, KinesisError> {
    let input: PutRecordsInput = match body.input() {
        Ok(input) => input,
        Err(typing) => {
            spec::check("PutRecords", &body.tree()?)?;
            return Err(typing);
        }
    };
    let text = |s: &str| Value::String(s.to_string());
    let mut found = Violations::default();
    let count = input.records.len();
    if !(1..=500).contains(&count) {
        let constraint = if count == 0 { "greater than or equal to 1" } else { "less than or equal to 500" };
        found.fail("records", Some(format!("[{count} records]")), &format!("Member must have length {constraint}"));
    }
    for (i, entry) in input.records.iter().enumerate() {
        let at = |member: &str| format!("records.{}.member.{member}", i + 1);
        if let Some(key) = &entry.partition_key {
            found.member(&at("partitionKey"), "PartitionKey", &text(key));
        }
        let len = decoded_len(&entry.data);
        if len > 10 << 20 {
            found.fail(&at("data"), Some(blob_value(len)), "Member must have length less than or equal to 10485760");
        }
        if let Some(key) = &entry.explicit_hash_key {
            found.member(&at("explicitHashKey"), "HashKey", &text(key));
        }
    }
    match (&input.stream_name, &input.stream_arn) {
        (None, None) => found.fail("streamName", None, "Member must not be null"),
        (name, arn) => {
            if let Some(name) = name {
                found.member("streamName", "StreamName", &text(name));
            }
            if let Some(arn) = arn {
                found.member("streamARN", "StreamARN", &text(arn));
            }
        }
    }
    found.into_result()?;
    Ok(input)
}

pub async fn put_records(call: &Call, input: PutRecordsInput<'_>) -> Result<Answer, KinesisError> {
    let stream = StreamRef { stream_name: input.stream_name, stream_arn: input.stream_arn };
    let to = Destination::of(call, writable(call, &stream)?);
    let count = input.records.len();
    let routed: Vec<Routed> = input.records.into_iter().map(|e| route(e, &to)).collect::<Result<_, _>>()?;
    let name = to.name;
    let total: usize = routed.iter().map(|r| r.1.len() + r.2.len()).sum();
    if total > MAX_PUT_RECORDS_BYTES {
        return Err(KinesisError::invalid_argument(format!(
            "Records size exceeds 10 MB limit: {total} bytes of data and partition keys"
        )));
    }
    super::stop_if_dry_run(input.dry_run)?;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(data: &str) -> Entry<'_> {
        Entry { data: Cow::Borrowed(data), partition_key: Some("k".into()), explicit_hash_key: None }
    }

    fn destination(max_record_bytes: usize) -> Destination {
        Destination { name: "s".into(), max_record_bytes, max_batch_record_bytes: usize::MAX, auto_distribution: false }
    }

    #[test]
    fn data_must_be_canonical_padded_base64() {
        let (_, key, data) = route(entry("eA=="), &destination(1 << 20)).unwrap();
        assert_eq!((key.as_ref(), data.as_ref()), (&b"k"[..], &b"x"[..]));
        assert!(route(entry(""), &destination(1 << 20)).unwrap().2.is_empty());
        for bad in ["eA", "eB==", "eA==\n", "e A==", "eA===", "!!"] {
            let e = route(entry(bad), &destination(1 << 20)).err().unwrap();
            assert_eq!(e.kind, "SerializationException", "{bad:?}");
        }
    }

    #[test]
    fn a_record_is_its_data_and_key_up_to_the_limit() {
        let at_limit = STANDARD.encode_to_string(vec![0u8; 1023]);
        assert!(route(entry(&at_limit), &destination(1024)).is_ok(), "1023 bytes of data and a 1-byte key");
        let over = STANDARD.encode_to_string(vec![0u8; 1024]);
        let e = route(entry(&over), &destination(1024)).err().unwrap();
        assert_eq!(e.kind, "InvalidArgumentException");
        assert_eq!(decoded_len(&over), 1024);
        assert_eq!(decoded_len("eA=="), 1);
        assert_eq!(decoded_len("eHk="), 2);
    }
}
