//! DescribeLogDirs (v1–v5): the one data directory and the bytes each partition stores there.

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::messages::describe_log_dirs_response::{
    DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic,
};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::str_bytes;
use crate::errors::NONE;
use crate::scope::Scope;

pub(crate) fn describe(ctx: &Arc<Scope>, request: DescribeLogDirsRequest, _version: i16) -> DescribeLogDirsResponse {
    let wanted: Option<Vec<String>> =
        request.topics.as_ref().map(|ts| ts.iter().map(|t| t.topic.0.to_string()).collect());
    let mut by_topic: BTreeMap<String, Vec<DescribeLogDirsPartition>> = BTreeMap::new();
    for (topic, partition, size) in ctx.broker.partition_sizes(wanted.as_deref()) {
        let requested = request.topics.as_ref().is_none_or(|ts| {
            ts.iter()
                .any(|t| t.topic.0.as_str() == topic && (t.partitions.is_empty() || t.partitions.contains(&partition)))
        });
        if requested {
            by_topic.entry(topic).or_default().push(
                DescribeLogDirsPartition::default()
                    .with_partition_index(partition)
                    .with_partition_size(size as i64)
                    .with_offset_lag(0),
            );
        }
    }
    let topics = by_topic
        .into_iter()
        .map(|(name, partitions)| {
            DescribeLogDirsTopic::default().with_name(TopicName(str_bytes(name))).with_partitions(partitions)
        })
        .collect();
    let dir = ctx.broker.data_dir().map_or_else(|| "(memory)".to_string(), |d| d.display().to_string());
    let result = DescribeLogDirsResult::default()
        .with_error_code(NONE)
        .with_log_dir(str_bytes(dir))
        .with_topics(topics)
        // Filesystem totals are not reported yet (Kafka's "unknown").
        .with_total_bytes(-1)
        .with_usable_bytes(-1)
        // v5: tidelog has no way to cordon its one directory (KIP-1066), so it never is.
        .with_is_cordoned(false);
    DescribeLogDirsResponse::default().with_error_code(NONE).with_results(vec![result])
}
