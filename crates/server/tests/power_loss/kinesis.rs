//! A minimal blocking Kinesis client (AWS JSON 1.1 over HTTP/1.1): the calls the
//! power-loss test needs, each one request.

use std::time::{Duration, Instant};

use serde_json::{json, Value};

pub struct Kinesis {
    endpoint: String,
    agent: ureq::Agent,
}

/// One answered PutRecords entry: where the broker says the record went.
pub struct Placed {
    pub shard_id: String,
    pub sequence_number: String,
}

impl Kinesis {
    pub fn new(endpoint: &str) -> Kinesis {
        let agent =
            ureq::AgentBuilder::new().timeout_connect(Duration::from_secs(1)).timeout(Duration::from_secs(10)).build();
        Kinesis { endpoint: endpoint.to_string(), agent }
    }

    fn call(&self, operation: &str, body: Value) -> Result<Value, String> {
        let response = self
            .agent
            .post(&self.endpoint)
            .set("X-Amz-Target", &format!("Kinesis_20131202.{operation}"))
            .set("Content-Type", "application/x-amz-json-1.1")
            .send_string(&body.to_string());
        match response {
            Ok(r) => {
                let text = r.into_string().map_err(|e| format!("{operation}: {e}"))?;
                serde_json::from_str(&text).map_err(|e| format!("{operation}: bad JSON answer {text:?}: {e}"))
            }
            Err(ureq::Error::Status(code, r)) => {
                Err(format!("{operation}: HTTP {code}: {}", r.into_string().unwrap_or_default()))
            }
            Err(e) => Err(format!("{operation}: {e}")),
        }
    }

    pub fn create_stream(&self, stream: &str, shards: u32) -> Result<(), String> {
        self.call("CreateStream", json!({"StreamName": stream, "ShardCount": shards})).map(|_| ())
    }

    /// PutRecords; one entry per record, `None` where the broker failed that record.
    pub fn put_records(&self, stream: &str, records: &[(String, Vec<u8>)]) -> Result<Vec<Option<Placed>>, String> {
        let entries: Vec<Value> = records
            .iter()
            .map(|(key, data)| json!({"PartitionKey": key, "Data": base64_simd::STANDARD.encode_to_string(data)}))
            .collect();
        let answer = self.call("PutRecords", json!({"StreamName": stream, "Records": entries}))?;
        let results =
            answer["Records"].as_array().ok_or_else(|| format!("PutRecords answer without Records: {answer}"))?;
        if results.len() != records.len() {
            return Err(format!("PutRecords answered {} entries for {} records", results.len(), records.len()));
        }
        Ok(results
            .iter()
            .map(|r| {
                if r.get("ErrorCode").is_some_and(|e| !e.is_null()) {
                    return None;
                }
                Some(Placed {
                    shard_id: r["ShardId"].as_str()?.to_string(),
                    sequence_number: r["SequenceNumber"].as_str()?.to_string(),
                })
            })
            .collect())
    }

    /// Every record of `shard` from TRIM_HORIZON to the end: (sequence number, data).
    pub fn read_shard(&self, stream: &str, shard: &str) -> Result<Vec<(String, Vec<u8>)>, String> {
        let iterator = self.call(
            "GetShardIterator",
            json!({"StreamName": stream, "ShardId": shard, "ShardIteratorType": "TRIM_HORIZON"}),
        )?;
        let mut iterator = iterator["ShardIterator"].as_str().map(str::to_string);
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(30);
        while let Some(it) = iterator.take() {
            if Instant::now() > deadline {
                return Err(format!("GetRecords on {shard} did not reach the end in 30 s"));
            }
            let answer = self.call("GetRecords", json!({"ShardIterator": it, "Limit": 10000}))?;
            let records = answer["Records"].as_array().cloned().unwrap_or_default();
            for record in &records {
                let sequence = record["SequenceNumber"].as_str().unwrap_or_default().to_string();
                let data = base64_simd::STANDARD
                    .decode_to_vec(record["Data"].as_str().unwrap_or_default())
                    .map_err(|e| format!("GetRecords {sequence}: Data is not base64: {e}"))?;
                out.push((sequence, data));
            }
            // Nothing is written meanwhile, so the first empty page is the end.
            if records.is_empty() {
                break;
            }
            iterator = answer["NextShardIterator"].as_str().map(str::to_string);
        }
        Ok(out)
    }
}
