//! Log compaction (`cleanup.policy=compact`): keeps the latest record per key in the
//! closed segments of a partition, and drops tombstones once `delete.retention.ms` has
//! passed. Offsets never change; the active segment is never touched.
//!
//! Two passes over the closed segments: the first finds each key's latest offset, the
//! second rewrites every segment that loses records and swaps it in atomically. Only the
//! swap takes the partition lock, so appends and fetches go on meanwhile. Batches are
//! re-encoded with their own codec and producer fields; control batches are kept as is.

use std::collections::HashMap;

use bytes::{Bytes, BytesMut};
use kafka_protocol::records::{Compression, Record, RecordBatchDecoder, RecordBatchEncoder, RecordEncodeOptions};
use tidelog_log::batch::{self, BatchHeader};
use tidelog_log::SegmentInfo;

use crate::error::{BrokerError, Result};
use crate::partition::Partition;

#[derive(Debug, Clone, Copy)]
pub struct CompactionPolicy {
    /// Tombstones older than this are removed.
    pub delete_retention_ms: i64,
    /// Segments with records newer than this are left for a later pass.
    pub min_compaction_lag_ms: i64,
    /// Compact once this share of the closed segments' bytes is new since the last pass...
    pub min_cleanable_dirty_ratio: f64,
    /// ...or once new data is older than this, whatever the ratio.
    pub max_compaction_lag_ms: i64,
}

impl CompactionPolicy {
    /// Whether the closed segments warrant a pass, given what the last pass covered.
    pub fn is_due(&self, closed: &[SegmentInfo], compacted_through: u64, now_ms: i64) -> bool {
        let total: u64 = closed.iter().map(|s| s.size_bytes).sum();
        let dirty: Vec<&SegmentInfo> = closed.iter().filter(|s| s.next_offset > compacted_through).collect();
        let Some(oldest_dirty) = dirty.first() else { return false };
        let dirty_bytes: u64 = dirty.iter().map(|s| s.size_bytes).sum();
        let ratio = if total == 0 { 0.0 } else { dirty_bytes as f64 / total as f64 };
        let overdue = oldest_dirty.max_timestamp >= 0
            && now_ms.saturating_sub(oldest_dirty.max_timestamp) > self.max_compaction_lag_ms;
        ratio >= self.min_cleanable_dirty_ratio || overdue
    }
}

fn codec(h: &BatchHeader) -> Compression {
    match h.compression() {
        1 => Compression::Gzip,
        2 => Compression::Snappy,
        3 => Compression::Lz4,
        4 => Compression::Zstd,
        _ => Compression::None,
    }
}

fn decode(raw: &[u8]) -> Result<Vec<Record>> {
    let mut buf = Bytes::copy_from_slice(raw);
    RecordBatchDecoder::decode(&mut buf)
        .map(|set| set.records)
        .map_err(|e| BrokerError::Storage(format!("a stored batch does not decode: {e}")))
}

/// Calls `f` with each batch of a segment's bytes.
fn for_each_batch(bytes: &[u8], mut f: impl FnMut(&BatchHeader, &[u8]) -> Result<()>) -> Result<()> {
    for item in batch::batches(bytes) {
        let (header, range) = item.map_err(|e| BrokerError::Storage(format!("stored batch: {e}")))?;
        f(&header, &bytes[range])?;
    }
    Ok(())
}

/// Compacts one partition's closed segments. Returns how many records were removed.
pub(crate) fn compact(partition: &Partition, policy: CompactionPolicy, now_ms: i64) -> Result<usize> {
    let lag_cutoff = now_ms.saturating_sub(policy.min_compaction_lag_ms);
    // One closed segment in memory at a time: a compacted partition may be large.
    let bases: Vec<u64> = partition.with_log(|log| log.closed_segments()).into_iter().map(|s| s.base_offset).collect();
    let read = |base: u64| partition.with_log(|log| log.read_segment(base));
    // Pass 1: the latest offset of every key in the part old enough to compact. Keys are
    // copied: a slice would keep its whole (decompressed) batch alive.
    let mut latest: HashMap<Bytes, i64> = HashMap::new();
    let mut eligible = Vec::new();
    for base in bases {
        let Some(bytes) = read(base)? else { continue };
        let mut too_young = false;
        for_each_batch(&bytes, |h, _| {
            too_young |= h.max_timestamp > lag_cutoff;
            Ok(())
        })?;
        if too_young {
            break;
        }
        for_each_batch(&bytes, |h, raw| {
            if !h.is_control() {
                for r in decode(raw)? {
                    if let Some(key) = r.key {
                        latest.insert(Bytes::copy_from_slice(&key), r.offset);
                    }
                }
            }
            Ok(())
        })?;
        eligible.push(base);
    }
    // Pass 2: rewrite what loses records.
    let tombstone_cutoff = now_ms.saturating_sub(policy.delete_retention_ms);
    let mut removed = 0;
    for base in eligible {
        let Some(bytes) = read(base)? else { continue };
        let mut out = Vec::with_capacity(bytes.len());
        let mut segment_removed = 0;
        for_each_batch(&bytes, |h, raw| {
            if h.is_control() {
                out.extend_from_slice(raw);
                return Ok(());
            }
            let records = decode(raw)?;
            let total = records.len();
            let kept: Vec<Record> = records
                .into_iter()
                .filter(|r| match &r.key {
                    // Records without a key cannot be compacted: they stay.
                    None => true,
                    Some(k) => {
                        latest.get(k) == Some(&r.offset) && !(r.value.is_none() && r.timestamp < tombstone_cutoff)
                    }
                })
                .collect();
            segment_removed += total - kept.len();
            if kept.len() == total {
                out.extend_from_slice(raw);
            } else if !kept.is_empty() {
                let mut buf = BytesMut::new();
                RecordBatchEncoder::encode(&mut buf, &kept, &RecordEncodeOptions { version: 2, compression: codec(h) })
                    .map_err(|e| BrokerError::Storage(format!("re-encoding a compacted batch: {e}")))?;
                out.extend_from_slice(&buf);
            }
            Ok(())
        })?;
        if segment_removed > 0 {
            partition.with_log(|log| log.replace_segment(base, &out))?;
            removed += segment_removed;
        }
    }
    Ok(removed)
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bytes::Bytes;
    use kafka_protocol::records::{Compression, RecordBatchDecoder};

    use super::*;
    use crate::access::RequestContext;
    use crate::admin::NewTopic;
    use crate::config::BrokerConfig;
    use crate::Broker;

    fn policy() -> CompactionPolicy {
        CompactionPolicy {
            delete_retention_ms: 0,
            min_compaction_lag_ms: 0,
            min_cleanable_dirty_ratio: 0.5,
            max_compaction_lag_ms: i64::MAX,
        }
    }

    #[test]
    fn a_pass_is_due_by_dirty_ratio_or_by_age() {
        let seg = |base, next, size, ts| SegmentInfo {
            base_offset: base,
            next_offset: next,
            size_bytes: size,
            max_timestamp: ts,
        };
        let closed = [seg(0, 10, 100, 1_000), seg(10, 20, 100, 2_000), seg(20, 30, 100, 3_000)];
        let p = policy();
        assert!(p.is_due(&closed, 0, 10_000), "everything is dirty at first");
        assert!(!p.is_due(&closed, 20, 10_000), "a third dirty is below 0.5");
        assert!(!p.is_due(&closed, 30, 10_000), "nothing new");
        let aged = CompactionPolicy { max_compaction_lag_ms: 5_000, ..p };
        assert!(aged.is_due(&closed, 20, 10_000), "dirty data older than max.compaction.lag.ms");
    }

    fn keyed(key: &str, value: Option<&str>, ts: i64, compression: Compression) -> Vec<u8> {
        let records = [(Some(Bytes::from(key.to_string())), value.map(|v| Bytes::from(v.to_string())))];
        crate::records::encode_batch(&records, ts, compression).unwrap()
    }

    fn all_records(b: &Arc<Broker>) -> Vec<(String, Option<String>, i64)> {
        let p = b.partition("c", 0).unwrap();
        let (mut bytes, _) = p.read(p.offsets().log_start_offset, 1 << 20).unwrap();
        let mut out = Vec::new();
        while !bytes.is_empty() {
            for r in RecordBatchDecoder::decode(&mut bytes).unwrap().records {
                let s = |b: Option<Bytes>| b.map(|b| String::from_utf8(b.to_vec()).unwrap());
                out.push((s(r.key).unwrap(), s(r.value), r.offset));
            }
        }
        out
    }

    #[test]
    fn keeps_the_latest_value_per_key_and_expires_tombstones() {
        let b = Broker::in_memory(BrokerConfig::default());
        b.create_topic(
            &RequestContext::local(),
            NewTopic { name: "c".into(), partitions: Some(1), ..Default::default() },
            false,
        )
        .unwrap();
        let now = crate::broker::now_ms();
        let writes = [
            ("a", Some("1")),
            ("b", Some("1")),
            ("a", Some("2")),
            ("c", Some("1")),
            ("b", None),
            ("a", Some("3")),
            ("z", Some("last")),
        ];
        for (i, (k, v)) in writes.iter().enumerate() {
            let codec = if i % 2 == 0 { Compression::Zstd } else { Compression::None };
            b.append(&RequestContext::local(), "c", 0, &keyed(k, *v, now - 1000, codec)).unwrap();
        }
        let p = b.partition("c", 0).unwrap();
        let keep_tombstones = CompactionPolicy { delete_retention_ms: 60_000, min_compaction_lag_ms: 0, ..policy() };
        assert_eq!(compact(&p, keep_tombstones, now).unwrap(), 3);
        let got: Vec<(String, Option<String>, i64)> = all_records(&b);
        let expect = |k: &str, v: Option<&str>, o: i64| (k.to_string(), v.map(String::from), o);
        assert_eq!(
            got,
            vec![
                expect("c", Some("1"), 3),
                expect("b", None, 4),
                expect("a", Some("3"), 5),
                expect("z", Some("last"), 6)
            ]
        );
        let drop_tombstones = CompactionPolicy { delete_retention_ms: 0, min_compaction_lag_ms: 0, ..policy() };
        assert_eq!(compact(&p, drop_tombstones, now).unwrap(), 1);
        assert!(all_records(&b).iter().all(|(k, _, _)| k != "b"));
        assert_eq!(p.offsets().log_end_offset, 7, "offsets never change");
        let young = CompactionPolicy { delete_retention_ms: 0, min_compaction_lag_ms: 60_000, ..policy() };
        b.append(&RequestContext::local(), "c", 0, &keyed("a", Some("4"), now, Compression::None)).unwrap();
        b.append(&RequestContext::local(), "c", 0, &keyed("q", Some("1"), now, Compression::None)).unwrap();
        assert_eq!(compact(&p, young, now).unwrap(), 0, "records younger than the lag stay");
    }
}
