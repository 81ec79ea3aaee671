//! Kinesis load from one client: PutRecords of 500 × 1 KiB and GetRecords loops, as AWS
//! JSON 1.1 over HTTP (what boto3 sends, without boto3's own overhead). The client shares
//! the machine's two cores with the broker, so it does as little as a client can: the
//! PutRecords body is encoded once, and GetRecords answers are parsed into borrowed
//! fields rather than a JSON tree.

use std::time::Instant;

use anyhow::{bail, Context};
use base64_simd::STANDARD;
use serde::Deserialize;
use serde_json::{json, Value};
use std::io::Read;

use crate::kafka_load::LoadResult;

fn call(url: &str, operation: &str, body: Value) -> anyhow::Result<Value> {
    Ok(serde_json::from_slice(&call_raw(url, operation, &serde_json::to_vec(&body)?)?)?)
}

/// One call with an encoded body; the answer's bytes.
fn call_raw(url: &str, operation: &str, body: &[u8]) -> anyhow::Result<Vec<u8>> {
    let response = ureq::post(url)
        .set("X-Amz-Target", &format!("Kinesis_20131202.{operation}"))
        .set("Content-Type", "application/x-amz-json-1.1")
        .send_bytes(body);
    match response {
        Ok(r) => {
            let mut out = Vec::new();
            r.into_reader().read_to_end(&mut out)?;
            Ok(out)
        }
        Err(ureq::Error::Status(code, r)) => bail!("{operation} failed with {code}: {}", r.into_string()?),
        Err(e) => Err(e).context(operation.to_string()),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct PutRecordsOutput {
    failed_record_count: u64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct GetRecordsOutput<'a> {
    #[serde(borrow)]
    records: Vec<RecordOutput<'a>>,
    next_shard_iterator: Option<String>,
    millis_behind_latest: i64,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
struct RecordOutput<'a> {
    data: &'a str,
}

pub fn create_stream(url: &str, stream: &str, shards: u32) -> anyhow::Result<()> {
    call(url, "CreateStream", json!({ "StreamName": stream, "ShardCount": shards })).map(drop)
}

/// `calls` PutRecords of 500 records of `record_bytes`; latency per call.
pub fn put_records(url: &str, stream: &str, calls: u64, record_bytes: usize) -> anyhow::Result<LoadResult> {
    let data = STANDARD.encode_to_string(vec![b'x'; record_bytes]);
    let records: Vec<Value> = (0..500).map(|i| json!({ "Data": data, "PartitionKey": format!("key-{i}") })).collect();
    let body = serde_json::to_vec(&json!({ "StreamName": stream, "Records": records }))?;
    let mut latencies_ms = Vec::with_capacity(calls as usize);
    let started = Instant::now();
    for _ in 0..calls {
        let sent = Instant::now();
        let out: PutRecordsOutput = serde_json::from_slice(&call_raw(url, "PutRecords", &body)?)?;
        if out.failed_record_count != 0 {
            bail!("PutRecords reported {} failures", out.failed_record_count);
        }
        latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
    }
    let records = calls * 500;
    Ok(LoadResult { records, payload_bytes: records * record_bytes as u64, elapsed: started.elapsed(), latencies_ms })
}

/// Reads every shard from TRIM_HORIZON until `expected` records came back.
pub fn get_records(url: &str, stream: &str, shards: u32, expected: u64) -> anyhow::Result<LoadResult> {
    let (mut records, mut bytes) = (0u64, 0u64);
    let started = Instant::now();
    let mut latencies_ms = Vec::new();
    for shard in 0..shards {
        let mut iterator = call(
            url,
            "GetShardIterator",
            json!({ "StreamName": stream, "ShardId": format!("shardId-{shard:012}"), "ShardIteratorType": "TRIM_HORIZON" }),
        )?["ShardIterator"]
            .as_str()
            .context("no iterator")?
            .to_string();
        loop {
            let sent = Instant::now();
            let request = serde_json::to_vec(&json!({ "ShardIterator": iterator, "Limit": 10000 }))?;
            let answer = call_raw(url, "GetRecords", &request)?;
            latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
            let out: GetRecordsOutput<'_> = serde_json::from_slice(&answer)?;
            for r in &out.records {
                bytes += STANDARD.decode_to_vec(r.data)?.len() as u64;
            }
            records += out.records.len() as u64;
            if out.records.is_empty() || out.millis_behind_latest == 0 {
                break;
            }
            iterator = out.next_shard_iterator.context("no next iterator")?;
        }
    }
    if records < expected {
        bail!("read {records} of {expected} records");
    }
    Ok(LoadResult { records, payload_bytes: bytes, elapsed: started.elapsed(), latencies_ms })
}
