//! Kinesis load from one client: PutRecords of 500 × 1 KiB and GetRecords loops, as AWS
//! JSON 1.1 over HTTP (what boto3 sends, without boto3's own overhead).

use std::time::Instant;

use anyhow::{bail, Context};
use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use serde_json::{json, Value};

use crate::kafka_load::LoadResult;

fn call(url: &str, operation: &str, body: Value) -> anyhow::Result<Value> {
    let response = ureq::post(url)
        .set("X-Amz-Target", &format!("Kinesis_20131202.{operation}"))
        .set("Content-Type", "application/x-amz-json-1.1")
        .send_json(body);
    match response {
        Ok(r) => Ok(r.into_json()?),
        Err(ureq::Error::Status(code, r)) => bail!("{operation} failed with {code}: {}", r.into_string()?),
        Err(e) => Err(e).context(operation.to_string()),
    }
}

pub fn create_stream(url: &str, stream: &str, shards: u32) -> anyhow::Result<()> {
    call(url, "CreateStream", json!({ "StreamName": stream, "ShardCount": shards })).map(drop)
}

/// `calls` PutRecords of 500 records of `record_bytes`; latency per call.
pub fn put_records(url: &str, stream: &str, calls: u64, record_bytes: usize) -> anyhow::Result<LoadResult> {
    let data = STANDARD.encode(vec![b'x'; record_bytes]);
    let records: Vec<Value> = (0..500).map(|i| json!({ "Data": data, "PartitionKey": format!("key-{i}") })).collect();
    let body = json!({ "StreamName": stream, "Records": records });
    let mut latencies_ms = Vec::with_capacity(calls as usize);
    let started = Instant::now();
    for _ in 0..calls {
        let sent = Instant::now();
        let out = call(url, "PutRecords", body.clone())?;
        if out["FailedRecordCount"].as_u64() != Some(0) {
            bail!("PutRecords reported failures: {}", out["FailedRecordCount"]);
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
            let out = call(url, "GetRecords", json!({ "ShardIterator": iterator, "Limit": 10000 }))?;
            latencies_ms.push(sent.elapsed().as_secs_f64() * 1e3);
            let got = out["Records"].as_array().context("no records")?;
            for r in got {
                bytes += STANDARD.decode(r["Data"].as_str().unwrap_or_default())?.len() as u64;
            }
            records += got.len() as u64;
            if got.is_empty() || out["MillisBehindLatest"].as_i64() == Some(0) {
                break;
            }
            iterator = out["NextShardIterator"].as_str().context("no next iterator")?.to_string();
        }
    }
    if records < expected {
        bail!("read {records} of {expected} records");
    }
    Ok(LoadResult { records, payload_bytes: bytes, elapsed: started.elapsed(), latencies_ms })
}
