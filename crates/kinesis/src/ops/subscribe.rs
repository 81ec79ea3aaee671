//! SubscribeToShard: a registered consumer's push read of one shard, answered as an event
//! stream: an `initial-response` event, then SubscribeToShardEvent events as records
//! arrive (and at least every five seconds), for up to five minutes.
//!
//! The events are a stream the response body pulls, not a spawned task: the HTTP
//! connection owns the subscription, so a client going away drops it, and a read never
//! runs ahead of what the client takes. It ends at the shard's end, after its five
//! minutes, or when the server shuts down, which must never wait those minutes out.

use std::time::Duration;

use bytes::Bytes;
use futures::stream::{self, BoxStream, StreamExt};
use serde::Deserialize;
use serde_json::{json, Value};
use tidelog_broker::now_ms;
use tidelog_broker::shutdown::stopped;
use tokio::sync::watch;
use tokio::time::Instant;

use super::consumers::{consumer_arn, find, ConsumerRef};
use super::records::{read_shard, starting_offset, Position};
use super::streams::{shard, writable};
use crate::body::RequestBody;
use crate::error::KinesisError;
use crate::eventstream;
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{shard_id, StreamRef};

const SUBSCRIPTION: Duration = Duration::from_secs(300);
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
        started.retain(|_, at| now - *at < SUBSCRIPTION.as_millis() as i64);
        match started.get(key) {
            Some(at) if now - at < window_ms => Err(now - at),
            _ => {
                started.insert(key.to_string(), now);
                Ok(())
            }
        }
    }
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
    dry_run: Option<bool>,
}

/// Checks a SubscribeToShard request and returns its encoded event-stream messages, the
/// first being `initial-response`. The stream ends early once `shutdown` turns true.
pub fn subscription(
    call: &Call,
    body: &RequestBody,
    shutdown: watch::Receiver<bool>,
) -> Result<BoxStream<'static, Bytes>, KinesisError> {
    let mut tree = body.tree()?;
    crate::spec::check("SubscribeToShard", &tree)?;
    crate::spec::drop_nulls(&mut tree);
    let input: SubscribeInput = crate::body::typed(&tree)?;
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
    super::stop_if_dry_run(input.dry_run)?;
    let partition =
        call.broker.partition(&stream, found.partition).map_err(|e| KinesisError::from_broker(e, &stream))?;
    let key = format!("{}/{}", consumer_arn(&call.region, &stream, &consumer), found.partition);
    call.subscriptions.claim(&key, now_ms(), RESUBSCRIBE_MS).map_err(|since| {
        KinesisError::resource_in_use(format!(
            "Another active subscription exists for consumer {} on shard {}; it started {since} ms ago.",
            consumer.name,
            shard_id(found.partition)
        ))
    })?;
    let pushing = Push {
        call: call.clone(),
        stream,
        index: found.partition,
        offset,
        appended: partition.subscribe(),
        deadline: Instant::now() + SUBSCRIPTION,
        shutdown,
        finished: false,
    };
    let initial = stream::once(async { eventstream::event("initial-response", b"{}") });
    let events = stream::unfold(pushing, |mut push| async move { push.next_message().await.map(|m| (m, push)) });
    Ok(initial.chain(events).boxed())
}

/// One subscription between two of its events.
struct Push {
    call: Call,
    stream: String,
    index: i32,
    /// Where the next event's records start.
    offset: u64,
    /// The shard's high watermark: changes when records become readable.
    appended: watch::Receiver<u64>,
    deadline: Instant,
    shutdown: watch::Receiver<bool>,
    /// The last event (the shard's end, or an error) was sent.
    finished: bool,
}

impl Push {
    /// The next encoded event, waiting for records or the heartbeat; `None` ends the
    /// subscription.
    async fn next_message(&mut self) -> Option<Bytes> {
        loop {
            // Checked before every read, so a shard busy enough to never wait still ends.
            if self.finished || Instant::now() >= self.deadline || *self.shutdown.borrow() {
                return None;
            }
            let (event, next) = match next_event(&self.call, &self.stream, self.index, self.offset) {
                Ok(read) => read,
                Err(e) => {
                    self.finished = true;
                    return Some(eventstream::exception(e.kind, &e.message));
                }
            };
            let has_records = event["Records"].as_array().is_some_and(|r| !r.is_empty());
            match next {
                Some(next) => self.offset = next,
                None => self.finished = true,
            }
            if has_records || self.finished {
                return Some(eventstream::event("SubscribeToShardEvent", event.to_string().as_bytes()));
            }
            // Nothing new: wait for an append, the heartbeat, the end of the subscription
            // or shutdown.
            tokio::select! {
                woken = tokio::time::timeout(HEARTBEAT, self.appended.changed()) => match woken {
                    Ok(Ok(())) => {}
                    // That partition is gone: watch the stream's partition now, if the
                    // stream was recreated; if it was deleted, the next read says so.
                    Ok(Err(_)) => {
                        if let Ok(partition) = self.call.broker.partition(&self.stream, self.index) {
                            self.appended = partition.subscribe();
                        }
                    }
                    // Heartbeat: an empty event keeps the client's position current.
                    Err(_) => return Some(self.heartbeat()),
                },
                _ = tokio::time::sleep_until(self.deadline) => return None,
                _ = stopped(&mut self.shutdown) => return None,
            }
        }
    }

    fn heartbeat(&self) -> Bytes {
        let heartbeat = json!({
            "Records": [],
            "ContinuationSequenceNumber": sequence::encode(self.index, self.offset.saturating_sub(1)),
            "MillisBehindLatest": 0,
        });
        eventstream::event("SubscribeToShardEvent", heartbeat.to_string().as_bytes())
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

#[cfg(test)]
mod tests {
    use crate::model;
    use std::sync::Arc;

    use futures::StreamExt;
    use tidelog_broker::{Broker, BrokerConfig};

    use super::*;
    use crate::limits::Limits;

    fn event_type(message: &[u8]) -> String {
        let text = String::from_utf8_lossy(message);
        ["initial-response", "SubscribeToShardEvent", "exception"]
            .into_iter()
            .find(|t| text.contains(t))
            .unwrap_or("unknown")
            .to_string()
    }

    #[tokio::test]
    async fn a_busy_subscription_still_ends_on_shutdown() {
        let call = Call {
            broker: Broker::in_memory(BrokerConfig::default()),
            caller: tidelog_broker::access::RequestContext::local(),
            limits: Arc::new(Limits::new(false)),
            subscriptions: Default::default(),
            region: "us-east-1".into(),
        };
        model::create_stream(&call.broker, &call.caller, "s", 1, false, Default::default()).unwrap();
        let consumer = model::update_settings(&call.broker, &call.caller, "s", |s| {
            let consumer = model::StreamConsumer { name: "c".into(), created_ms: now_ms(), policy: None };
            s.consumers.push(consumer.clone());
            Ok::<_, ()>(consumer)
        })
        .unwrap()
        .unwrap();
        let append = || {
            let record = (Some(Bytes::from_static(b"k")), Some(Bytes::from_static(b"v")));
            call.broker.append_records(&call.caller, "s", 0, &[record]).unwrap();
        };
        append();
        let input = json!({
            "ConsumerARN": consumer_arn("us-east-1", "s", &consumer),
            "ShardId": "shardId-000000000000",
            "StartingPosition": { "Type": "TRIM_HORIZON" },
        });
        let body = RequestBody::json(Bytes::from(input.to_string())).unwrap();
        let (stop, shutdown) = watch::channel(false);
        let mut events = subscription(&call, &body, shutdown).unwrap();
        assert_eq!(event_type(&events.next().await.unwrap()), "initial-response");
        assert_eq!(event_type(&events.next().await.unwrap()), "SubscribeToShardEvent");
        // Records keep coming, so the subscription never waits; it must end all the same.
        append();
        stop.send_replace(true);
        let next = tokio::time::timeout(Duration::from_secs(1), events.next()).await;
        assert!(matches!(next, Ok(None)), "the subscription went on after shutdown");
    }
}
