//! The Kinesis model of a topic: a stream is a topic, a shard is a partition owning a
//! slice of the 128-bit hash-key space. The model (stream settings, the shard layout) is
//! the topic's `kinesis` attribute, which the core keeps without looking inside; a closed
//! shard is a partition the core sealed at its log end. Records are read and written as
//! (key, value, timestamp), so this front-end never sees a batch.

mod settings;
mod shards;

pub use settings::{
    create_stream, create_stream_with, ensure_batch_room, settings, update_retention, update_settings, StreamConsumer,
    StreamSettings, Transition, DEFAULT_MAX_RECORD_KIB, DEFAULT_RETENTION_HOURS,
};
pub use shards::{append_by_hash, even_layout, layout, plan_merge, plan_split, plan_uniform, reshard};
pub use shards::{ChildPlan, Shard, ShardAppend, BATCH_HEADER_BYTES, RECORD_FRAMING_BYTES};

/// The topic attribute that holds a stream's model.
pub const NAMESPACE: &str = "kinesis";

/// Whether a topic is seen as a stream: every topic is, except the broker's internal ones
/// (`__consumer_offsets` ...); a stream created through Kinesis is whatever its name, so
/// a stream named `__x` is one (AWS allows such names).
pub fn is_stream(meta: &tidelog_broker::metadata::TopicMeta) -> bool {
    !meta.name.starts_with("__") || meta.attributes.contains_key(NAMESPACE)
}

/// The first hash key of shard `index` of `count`: `floor(2^128 * index / count)`.
pub fn shard_start(index: usize, count: usize) -> u128 {
    if index == 0 || count == 0 {
        return 0;
    }
    let n = count as u128;
    let (q, r) = (u128::MAX / n, u128::MAX % n);
    // 2^128 = q·n + r + 1, so 2^128·i/n = q·i + (r+1)·i/n, and (r+1)·i cannot overflow.
    q * index as u128 + (r + 1) * index as u128 / n
}

/// The inclusive hash-key range of each of `count` shards, splitting 2^128 evenly.
pub fn shard_ranges(count: usize) -> Vec<(u128, u128)> {
    (0..count)
        .map(|i| {
            let end = if i + 1 == count { u128::MAX } else { shard_start(i + 1, count) - 1 };
            (shard_start(i, count), end)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranges_split_the_hash_space_evenly_and_route_every_key() {
        let ranges = shard_ranges(4);
        assert_eq!(ranges[0], (0, (1u128 << 126) - 1));
        assert_eq!(ranges[3], (3u128 << 126, u128::MAX));
        for count in [1usize, 3, 7, 10] {
            let ranges = shard_ranges(count);
            assert_eq!(ranges.first().unwrap().0, 0);
            assert_eq!(ranges.last().unwrap().1, u128::MAX);
            for w in ranges.windows(2) {
                assert_eq!(w[0].1 + 1, w[1].0);
            }
            assert!(ranges.iter().all(|(start, end)| start <= end));
        }
    }
}
