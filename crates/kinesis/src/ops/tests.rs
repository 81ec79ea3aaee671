//! Operations driven through `dispatch` as the HTTP handler calls them, on an in-memory
//! broker: concurrent settings changes, and PutRecords spanning shards.

use std::sync::Arc;

use axum::body::Bytes;
use serde_json::{json, Value};
use tidelog_broker::{Broker, BrokerConfig};

use super::dispatch;
use crate::body::RequestBody;
use crate::error::KinesisError;
use crate::limits::Limits;
use crate::model;
use crate::server::Call;
use crate::stream_ref::arn;

const REGION: &str = "us-east-1";

fn call(enforce_limits: bool) -> Call {
    Call {
        broker: Broker::in_memory(BrokerConfig::default()),
        caller: tidelog_broker::access::RequestContext::local(),
        limits: Arc::new(Limits::new(enforce_limits)),
        subscriptions: Default::default(),
        region: REGION.into(),
    }
}

async fn run_async(call: &Call, operation: &str, input: Value) -> Result<Value, KinesisError> {
    let body = RequestBody::json(Bytes::from(input.to_string()))?;
    dispatch(call, operation, &body).await.map(|answer| answer.into_tree())
}

/// For the settings operations, which never wait on anything.
fn run(call: &Call, operation: &str, input: Value) -> Result<Value, KinesisError> {
    futures::executor::block_on(run_async(call, operation, input))
}

#[test]
fn concurrent_settings_changes_are_all_kept() {
    const TAG_THREADS: usize = 4;
    const TAGS_PER_THREAD: usize = 12;
    const CONSUMER_THREADS: usize = 4;
    const CONSUMERS_PER_THREAD: usize = 5;
    const METRICS: [&str; 4] = ["IncomingBytes", "IncomingRecords", "OutgoingBytes", "OutgoingRecords"];
    let call = call(false);
    run(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 1 })).unwrap();
    let stream_arn = arn(REGION, "s");
    let mut threads = Vec::new();
    for t in 0..TAG_THREADS {
        let call = call.clone();
        threads.push(std::thread::spawn(move || {
            for i in 0..TAGS_PER_THREAD {
                let tags = json!({ format!("t{t}-{i}"): "v" });
                run(&call, "AddTagsToStream", json!({ "StreamName": "s", "Tags": tags })).unwrap();
            }
        }));
    }
    for t in 0..CONSUMER_THREADS {
        let (call, stream_arn) = (call.clone(), stream_arn.clone());
        threads.push(std::thread::spawn(move || {
            for i in 0..CONSUMERS_PER_THREAD {
                let input = json!({ "StreamARN": stream_arn, "ConsumerName": format!("c{t}-{i}") });
                run(&call, "RegisterStreamConsumer", input).unwrap();
            }
        }));
    }
    {
        let call = call.clone();
        threads.push(std::thread::spawn(move || {
            run(&call, "StartStreamEncryption", json!({ "StreamName": "s", "EncryptionType": "KMS", "KeyId": "k" }))
                .unwrap();
            for metric in METRICS {
                let input = json!({ "StreamName": "s", "ShardLevelMetrics": [metric] });
                run(&call, "EnableEnhancedMonitoring", input).unwrap();
            }
            run(
                &call,
                "UpdateStreamMode",
                json!({ "StreamARN": arn(REGION, "s"), "StreamModeDetails": { "StreamMode": "ON_DEMAND" } }),
            )
            .unwrap();
        }));
    }
    threads.into_iter().for_each(|t| t.join().unwrap());
    let settings = model::settings(&call.broker, "s").unwrap();
    assert_eq!(settings.tags.len(), TAG_THREADS * TAGS_PER_THREAD, "no tag lost");
    assert_eq!(settings.consumers.len(), CONSUMER_THREADS * CONSUMERS_PER_THREAD, "no consumer lost");
    assert_eq!(settings.enhanced_metrics.len(), METRICS.len(), "no metric lost");
    assert!(settings.on_demand && settings.encryption_key.as_deref() == Some("k"));
    let listed = run(&call, "ListStreamConsumers", json!({ "StreamARN": stream_arn })).unwrap();
    assert_eq!(listed["Consumers"].as_array().map(Vec::len), Some(CONSUMER_THREADS * CONSUMERS_PER_THREAD));
}

#[test]
fn the_consumer_limit_holds_under_concurrent_registrations() {
    const ATTEMPTS: usize = 25;
    let call = call(false);
    run(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 1 })).unwrap();
    let threads: Vec<_> = (0..ATTEMPTS)
        .map(|i| {
            let call = call.clone();
            std::thread::spawn(move || {
                let input = json!({ "StreamARN": arn(REGION, "s"), "ConsumerName": format!("c{i}") });
                run(&call, "RegisterStreamConsumer", input).map(|_| ()).map_err(|e| e.kind)
            })
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 20);
    assert!(outcomes.iter().all(|o| o.is_ok() || *o == Err("LimitExceededException")), "{outcomes:?}");
    assert_eq!(model::settings(&call.broker, "s").unwrap().consumers.len(), 20);
}

#[test]
fn concurrent_retention_increases_never_shorten_it() {
    let call = call(false);
    run(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 1 })).unwrap();
    let threads: Vec<_> = [48, 72, 96, 120]
        .into_iter()
        .map(|hours| {
            let call = call.clone();
            std::thread::spawn(move || {
                let input = json!({ "StreamName": "s", "RetentionPeriodHours": hours });
                run(&call, "IncreaseStreamRetentionPeriod", input).map(|_| hours)
            })
        })
        .collect();
    let applied: Vec<i64> = threads.into_iter().filter_map(|t| t.join().unwrap().ok()).collect();
    let summary = run(&call, "DescribeStreamSummary", json!({ "StreamName": "s" })).unwrap();
    // Whatever order they ran in, the last one applied was the longest.
    assert_eq!(summary["StreamDescriptionSummary"]["RetentionPeriodHours"], 120, "applied: {applied:?}");
}

/// The explicit hash key of shard `shard` of four.
#[test]
fn concurrent_splits_of_one_shard_close_it_once() {
    const THREADS: usize = 6;
    let call = call(false);
    run(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 1 })).unwrap();
    let split = json!({
        "StreamName": "s",
        "ShardToSplit": "shardId-000000000000",
        "NewStartingHashKey": (1u128 << 127).to_string(),
    });
    let threads: Vec<_> = (0..THREADS)
        .map(|_| {
            let (call, split) = (call.clone(), split.clone());
            std::thread::spawn(move || run(&call, "SplitShard", split))
        })
        .collect();
    let outcomes: Vec<_> = threads.into_iter().map(|t| t.join().unwrap()).collect();
    assert_eq!(outcomes.iter().filter(|o| o.is_ok()).count(), 1, "{outcomes:?}");
    for refused in outcomes.iter().filter_map(|o| o.as_ref().err()) {
        assert_eq!(refused.kind, "InvalidArgumentException", "{refused:?}");
    }
    let shards = run(&call, "ListShards", json!({ "StreamName": "s" })).unwrap();
    assert_eq!(shards["Shards"].as_array().unwrap().len(), 3, "one parent, two children: {shards}");
}

fn into_shard(shard: u128) -> String {
    (shard << 126).to_string()
}

#[tokio::test]
async fn put_records_across_shards_answers_each_record() {
    let call = call(false);
    run_async(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 4 })).await.unwrap();
    let records: Vec<Value> = (0..12u128)
        .map(|i| json!({ "Data": "eA==", "PartitionKey": "k", "ExplicitHashKey": into_shard(i % 4) }))
        .collect();
    let answer = run_async(&call, "PutRecords", json!({ "StreamName": "s", "Records": records })).await.unwrap();
    assert_eq!(answer["FailedRecordCount"], 0);
    for (i, record) in answer["Records"].as_array().unwrap().iter().enumerate() {
        let (shard, nth) = (i as i32 % 4, i as u64 / 4);
        assert_eq!(record["ShardId"], crate::stream_ref::shard_id(shard), "record {i}");
        assert_eq!(record["SequenceNumber"], crate::sequence::encode(shard, nth), "record {i}");
    }
}

#[tokio::test]
async fn put_records_fails_only_the_records_over_their_shards_limit() {
    let call = call(true);
    run_async(&call, "CreateStream", json!({ "StreamName": "s", "ShardCount": 4 })).await.unwrap();
    // A second 600 KiB record to shard 0 passes its 1 MiB/s and fails alone; the records
    // before it, to shards 0 and 1, are stored.
    let data = base64_simd::STANDARD.encode_to_string(vec![7u8; 600 << 10]);
    let record = |shard| json!({ "Data": data, "PartitionKey": "k", "ExplicitHashKey": into_shard(shard) });
    let records = json!([record(0), record(1), record(0)]);
    let answer = run_async(&call, "PutRecords", json!({ "StreamName": "s", "Records": records })).await.unwrap();
    assert_eq!(answer["FailedRecordCount"], 1);
    let out = answer["Records"].as_array().unwrap();
    assert_eq!(out[0]["SequenceNumber"], crate::sequence::encode(0, 0));
    assert_eq!(out[1]["SequenceNumber"], crate::sequence::encode(1, 0));
    assert_eq!(out[2]["ErrorCode"], "ProvisionedThroughputExceededException");
}

#[test]
fn the_shape_is_checked_before_the_stream_is_looked_up() {
    let call = call(false);
    let long_key = "k".repeat(129);
    let refused = run(&call, "AddTagsToStream", json!({ "StreamName": "missing", "Tags": { long_key: "v" } }));
    assert_eq!(refused.unwrap_err().kind, "ValidationException");
    let refused = run(&call, "AddTagsToStream", json!({ "StreamName": "missing", "Tags": { "k": "v" } }));
    assert_eq!(refused.unwrap_err().kind, "ResourceNotFoundException");
}

#[tokio::test]
async fn update_max_record_size_lets_a_kafka_topic_take_large_records() {
    let call = call(false);
    let topic = tidelog_broker::NewTopic { name: "k".into(), partitions: Some(1), ..Default::default() };
    call.broker.create_topic(&call.caller, topic, false).unwrap();
    let record = |n: usize| json!({ "StreamName": "k", "PartitionKey": "p", "Data": base64_simd::STANDARD.encode_to_string(vec![1u8; n]) });
    let refused = run_async(&call, "PutRecord", record((1 << 20) - 1)).await.unwrap_err();
    assert!(refused.message.contains("max.message.bytes"), "{refused:?}");
    let input = json!({ "StreamARN": arn(REGION, "k"), "MaxRecordSizeInKiB": 2048 });
    run_async(&call, "UpdateMaxRecordSize", input).await.unwrap();
    assert!(call.broker.topic("k").unwrap().limits.max_message_bytes > 10 << 20);
    run_async(&call, "PutRecord", record((2 << 20) - 1)).await.unwrap();
    let refused = run_async(&call, "PutRecord", record(2 << 20)).await.unwrap_err();
    assert_eq!(refused.kind, "InvalidArgumentException");
}
