//! A stream's own attributes (mode, tags, encryption, enhanced metrics, registered
//! consumers) and the one way they change: a read-modify-write under `admin_lock`, so that
//! two concurrent changes (a tag added while a consumer registers) never lose one another.
//! A stream is created in one event, topic and settings together, so no crash can leave a
//! stream's topic without its settings.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};

use super::Shard;
use crate::access::{Operation, RequestContext, Resource};
use crate::admin::NewTopic;
use crate::broker::{now_ms, Broker};
use crate::config::{keys, topic_keys};
use crate::config::{validate_topic_configs, TopicConfig};
use crate::error::{BrokerError, Result};
use crate::metadata::MetadataEvent;

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
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct StreamConsumer {
    pub name: String,
    pub created_ms: i64,
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

    pub(super) fn transition_for(status: &str, ms: i64, now_ms: i64) -> Option<Transition> {
        (ms > 0).then(|| Transition { status: status.into(), until_ms: now_ms + ms })
    }
}

fn unknown_stream(name: &str) -> BrokerError {
    BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None }
}

impl Broker {
    /// Creates a topic as a Kinesis stream with `shards` partitions and Kinesis' 24-hour
    /// retention, its settings committed in the same event as the topic.
    pub fn create_stream(
        &self,
        ctx: &RequestContext,
        name: &str,
        shards: i32,
        on_demand: bool,
        tags: BTreeMap<String, String>,
    ) -> Result<()> {
        self.authorize(ctx, Operation::Create, Resource::Topic(name))?;
        let retention = (DEFAULT_RETENTION_HOURS * 3_600_000).to_string();
        let configs = [("retention.ms".to_string(), retention)].into();
        let now = now_ms();
        let transition =
            StreamSettings::transition_for("CREATING", self.config.get(keys::KINESIS_STREAM_TRANSITION_MS), now);
        let settings = StreamSettings { on_demand, created_ms: now, tags, transition, ..Default::default() };
        let topic = NewTopic { name: name.into(), partitions: Some(shards), replication_factor: None, configs };
        self.create_topic_with_stream(topic, false, Some(settings))?;
        Ok(())
    }

    /// The stream attributes of a topic (defaults for a topic never touched as a stream).
    pub fn stream_settings(&self, name: &str) -> Option<StreamSettings> {
        self.metadata.read().topics.get(name).map(|t| t.stream.clone().unwrap_or_default())
    }

    /// Changes a stream's user-set attributes: reads them, lets `change` modify them and
    /// commits the result, all under `admin_lock`, so concurrent changes apply one after
    /// the other and none is lost. `change` may refuse with its own error (returned as the
    /// inner `Err`), and then nothing is committed; nor is anything when it changed
    /// nothing. The shard layout and status transitions are the broker's own: changes to
    /// them are dropped. `change` runs under the lock, so it must not call back into the
    /// broker's metadata changes.
    pub fn update_stream_settings<T, E>(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: impl FnOnce(&mut StreamSettings) -> std::result::Result<T, E>,
    ) -> Result<std::result::Result<T, E>> {
        self.authorize(ctx, Operation::Alter, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let current = self.stream_settings(name).ok_or_else(|| unknown_stream(name))?;
        let mut settings = current.clone();
        let answer = match change(&mut settings) {
            Ok(answer) => answer,
            Err(refused) => return Ok(Err(refused)),
        };
        settings.shards = current.shards.clone();
        settings.transition = current.transition.clone();
        if settings != current {
            self.commit_event(MetadataEvent::StreamSettingsChanged { name: name.into(), settings })?;
        }
        Ok(Ok(answer))
    }

    /// Sets a stream's retention (`retention.ms`) to what `change` makes of the current
    /// one (-1: unlimited). Under `admin_lock`, like [`Broker::update_stream_settings`], so
    /// that a check against the current period (an increase must not shorten it) still
    /// holds when the new one is committed.
    pub fn update_stream_retention<E>(
        &self,
        ctx: &RequestContext,
        name: &str,
        change: impl FnOnce(i64) -> std::result::Result<i64, E>,
    ) -> Result<std::result::Result<(), E>> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Topic(name))?;
        let _guard = self.admin_lock.lock();
        let handle = self.topic(name).ok_or_else(|| unknown_stream(name))?;
        let current =
            TopicConfig { overrides: &handle.meta.configs, broker: &self.config }.get(topic_keys::RETENTION_MS);
        let retention_ms = match change(current) {
            Ok(ms) => ms,
            Err(refused) => return Ok(Err(refused)),
        };
        let mut configs = handle.meta.configs.clone();
        configs.insert("retention.ms".into(), retention_ms.to_string());
        let configs = validate_topic_configs(&configs)?;
        if configs == handle.meta.configs {
            return Ok(Ok(()));
        }
        // The event `alter_topic_configs` commits; that takes `admin_lock` itself, so it
        // cannot be called with the lock held across the check above.
        self.commit_event(MetadataEvent::TopicConfigsChanged { name: name.into(), configs })?;
        tracing::info!(stream = %name, retention_ms, "changed stream retention");
        Ok(Ok(()))
    }
}

#[cfg(test)]
mod tests {
    use crate::access::RequestContext;
    use std::sync::Arc;

    use super::*;
    use crate::config::BrokerConfig;

    #[test]
    fn a_stream_is_created_in_one_event() {
        let dir = tempfile::tempdir().unwrap();
        {
            let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
            b.create_stream(&RequestContext::local(), "s", 2, true, [("team".to_string(), "a".to_string())].into())
                .unwrap();
            b.shutdown().unwrap();
        }
        let (_, events) = crate::metadata::LocalMetadataStore::open(&dir.path().join("__cluster_metadata")).unwrap();
        let stream_events: Vec<_> = events
            .iter()
            .filter(|e| match e {
                MetadataEvent::TopicCreated { name, .. } | MetadataEvent::StreamSettingsChanged { name, .. } => {
                    name == "s"
                }
                _ => false,
            })
            .collect();
        assert_eq!(stream_events.len(), 1, "{stream_events:?}");
        let MetadataEvent::TopicCreated { stream: Some(settings), partitions: 2, .. } = stream_events[0] else {
            panic!("expected TopicCreated with stream settings, got {:?}", stream_events[0]);
        };
        assert!(settings.on_demand && settings.created_ms > 0 && settings.tags["team"] == "a");
        let b = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        assert_eq!(b.stream_settings("s").as_ref(), Some(settings));
        assert_eq!(b.topic("s").unwrap().meta.stream.as_ref(), Some(settings));
    }

    #[test]
    fn refused_or_empty_changes_commit_nothing_and_layout_is_kept() {
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_stream(&RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let before = b.stream_settings("s").unwrap();
        let refused = b.update_stream_settings(&RequestContext::local(), "s", |s| {
            s.tags.insert("k".into(), "v".into());
            Err::<(), _>("no")
        });
        assert_eq!(refused.unwrap(), Err("no"));
        assert_eq!(b.stream_settings("s").unwrap(), before);
        b.update_stream_settings(&RequestContext::local(), "s", |s| {
            s.shards.clear();
            s.shards.push(super::super::even_layout(3).remove(2));
            s.on_demand = true;
            Ok::<_, ()>(())
        })
        .unwrap()
        .unwrap();
        let after = b.stream_settings("s").unwrap();
        assert!(after.on_demand && after.shards == before.shards);
        let missing = b.update_stream_settings(&RequestContext::local(), "nope", |_| Ok::<_, ()>(()));
        assert!(matches!(missing, Err(BrokerError::UnknownTopicOrPartition { .. })));
    }

    #[test]
    fn concurrent_setting_changes_are_all_kept() {
        const THREADS: usize = 8;
        const CHANGES_PER_THREAD: usize = 25;
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_stream(&RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let threads: Vec<_> = (0..THREADS)
            .map(|t| {
                let b = Arc::clone(&b);
                std::thread::spawn(move || {
                    for i in 0..CHANGES_PER_THREAD {
                        // Even threads tag, odd ones register consumers: two kinds of change
                        // to the same settings, each of which used to overwrite the other.
                        b.update_stream_settings(&RequestContext::local(), "s", |s| {
                            if t % 2 == 0 {
                                s.tags.insert(format!("t{t}-{i}"), "v".into());
                            } else {
                                s.consumers.push(StreamConsumer { name: format!("c{t}-{i}"), created_ms: 1 });
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
        let settings = b.stream_settings("s").unwrap();
        assert_eq!(settings.tags.len(), THREADS / 2 * CHANGES_PER_THREAD);
        assert_eq!(settings.consumers.len(), THREADS / 2 * CHANGES_PER_THREAD);
    }

    #[test]
    fn retention_changes_are_checked_against_the_current_period() {
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_stream(&RequestContext::local(), "s", 1, false, BTreeMap::new()).unwrap();
        let day = DEFAULT_RETENTION_HOURS * 3_600_000;
        let grow = |b: &Broker, ms: i64| {
            b.update_stream_retention(
                &RequestContext::local(),
                "s",
                |current| if ms >= current { Ok(ms) } else { Err(current) },
            )
            .unwrap()
        };
        assert_eq!(grow(&b, 2 * day), Ok(()));
        assert_eq!(grow(&b, day), Err(2 * day), "an increase never shortens");
        assert_eq!(b.topic("s").unwrap().retention.ms, Some(2 * day));
        let bad = b.update_stream_retention(&RequestContext::local(), "s", |_| Ok::<_, ()>(-7));
        assert!(matches!(bad, Err(BrokerError::InvalidConfig(_))), "{bad:?}");
    }
}
