//! The shard layout of a stream: which partitions are shards, the hash-key range each
//! owns, its parents, and where a closed shard ends. A stream never resharded has the
//! even layout over all its partitions and stores nothing; the first reshard stores the
//! layout, and every reshard seals the closing shards' partitions and adds their children
//! as new partitions in one reshape of the topic.

use std::collections::BTreeMap;

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use tidelog_broker::access::RequestContext;
use tidelog_broker::config::keys;
use tidelog_broker::metadata::TopicMeta;
use tidelog_broker::{now_ms, Broker, BrokerError, Produced, Reshape};

use super::settings::{self, StreamSettings};
use super::{shard_ranges, NAMESPACE};
use crate::error::{account, KinesisError};

/// One shard: a partition and the slice of the 128-bit hash-key space it owns.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub partition: i32,
    #[serde(with = "decimal")]
    pub starting_hash_key: u128,
    /// Inclusive.
    #[serde(with = "decimal")]
    pub ending_hash_key: u128,
    pub parent: Option<i32>,
    pub adjacent_parent: Option<i32>,
    /// 0 for the shards a stream was created with.
    pub created_ms: i64,
    /// Set when resharding closed the shard: the offset after its last record, where the
    /// Kinesis view of the partition ends, and when it closed.
    pub ending_offset: Option<u64>,
    pub closed_ms: Option<i64>,
}

impl Shard {
    pub fn is_open(&self) -> bool {
        self.ending_offset.is_none()
    }

    pub fn holds(&self, hash_key: u128) -> bool {
        self.starting_hash_key <= hash_key && hash_key <= self.ending_hash_key
    }
}

/// Hash keys go to the metadata log as decimal strings: JSON numbers lose 128-bit values.
mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(v: &u128, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&v.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u128, D::Error> {
        String::deserialize(d)?.parse().map_err(serde::de::Error::custom)
    }
}

/// The layout of a stream never resharded: `count` open shards splitting 2^128 evenly.
pub fn even_layout(count: usize) -> Vec<Shard> {
    shard_ranges(count)
        .into_iter()
        .enumerate()
        .map(|(i, (start, end))| Shard {
            partition: i as i32,
            starting_hash_key: start,
            ending_hash_key: end,
            parent: None,
            adjacent_parent: None,
            created_ms: 0,
            ending_offset: None,
            closed_ms: None,
        })
        .collect()
}

/// A new shard a reshard plans: its range and parents (its partition comes later).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChildPlan {
    pub range: (u128, u128),
    pub parent: i32,
    pub adjacent_parent: Option<i32>,
}

/// Records appended to one shard by [`append_by_hash`].
#[derive(Debug)]
pub struct ShardAppend {
    pub partition: i32,
    /// Positions of the records in the caller's list, in append order.
    pub indexes: Vec<usize>,
    pub produced: Result<Produced, BrokerError>,
}

fn reshard_error(message: String) -> KinesisError {
    KinesisError::invalid_argument(message)
}

fn open_shard(shards: &[Shard], stream: &str, partition: i32) -> Result<Shard, KinesisError> {
    let shard = shards.iter().find(|s| s.partition == partition).ok_or_else(|| {
        KinesisError::new(
            "ResourceNotFoundException",
            format!(
                "Shard shardId-{partition:012} in stream {stream} under account {ACCOUNT} does not exist",
                ACCOUNT = account()
            ),
        )
    })?;
    if !shard.is_open() {
        return Err(reshard_error(format!(
            "Shard shardId-{partition:012} in stream {stream} under account {ACCOUNT} has already been merged or split, and thus is not eligible for merging or splitting.", ACCOUNT = account()
        )));
    }
    Ok(shard.clone())
}

/// Splits `parent` at `new_start`: children `[start, new_start-1]` and `[new_start, end]`.
pub fn plan_split(
    shards: &[Shard],
    stream: &str,
    parent: i32,
    new_start: u128,
) -> Result<(Vec<i32>, Vec<ChildPlan>), KinesisError> {
    let shard = open_shard(shards, stream, parent)?;
    if new_start <= shard.starting_hash_key || new_start > shard.ending_hash_key {
        return Err(reshard_error(format!(
            "NewStartingHashKey {new_start} used in SplitShard() on shard shardId-{parent:012} in stream {stream} under account {ACCOUNT} is not both greater than one plus the shard's StartingHashKey {} and less than the shard's EndingHashKey {}.",
            shard.starting_hash_key, shard.ending_hash_key, ACCOUNT = account()
        )));
    }
    let children = vec![
        ChildPlan { range: (shard.starting_hash_key, new_start - 1), parent, adjacent_parent: None },
        ChildPlan { range: (new_start, shard.ending_hash_key), parent, adjacent_parent: None },
    ];
    Ok((vec![parent], children))
}

/// Merges two open shards whose ranges touch into one child.
pub fn plan_merge(
    shards: &[Shard],
    stream: &str,
    shard: i32,
    adjacent: i32,
) -> Result<(Vec<i32>, Vec<ChildPlan>), KinesisError> {
    let a = open_shard(shards, stream, shard)?;
    let b = open_shard(shards, stream, adjacent)?;
    let touching = a.ending_hash_key.checked_add(1) == Some(b.starting_hash_key)
        || b.ending_hash_key.checked_add(1) == Some(a.starting_hash_key);
    if !touching {
        return Err(reshard_error(format!(
            "Shards shardId-{shard:012} and shardId-{adjacent:012} in stream {stream} under account {ACCOUNT} are not an adjacent pair of shards eligible for merging", ACCOUNT = account()
        )));
    }
    let range = (a.starting_hash_key.min(b.starting_hash_key), a.ending_hash_key.max(b.ending_hash_key));
    Ok((vec![shard, adjacent], vec![ChildPlan { range, parent: shard, adjacent_parent: Some(adjacent) }]))
}

/// Replaces every open shard by `target` shards splitting 2^128 evenly. Each child names
/// the open shard holding its first hash key as parent and, when its range reaches into
/// another one, that shard as adjacent parent.
pub fn plan_uniform(shards: &[Shard], target: usize) -> (Vec<i32>, Vec<ChildPlan>) {
    let open: Vec<&Shard> = shards.iter().filter(|s| s.is_open()).collect();
    let children = shard_ranges(target)
        .into_iter()
        .map(|range| {
            let overlapping: Vec<i32> = open
                .iter()
                .filter(|s| s.starting_hash_key <= range.1 && range.0 <= s.ending_hash_key)
                .map(|s| s.partition)
                .collect();
            let parent = open.iter().find(|s| s.holds(range.0)).map_or(overlapping[0], |s| s.partition);
            let adjacent_parent = overlapping.iter().copied().find(|p| *p != parent);
            ChildPlan { range, parent, adjacent_parent }
        })
        .collect();
    (open.iter().map(|s| s.partition).collect(), children)
}

/// The layout as the stream's model stores it: every shard with its range and parents (a
/// stream never resharded stores none: the even layout over its partitions).
fn stored_layout(meta: &TopicMeta) -> Vec<Shard> {
    let stored = settings::of_meta(meta).shards;
    if stored.is_empty() {
        even_layout(meta.partitions as usize)
    } else {
        stored
    }
}

/// Every shard of a stream, open and closed, in partition order: a shard is closed where
/// the core sealed its partition (or, for layouts stored before seals, where it says).
pub(crate) fn layout_of(meta: &TopicMeta) -> Vec<Shard> {
    let mut shards = stored_layout(meta);
    for shard in &mut shards {
        if let Some(seal) = meta.sealed.get(&shard.partition) {
            shard.ending_offset.get_or_insert(seal.offset);
            shard.closed_ms.get_or_insert(seal.sealed_ms);
        }
    }
    shards
}

/// Every shard of a stream, open and closed, in partition order.
pub fn layout(broker: &Broker, name: &str) -> Result<Vec<Shard>, BrokerError> {
    broker
        .topic_meta(name)
        .map(|meta| layout_of(&meta))
        .ok_or_else(|| BrokerError::UnknownTopicOrPartition { topic: name.into(), partition: None })
}

/// The bytes a record adds to a record batch beyond its key and value, at most: its
/// length, attributes, timestamp and offset deltas, key and value lengths and header count.
pub const RECORD_FRAMING_BYTES: usize = 25;
/// A record batch's header.
pub const BATCH_HEADER_BYTES: usize = 61;

/// The records of one shard cut into batches the topic's `max.message.bytes` takes (a
/// stream created through Kinesis takes any PutRecords in one; a topic created through
/// Kafka may need several). A record too large for any batch is refused before this.
fn batches(records: &[(u128, Bytes, Bytes)], indexes: Vec<usize>, max_batch_bytes: usize) -> Vec<Vec<usize>> {
    let mut out: Vec<Vec<usize>> = Vec::new();
    let mut size = 0;
    for i in indexes {
        let framed = records[i].1.len() + records[i].2.len() + RECORD_FRAMING_BYTES;
        match out.last_mut() {
            Some(batch) if size + framed <= max_batch_bytes => batch.push(i),
            _ => {
                out.push(vec![i]);
                size = BATCH_HEADER_BYTES;
            }
        }
        size += framed;
    }
    out
}

/// Appends `(hash key, partition key, data)` records, each to the open shard whose range
/// holds its hash key: one batch per shard in the caller's order (more where the topic's
/// batch limit needs them). Holds the broker's shape guard, so no record lands in a shard
/// that a concurrent reshard closes.
pub fn append_by_hash(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    records: &[(u128, Bytes, Bytes)],
) -> Result<Vec<ShardAppend>, BrokerError> {
    let _shape = broker.shape_guard();
    let open: Vec<Shard> = layout(broker, name)?.into_iter().filter(Shard::is_open).collect();
    let max_batch_bytes = broker.topic(name).map_or(usize::MAX, |t| t.limits.max_message_bytes);
    let mut by_shard: BTreeMap<i32, Vec<usize>> = BTreeMap::new();
    for (i, (hash, _, _)) in records.iter().enumerate() {
        let shard = open
            .iter()
            .find(|s| s.holds(*hash))
            .ok_or_else(|| BrokerError::Storage(format!("stream {name} has no open shard for hash key {hash}")))?;
        by_shard.entry(shard.partition).or_default().push(i);
    }
    Ok(by_shard
        .into_iter()
        .flat_map(|(partition, indexes)| {
            batches(records, indexes, max_batch_bytes).into_iter().map(move |b| (partition, b))
        })
        .map(|(partition, indexes)| {
            let batch: Vec<_> =
                indexes.iter().map(|&i| (Some(records[i].1.clone()), Some(records[i].2.clone()))).collect();
            let produced = broker.append_records(ctx, name, partition, &batch);
            ShardAppend { partition, indexes, produced }
        })
        .collect())
}

/// Plans a reshard against the current layout and applies it as one reshape of the topic
/// (closing shards sealed at their log end, children added as new partitions, the layout
/// stored), under the broker's metadata and shape locks, so two concurrent reshards never
/// plan against the same layout. `plan` returns the shards to close and the children to
/// add, or its own error (the inner `Err`); an empty plan changes nothing. Returns the new
/// shards. `plan` runs under the lock, so it must not change metadata itself.
pub fn reshard<E>(
    broker: &Broker,
    ctx: &RequestContext,
    name: &str,
    plan: impl FnOnce(&[Shard]) -> std::result::Result<(Vec<i32>, Vec<ChildPlan>), E>,
) -> Result<std::result::Result<Vec<Shard>, E>, BrokerError> {
    let transition_ms = broker.config().get(keys::KINESIS_STREAM_TRANSITION_MS);
    broker.reshape_topic(ctx, name, |meta| {
        let (closing, children) = plan(&layout_of(meta))?;
        if closing.is_empty() && children.is_empty() {
            return Ok((Reshape { partitions: meta.partitions, ..Reshape::default() }, Vec::new()));
        }
        let now = now_ms();
        let first = meta.partitions as i32;
        let added: Vec<Shard> = children
            .iter()
            .enumerate()
            .map(|(i, c)| Shard {
                partition: first + i as i32,
                starting_hash_key: c.range.0,
                ending_hash_key: c.range.1,
                parent: Some(c.parent),
                adjacent_parent: c.adjacent_parent,
                created_ms: now,
                ending_offset: None,
                closed_ms: None,
            })
            .collect();
        let mut stream = settings::of_meta(meta);
        stream.shards = stored_layout(meta);
        stream.shards.extend(added.iter().cloned());
        stream.transition = StreamSettings::transition_for("UPDATING", transition_ms, now);
        let reshape = Reshape {
            seal: closing,
            partitions: (first as usize + added.len()) as u32,
            attributes: [(NAMESPACE.to_string(), settings::to_value(&stream))].into(),
        };
        tracing::info!(stream = %name, added = added.len(), "resharding stream");
        Ok((reshape, added))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::create_stream;
    use tidelog_broker::access::RequestContext;
    use tidelog_broker::BrokerConfig;

    fn hash_of(b: &Broker, name: &str, partition: i32) -> u128 {
        layout(b, name).unwrap().iter().find(|s| s.partition == partition).unwrap().starting_hash_key
    }

    #[test]
    fn split_closes_the_parent_and_routes_to_the_children() {
        let b = Broker::in_memory(BrokerConfig::default());
        create_stream(&b, &RequestContext::local(), "s", 1, false, Default::default()).unwrap();
        let rec = |h: u128| (h, Bytes::from_static(b"k"), Bytes::from_static(b"v"));
        append_by_hash(&b, &RequestContext::local(), "s", &[rec(5)]).unwrap();
        let added =
            reshard(&b, &RequestContext::local(), "s", |layout| plan_split(layout, "s", 0, 1 << 127)).unwrap().unwrap();
        assert_eq!(added.iter().map(|s| s.partition).collect::<Vec<_>>(), vec![1, 2]);
        let shards = layout(&b, "s").unwrap();
        assert_eq!(shards[0].ending_offset, Some(1));
        assert_eq!((shards[1].ending_hash_key, shards[2].starting_hash_key), ((1 << 127) - 1, 1 << 127));
        assert_eq!(b.topic("s").unwrap().partitions.len(), 3);
        let appended = append_by_hash(&b, &RequestContext::local(), "s", &[rec(5), rec(u128::MAX)]).unwrap();
        assert_eq!(appended.iter().map(|a| a.partition).collect::<Vec<_>>(), vec![1, 2]);
        // A closed shard cannot split again; a split key outside the range is refused.
        assert!(matches!(plan_split(&shards, "s", 0, 7), Err(KinesisError { kind: "InvalidArgumentException", .. })));
        assert!(matches!(plan_split(&shards, "s", 1, 0), Err(KinesisError { kind: "InvalidArgumentException", .. })));
        // Merging the two children gives one child with both as parents.
        let (_, children) = plan_merge(&shards, "s", 1, 2).unwrap();
        assert_eq!(children[0].range, (0, u128::MAX));
        reshard(&b, &RequestContext::local(), "s", |layout| plan_merge(layout, "s", 1, 2)).unwrap().unwrap();
        assert_eq!(hash_of(&b, "s", 3), 0);
        assert!(matches!(
            plan_merge(&layout(&b, "s").unwrap(), "s", 1, 2),
            Err(KinesisError { kind: "InvalidArgumentException", .. })
        ));
    }

    #[test]
    fn records_are_cut_into_batches_the_topic_takes() {
        let rec = |n: usize| (0u128, Bytes::from_static(b"k"), Bytes::from(vec![0u8; n]));
        let records = vec![rec(600), rec(600), rec(10), rec(2000)];
        let limit = BATCH_HEADER_BYTES + 2 * (601 + RECORD_FRAMING_BYTES);
        assert_eq!(batches(&records, vec![0, 1, 2, 3], limit), vec![vec![0, 1], vec![2], vec![3]]);
        assert_eq!(batches(&records, vec![0, 1, 2, 3], usize::MAX), vec![vec![0, 1, 2, 3]]);
        let b = Broker::in_memory(BrokerConfig::default());
        let topic = tidelog_broker::NewTopic {
            name: "k".into(),
            partitions: Some(1),
            configs: [("max.message.bytes".to_string(), "2000".to_string())].into(),
            ..Default::default()
        };
        b.create_topic(&RequestContext::local(), topic, false).unwrap();
        let big = vec![(5u128, Bytes::from_static(b"k"), Bytes::from(vec![1u8; 1500])); 3];
        let appended = append_by_hash(&b, &RequestContext::local(), "k", &big).unwrap();
        assert_eq!(appended.len(), 3, "one batch per record under a 2000-byte limit");
        assert!(appended.iter().all(|a| a.produced.is_ok()), "{appended:?}");
    }

    #[test]
    fn uniform_resharding_names_overlapping_parents() {
        let shards = even_layout(2);
        let (closing, children) = plan_uniform(&shards, 4);
        assert_eq!(closing, vec![0, 1]);
        assert_eq!(
            children.iter().map(|c| (c.parent, c.adjacent_parent)).collect::<Vec<_>>(),
            vec![(0, None), (0, None), (1, None), (1, None)]
        );
        let (_, children) = plan_uniform(&even_layout(4), 2);
        assert_eq!(
            children.iter().map(|c| (c.parent, c.adjacent_parent)).collect::<Vec<_>>(),
            vec![(0, Some(1)), (2, Some(3))]
        );
    }
}
