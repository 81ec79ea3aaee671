//! ListOffsets (v1–v11): earliest, latest, max timestamp and by-timestamp lookups per
//! partition. v10's `timeout_ms` bounds waits for tiered storage, which tidelog does not
//! have: every answer is immediate, and the tiered sentinels (-5 latest tiered, v11's -6
//! earliest pending upload) answer "no offset" as Kafka does without remote storage.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};
use tidelog_broker::OffsetQuery;

use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn handle(ctx: &Arc<Scope>, request: ListOffsetsRequest, version: i16) -> ListOffsetsResponse {
    let read_committed = request.isolation_level == 1;
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let response = ListOffsetsPartitionResponse::default()
                        .with_partition_index(p.partition_index)
                        .with_offset(-1)
                        .with_timestamp(-1);
                    if !timestamp_supported(p.timestamp, version) {
                        return response.with_error_code(ResponseError::UnsupportedVersion.code());
                    }
                    let Some(query) = OffsetQuery::from_kafka(p.timestamp, read_committed) else {
                        return response.with_error_code(ResponseError::InvalidRequest.code());
                    };
                    // v4+ carries the client's leader epoch, checked as Kafka checks it.
                    let current_leader_epoch = if version >= 4 { p.current_leader_epoch } else { -1 };
                    let listed = ctx.broker.list_offset_at(
                        &ctx.caller,
                        &topic.name.0,
                        p.partition_index,
                        query,
                        current_leader_epoch,
                    );
                    match listed {
                        Ok(listed) => response
                            .with_error_code(NONE)
                            .with_offset(listed.offset)
                            .with_timestamp(listed.timestamp)
                            .with_leader_epoch(if version >= 4 { listed.leader_epoch } else { -1 }),
                        Err(e) => response.with_error_code(error_code(&e)),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default().with_name(topic.name).with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}

/// Kafka's `ReplicaManager.isListOffsetsTimestampUnsupported`: a sentinel timestamp asked
/// below the version that introduced it, or a negative timestamp that is no sentinel, is
/// UNSUPPORTED_VERSION for that partition.
fn timestamp_supported(timestamp: i64, version: i16) -> bool {
    let introduced_in = match timestamp {
        0.. => return true,
        -1 | -2 => 1,
        -3 => 7,
        -4 => 8,
        -5 => 9,
        -6 => 11,
        _ => return false,
    };
    version >= introduced_in
}

#[cfg(test)]
mod tests {
    use super::timestamp_supported;

    #[test]
    fn sentinels_need_the_version_that_introduced_them() {
        assert!(timestamp_supported(1_700_000_000_000, 1));
        assert!(timestamp_supported(-2, 1));
        assert!(!timestamp_supported(-3, 6) && timestamp_supported(-3, 7));
        assert!(!timestamp_supported(-5, 8) && timestamp_supported(-5, 9));
        assert!(!timestamp_supported(-6, 10) && timestamp_supported(-6, 11));
        assert!(!timestamp_supported(-7, 11));
    }
}
