//! Enhanced fan-out: registered stream consumers and SubscribeToShard, which pushes a
//! shard's records as an event stream for up to five minutes: an `initial-response`
//! event first, then SubscribeToShardEvent events as records arrive.

use std::time::Duration;

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{json, Value};
use tidelog_broker::now_ms;
use tidelog_broker::streams::StreamConsumer;
use tokio::sync::mpsc;

use super::records::{read_shard, starting_offset, Position};
use super::streams::{existing, save_settings, shard, writable};
use super::{page_size, seconds, Output};
use crate::body::RequestBody;
use crate::error::{KinesisError, ACCOUNT};
use crate::eventstream;
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{arn, name_from_arn, shard_id, StreamRef};

const MAX_CONSUMERS_PER_STREAM: usize = 20;
const SUBSCRIPTION_MS: i64 = 300_000;
/// A second SubscribeToShard for the same consumer and shard this soon is refused.
const RESUBSCRIBE_MS: i64 = 5_000;
/// An event is sent at least this often, records or not, as AWS does.
const HEARTBEAT: Duration = Duration::from_secs(5);
const EVENT_MAX_RECORDS: usize = 10_000;
const EVENT_MAX_BYTES: usize = 2 << 20;

/// When each (consumer, shard) was last subscribed: a second subscription within five
/// seconds is refused, as on AWS.
#[derive(Default)]
pub struct Subscriptions(parking_lot::Mutex<std::collections::HashMap<String, i64>>);

impl Subscriptions {
    /// Records a subscription at `now`, or returns how long ago the last one started.
    pub fn claim(&self, key: &str, now: i64, window_ms: i64) -> Result<(), i64> {
        let mut started = self.0.lock();
        started.retain(|_, at| now - *at < SUBSCRIPTION_MS);
        match started.get(key) {
            Some(at) if now - at < window_ms => Err(now - at),
            _ => {
                started.insert(key.to_string(), now);
                Ok(())
            }
        }
    }
}

fn consumer_arn(region: &str, stream: &str, consumer: &StreamConsumer) -> String {
    format!("{}/consumer/{}:{}", arn(region, stream), consumer.name, consumer.created_ms / 1000)
}

fn consumer_json(call: &Call, stream: &str, consumer: &StreamConsumer, with_stream: bool) -> Value {
    let mut out = json!({
        "ConsumerName": consumer.name,
        "ConsumerARN": consumer_arn(&call.region, stream, consumer),
        "ConsumerStatus": "ACTIVE",
        "ConsumerCreationTimestamp": seconds(consumer.created_ms),
    });
    if with_stream {
        out["StreamARN"] = json!(arn(&call.region, stream));
    }
    out
}

fn not_found(consumer: &str, stream: &str) -> KinesisError {
    KinesisError::new(
        "ResourceNotFoundException",
        format!("Consumer {consumer} under stream {stream} under account {ACCOUNT} not found."),
    )
}

/// `arn:...:stream/<stream>/consumer/<name>:<created>` → (stream, name).
fn parse_consumer_arn(text: &str) -> Result<(String, String), KinesisError> {
    let invalid = || KinesisError::invalid_argument(format!("Invalid ConsumerARN {text}"));
    let (stream_arn, rest) = text.split_once("/consumer/").ok_or_else(invalid)?;
    let name = rest.rsplit_once(':').map_or(rest, |(n, _)| n);
    Ok((name_from_arn(stream_arn)?, name.to_string()))
}

/// The consumer a request names, by ConsumerARN or by StreamARN and ConsumerName.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerRef {
    #[serde(rename = "StreamARN")]
    stream_arn: Option<String>,
    consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    consumer_arn: Option<String>,
}

fn find(call: &Call, r: &ConsumerRef) -> Result<(String, StreamConsumer), KinesisError> {
    let (stream, name) = match (&r.consumer_arn, &r.stream_arn, &r.consumer_name) {
        (Some(arn), _, _) => parse_consumer_arn(arn)?,
        (None, Some(stream), Some(name)) => (name_from_arn(stream)?, name.clone()),
        _ => {
            return Err(KinesisError::invalid_argument(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            ))
        }
    };
    let stream = existing(call, &StreamRef { stream_name: Some(stream), stream_arn: None })?;
    let settings = call.broker.stream_settings(&stream).unwrap_or_default();
    let consumer = settings.consumers.into_iter().find(|c| c.name == name).ok_or_else(|| not_found(&name, &stream))?;
    Ok((stream, consumer))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    consumer_name: String,
}

pub fn register(call: &Call, input: RegisterInput) -> Output {
    let stream = existing(call, &StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) })?;
    crate::stream_ref::validate_name(&input.consumer_name).map_err(|_| {
        KinesisError::validation(
            "consumerName",
            &input.consumer_name,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        )
    })?;
    let mut settings = call.broker.stream_settings(&stream).unwrap_or_default();
    if settings.consumers.iter().any(|c| c.name == input.consumer_name) {
        return Err(KinesisError::resource_in_use(format!(
            "Consumer {} under stream {stream} already exists for account {ACCOUNT}.",
            input.consumer_name
        )));
    }
    if settings.consumers.len() >= MAX_CONSUMERS_PER_STREAM {
        return Err(KinesisError::new(
            "LimitExceededException",
            format!(
                "Consumer limit of {MAX_CONSUMERS_PER_STREAM} reached for stream {stream} under account {ACCOUNT}."
            ),
        ));
    }
    let consumer = StreamConsumer { name: input.consumer_name, created_ms: now_ms() };
    settings.consumers.push(consumer.clone());
    save_settings(call, &stream, settings)?;
    Ok(json!({ "Consumer": consumer_json(call, &stream, &consumer, false) }))
}

pub fn deregister(call: &Call, input: ConsumerRef) -> Output {
    let (stream, consumer) = find(call, &input)?;
    let mut settings = call.broker.stream_settings(&stream).unwrap_or_default();
    settings.consumers.retain(|c| c.name != consumer.name);
    save_settings(call, &stream, settings)?;
    Ok(json!({}))
}

pub fn describe(call: &Call, input: ConsumerRef) -> Output {
    let (stream, consumer) = find(call, &input)?;
    Ok(json!({ "ConsumerDescription": consumer_json(call, &stream, &consumer, true) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub fn list(call: &Call, input: ListInput) -> Output {
    let stream = existing(call, &StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) })?;
    let max = page_size("maxResults", input.max_results, 100)?;
    // The token is the position of the next consumer in registration order.
    let first = match &input.next_token {
        Some(t) => t.parse::<usize>().map_err(|_| KinesisError::invalid_argument(format!("Invalid NextToken {t}")))?,
        None => 0,
    };
    let consumers = call.broker.stream_settings(&stream).unwrap_or_default().consumers;
    let page: Vec<Value> =
        consumers.iter().skip(first).take(max).map(|c| consumer_json(call, &stream, c, false)).collect();
    let mut out = json!({ "Consumers": page });
    if first + max < consumers.len() {
        out["NextToken"] = json!((first + max).to_string());
    }
    Ok(out)
}

/// Whether a stream's consumers stand in the way of deleting it.
pub fn block_deletion(call: &Call, stream: &str, enforce_consumer_deletion: bool) -> Result<(), KinesisError> {
    let count = call.broker.stream_settings(stream).map_or(0, |s| s.consumers.len());
    if count > 0 && !enforce_consumer_deletion {
        return Err(KinesisError::resource_in_use(format!(
            "Stream {stream} under account {ACCOUNT} has {count} registered consumer(s); set EnforceConsumerDeletion to delete it."
        )));
    }
    Ok(())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StartingPosition {
    r#type: String,
    sequence_number: Option<String>,
    timestamp: Option<f64>,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SubscribeInput {
    #[serde(rename = "ConsumerARN")]
    consumer_arn: String,
    shard_id: String,
    starting_position: StartingPosition,
}

/// Checks a SubscribeToShard request and starts pushing its events; the receiver yields
/// the encoded event-stream messages, the first being `initial-response`.
pub fn subscription(call: &Call, body: &RequestBody) -> Result<mpsc::Receiver<Bytes>, KinesisError> {
    let input: SubscribeInput = body.input()?;
    let target = ConsumerRef { stream_arn: None, consumer_name: None, consumer_arn: Some(input.consumer_arn.clone()) };
    let (stream, consumer) = find(call, &target)?;
    writable(call, &StreamRef { stream_name: Some(stream.clone()), stream_arn: None })?;
    let found = shard(call, &stream, &input.shard_id)?;
    let position = Position {
        kind: &input.starting_position.r#type,
        sequence_number: input.starting_position.sequence_number.as_deref(),
        timestamp: input.starting_position.timestamp,
        field: "startingPosition.type",
    };
    let offset = starting_offset(call, &stream, &found, &position)?;
    let key = format!("{}/{}", consumer_arn(&call.region, &stream, &consumer), found.partition);
    call.subscriptions.claim(&key, now_ms(), RESUBSCRIBE_MS).map_err(|since| {
        KinesisError::resource_in_use(format!(
            "Another active subscription exists for consumer {} on shard {}; it started {since} ms ago.",
            consumer.name,
            shard_id(found.partition)
        ))
    })?;
    let (tx, rx) = mpsc::channel(4);
    let _ = tx.try_send(eventstream::event("initial-response", b"{}"));
    let call = call.clone();
    tokio::spawn(async move { push(call, stream, found.partition, offset, tx).await });
    Ok(rx)
}

/// Sends SubscribeToShardEvent events until the subscription's five minutes are up, the
/// shard's end is reached, or the client goes away.
async fn push(call: Call, stream: String, index: i32, mut offset: u64, tx: mpsc::Sender<Bytes>) {
    let deadline = tokio::time::Instant::now() + Duration::from_millis(SUBSCRIPTION_MS as u64);
    let Ok(partition) = call.broker.partition(&stream, index) else { return };
    let mut changes = partition.subscribe();
    loop {
        let outcome = next_event(&call, &stream, index, offset);
        let (event, next) = match outcome {
            Ok(v) => v,
            Err(e) => {
                let _ = tx.send(eventstream::exception(e.kind, &e.message)).await;
                return;
            }
        };
        let finished = next.is_none();
        let sent_records = event["Records"].as_array().is_some_and(|r| !r.is_empty());
        let event = eventstream::event("SubscribeToShardEvent", event.to_string().as_bytes());
        if (sent_records || finished) && tx.send(event).await.is_err() {
            return;
        }
        let Some(next) = next else { return };
        offset = next;
        if sent_records {
            continue;
        }
        // Nothing new: wait for an append, the heartbeat, or the end of the subscription.
        let wait = tokio::time::timeout(HEARTBEAT, changes.changed());
        tokio::select! {
            outcome = wait => {
                if outcome.is_err() {
                    // Heartbeat: an empty event keeps the client's position current.
                    let heartbeat = json!({
                        "Records": [],
                        "ContinuationSequenceNumber": sequence::encode(index, offset.saturating_sub(1)),
                        "MillisBehindLatest": 0,
                    });
                    if tx.send(eventstream::event("SubscribeToShardEvent", heartbeat.to_string().as_bytes())).await.is_err() {
                        return;
                    }
                }
            }
            _ = tokio::time::sleep_until(deadline) => return,
            _ = tx.closed() => return,
        }
        if tokio::time::Instant::now() >= deadline {
            return;
        }
    }
}

/// One event from `offset`, and the offset to continue from (`None`: the shard is closed
/// and fully read).
fn next_event(call: &Call, stream: &str, index: i32, offset: u64) -> Result<(Value, Option<u64>), KinesisError> {
    let found = shard(call, stream, &shard_id(index))?;
    let read = read_shard(call, stream, &found, offset, EVENT_MAX_RECORDS, EVENT_MAX_BYTES)?;
    let event = match read.next {
        None => json!({ "Records": read.records, "MillisBehindLatest": 0, "ChildShards": read.child_shards }),
        Some(next) => json!({
            "Records": read.records,
            "ContinuationSequenceNumber": sequence::encode(index, next.saturating_sub(1)),
            "MillisBehindLatest": read.millis_behind,
        }),
    };
    Ok((event, read.next))
}
