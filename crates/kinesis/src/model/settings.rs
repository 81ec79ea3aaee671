//! A stream's own attributes (mode, tags, encryption, enhanced metrics, registered
//! consumers, and after the first reshard its shard layout), kept as the topic's
//! `kinesis` attribute, and the one way they change: a read-modify-write under the
//! broker's metadata lock, so two concurrent changes (a tag added while a consumer
//! registers) never lose one another. A stream is created in one event, topic and
//! settings together, so no crash can leave a stream's topic without its settings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use tidelog_broker::access::RequestContext;
use tidelog_broker::config::{keys, topic_keys};
use tidelog_broker::metadata::TopicMeta;
use tidelog_broker::{now_ms, Broker, ConfigChange, NewTopic, Result};

use super::{Shard, NAMESPACE};

/// Kinesis' default (and minimum) retention: 24 hours.
pub const DEFAULT_RETENTION_HOURS: i64 = 24;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamSettings {
    pub on_demand: bool,
    /// 0 for topics created through Kafka (no creation time recorded then).
    pub created_ms: i64,
    pub tags: BTreeMap<String, String>,
    /// KMS key id when server-side encryption is on (recorded and reported only).
    pub encryption_key: Option<String>,
    pub enhanced_metrics: BTreeSet<String>,
    /// Enhanced fan-out consumers registered on the stream.
    #[serde(default)]
    pub consumers: Vec<StreamConsumer>,
    /// Empty until the first reshard: then every shard, open and closed.
    #[serde(default)]
    pub shards: Vec<Shard>,
    /// CREATING or UPDATING until the given time (`kinesis.stream.transition.ms`).
    #[serde(default)]
    pub transition: Option<Transition>,
    /// UpdateMaxRecordSize's limit on data plus partition key; `None`: 1024 KiB.
    #[serde(default)]
    pub max_record_size_kib: Option<i64>,
    /// An on-demand stream's warm throughput (UpdateStreamWarmThroughput), recorded and
    /// reported: tidelog's shards take what the machine takes.
    #[serde(default)]
    pub warm_throughput_mibps: Option<i64>,
    /// RecordDistributionStrategy AUTO: records spread evenly over the shards whatever
    /// their partition keys.
    #[serde(default)]
    pub auto_distribution: bool,
    /// The resource policy attached to the stream (stored and returned, not enforced).
    #[serde(default)]
    pub policy: Option<String>,
}

/// AWS's default largest record (data plus partition key): 1 MiB.
pub const DEFAULT_MAX_RECORD_KIB: i64 = 1024;
/// The largest record batch a stream's partitions take: a PutRecords of 10 MiB to one
/// shard with its record framing, which Kafka's default `max.message.bytes` (1 MiB and
/// 12 bytes) could not hold.
pub const STREAM_BATCH_BYTES: i64 = 11 << 20;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConsumer {
    pub name: String,
    pub created_ms: i64,
    /// The resource policy attached to the consumer (stored and returned, not enforced).
    #[serde(default)]
    pub policy: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Transition {
    pub status: String,
    pub until_ms: i64,
}

impl StreamSettings {
    /// CREATING, UPDATING or ACTIVE at `now_ms`.
    pub fn status(&self, now_ms: i64) -> &str {
        match &self.transition {
            Some(t) if now_ms < t.until_ms => &t.status,
            _ => "ACTIVE",
        }
    }

    /// The largest record (data plus partition key) the stream takes, in bytes.
    pub fn max_record_bytes(&self) -> usize {
        (self.max_record_size_kib.unwrap_or(DEFAULT_MAX_RECORD_KIB) as usize) << 10
    }

    pub(crate) fn transition_for(status: &str, ms: i64, now_ms: i64) -> Option<Transition> {
        (ms > 0).then(|| Transition { status: status.into(), until_ms: now_ms + ms })
    }
}

/// The settings in a topic's metadata: defaults for a topic never touched as a stream.
pub(crate) fn of_meta(meta: &TopicMeta) -> StreamSettings {
    meta.attributes.get(NAMESPACE).and_then(|v| serde_json::from_value(v.clone()).ok()).unwrap_or_default()
}

pub(crate) fn to_value(settings: &StreamSettings) -> serde_json::Value {
    serde_json::to_value(settings).unwrap_or_default()
}

/// The stream attributes of a topic (defaults for a topic never touched as a stream).
pub fn settings(broker: &Broker, name: &str) -> Option<StreamSettings> {
    broker.topic_meta(name).map(|meta| of_meta(&meta))
}

/// Creates a topic as a Kinesis stream with `shards` partitions and Kinesis' 24-hour
/// retention, its settings committed in the same event as the topic.
pub fn create_stream(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    shards: i32,
    on_demand: bool,
    tags: BTreeMap<String, String>,
) -> Result<()> {
    create_stream_with(broker, ctx, name, shards, StreamSettings { on_demand, tags, ..Default::default() })
}

/// As [`create_stream`], with the stream's initial settings (creation time and status
/// are set here).
pub fn create_stream_with(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    shards: i32,
    initial: StreamSettings,
) -> Result<()> {
    let retention = (DEFAULT_RETENTION_HOURS * 3_600_000).to_string();
    let configs = [
        ("retention.ms".to_string(), retention),
        (topic_keys::MAX_MESSAGE_BYTES.name().to_string(), STREAM_BATCH_BYTES.to_string()),
    ]
    .into();
    let now = now_ms();
    let transition =
        StreamSettings::transition_for("CREATING", broker.config().get(keys::KINESIS_STREAM_TRANSITION_MS), now);
    let settings = StreamSettings { created_ms: now, transition, ..initial };
    let topic = NewTopic { name: name.into(), partitions: Some(shards), replication_factor: None, configs };
    broker.create_topic_with_attributes(ctx, topic, [(NAMESPACE.to_string(), to_value(&settings))].into())?;
    Ok(())
}

/// Changes a stream's user-set attributes: reads them, lets `change` modify them and
/// commits the result, all under the broker's metadata lock, so concurrent changes apply
/// one after the other and none is lost. `change` may refuse with its own error (returned
/// as the inner `Err`), and then nothing is committed; nor is anything when it changed
/// nothing. The shard layout and status transitions are the front-end's own: changes to
/// them are dropped. `change` runs under the lock, so it must not change metadata itself.
pub fn update_settings<T, E>(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    change: impl FnOnce(&mut StreamSettings) -> std::result::Result<T, E>,
) -> Result<std::result::Result<T, E>> {
    broker.update_topic_attribute(ctx, name, NAMESPACE, |meta| {
        let current = of_meta(meta);
        let mut settings = current.clone();
        let answer = change(&mut settings)?;
        settings.shards.clone_from(&current.shards);
        settings.transition.clone_from(&current.transition);
        Ok(((settings != current).then(|| to_value(&settings)), answer))
    })
}

/// Sets a stream's retention (`retention.ms`) to what `change` makes of the current one
/// (-1: unlimited), under the broker's metadata lock, so that a check against the current
/// period (an increase must not shorten it) still holds when the new one is committed.
pub fn update_retention<E>(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    change: impl FnOnce(i64) -> std::result::Result<i64, E>,
) -> Result<std::result::Result<(), E>> {
    broker.update_topic_configs(ctx, name, |configs| {
        let retention_ms = change(configs.get(topic_keys::RETENTION_MS))?;
        tracing::info!(stream = %name, retention_ms, "changing stream retention");
        Ok(vec![ConfigChange::Set("retention.ms".into(), retention_ms.to_string())])
    })
}

/// Makes a stream's partitions take batches of [`STREAM_BATCH_BYTES`]: a topic created
/// through Kafka keeps Kafka's smaller `max.message.bytes` until a stream setting needs more.
pub fn ensure_batch_room(broker: &Broker, ctx: &RequestContext, name: &str) -> Result<()> {
    let raised = broker.update_topic_configs(ctx, name, |configs| {
        if configs.get(topic_keys::MAX_MESSAGE_BYTES) >= STREAM_BATCH_BYTES {
            return Ok::<_, std::convert::Infallible>(Vec::new());
        }
        tracing::info!(stream = %name, bytes = STREAM_BATCH_BYTES, "raising max.message.bytes for stream records");
        Ok(vec![ConfigChange::Set(topic_keys::MAX_MESSAGE_BYTES.name().into(), STREAM_BATCH_BYTES.to_string())])
    })?;
    match raised {
        Ok(()) => Ok(()),
        Err(never) => match never {},
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use tidelog_broker::access::RequestContext;
    use tidelog_broker::metadata::{LocalMetadataStore, MetadataEvent, MetadataStore};
    use tidelog_broker::{BrokerConfig, BrokerError};

    use super::*;

    #[test]
    fn a_stream_is_created_in_one_event() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
            create_stream(&b, &RequestContext::local(), "s", 2, true, [("team".to_string(), "a".to_string())].into())
                .unwrap();
            b.shutdown().unwrap();
        }
        let (_, events) = LocalMetadataStore::open(&dir.path().join("__cluster_metadata")).unwrap();
        let stream_events: Vec<_> = events
            .iter()
            .filter(|e| match e {
                MetadataEvent::TopicCreated { name, .. } | MetadataEvent::TopicAttributeChanged { name, .. } => {
                    name == "s"
                }
                _ => false,
            })
            .collect();
        assert_eq!(stream_events.len(), 1, "{stream_events:?}");
        let MetadataEvent::TopicCreated { attributes, partitions: 2, .. } = stream_events[0] else {
            panic!("expected TopicCreated with stream settings, got {:?}", stream_events[0]);
        };
        let created: StreamSettings = serde_json::from_value(attributes[NAMESPACE].clone()).unwrap();
        assert!(created.on_demand && created.created_ms > 0 && created.tags["team"] == "a");
        let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        assert_eq!(settings(&b, "s"), Some(created));
    }

    #[test]
    fn settings_written_before_topic_attributes_still_replay() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
            let topic = NewTopic { name: "s".into(), partitions: Some(2), ..Default::default() };
            b.create_topic(&RequestContext::local(), topic, false).unwrap();
            b.shutdown().unwrap();
        }
        // The event an earlier version committed for a stream's settings.
        let (store, _) = LocalMetadataStore::open(&dir.path().join("__cluster_metadata")).unwrap();
        let legacy = serde_json::json!({"on_demand": true, "created_ms": 5, "tags": {"k": "v"},
            "encryption_key": null, "enhanced_metrics": []});
        store.propose(&MetadataEvent::StreamSettingsChanged { name: "s".into(), settings: legacy }).unwrap();
        drop(store);
        let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        let replayed = settings(&b, "s").unwrap();
        assert!(replayed.on_demand && replayed.created_ms == 5 && replayed.tags["k"] == "v");
    }

    #[test]
    fn refused_or_empty_changes_commit_nothing_and_layout_is_kept() {
        let b = Broker::in_memory(BrokerConfig::default());
        create_stream(&b, &RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let before = settings(&b, "s").unwrap();
        let refused = update_settings(&b, &RequestContext::local(), "s", |s| {
            s.tags.insert("k".into(), "v".into());
            Err::<(), _>("no")
        });
        assert_eq!(refused.unwrap(), Err("no"));
        assert_eq!(settings(&b, "s").unwrap(), before);
        update_settings(&b, &RequestContext::local(), "s", |s| {
            s.shards.clear();
            s.shards.push(super::super::even_layout(3).remove(2));
            s.on_demand = true;
            Ok::<_, ()>(())
        })
        .unwrap()
        .unwrap();
        let after = settings(&b, "s").unwrap();
        assert!(after.on_demand && after.shards == before.shards);
        let missing = update_settings(&b, &RequestContext::local(), "nope", |_| Ok::<_, ()>(()));
        assert!(matches!(missing, Err(BrokerError::UnknownTopicOrPartition { .. })));
    }

    #[test]
    fn concurrent_setting_changes_are_all_kept() {
        const THREADS: usize = 8;
        const CHANGES_PER_THREAD: usize = 25;
        let b = Broker::in_memory(BrokerConfig::default());
        create_stream(&b, &RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    for i in 0..CHANGES_PER_THREAD {
                        // Even threads tag, odd ones register consumers: two kinds of change
                        // to the same settings, each of which used to overwrite the other.
                        update_settings(&b, &RequestContext::local(), "s", |s| {
                            if t % 2 == 0 {
                                s.tags.insert(format!("t{t}-{i}"), "v".into());
                            } else {
                                s.consumers.push(StreamConsumer {
                                    name: format!("c{t}-{i}"),
                                    created_ms: 1,
                                    policy: None,
                                });
                            }
                            Ok::<_, ()>(())
                        })
                        .unwrap()
                        .unwrap();
                    }
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        let settings = settings(&b, "s").unwrap();
        assert_eq!(settings.tags.len(), THREADS / 2 * CHANGES_PER_THREAD);
        assert_eq!(settings.consumers.len(), THREADS / 2 * CHANGES_PER_THREAD);
    }

    #[test]
    fn retention_changes_are_checked_against_the_current_period() {
        let b = Broker::in_memory(BrokerConfig::default());
        create_stream(&b, &RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let day = DEFAULT_RETENTION_HOURS * 3_600_000;
        let grow = |b: &Broker, ms: i64| {
            update_retention(
                b,
                &RequestContext::local(),
                "s",
                |current| if ms >= current { Ok(ms) } else { Err(current) },
            )
            .unwrap()
        };
        assert_eq!(grow(&b, 2 * day), Ok(()));
        assert_eq!(grow(&b, day), Err(2 * day), "an increase never shortens");
        assert_eq!(b.topic("s").unwrap().retention.ms, Some(2 * day));
        let bad = update_retention(&b, &RequestContext::local(), "s", |_| Ok::<_, ()>(-7));
        assert!(matches!(bad, Err(BrokerError::InvalidConfig(_))), "{bad:?}");
    }
}
