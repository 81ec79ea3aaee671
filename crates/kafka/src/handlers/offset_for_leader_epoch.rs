//! OffsetForLeaderEpoch (v2–v4): where a leader epoch ends in a partition's log, which
//! consumers ask to validate a fetch position after a leader change or when assigned an
//! offset with its epoch (KIP-320). A refused partition answers epoch -1, offset -1.

use std::sync::Arc;

use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{ApiKey, OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn handle(
    ctx: &Arc<Scope>,
    request: OffsetForLeaderEpochRequest,
    _version: i16,
) -> OffsetForLeaderEpochResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|topic| {
            let partitions = topic
                .partitions
                .iter()
                .map(|p| {
                    let answer = EpochEndOffset::default().with_partition(p.partition);
                    let found = ctx.broker.end_offset_for_epoch(
                        &ctx.caller,
                        &topic.topic.0,
                        p.partition,
                        p.current_leader_epoch,
                        p.leader_epoch,
                    );
                    let answer = match found {
                        Ok((epoch, end_offset)) => {
                            answer.with_error_code(NONE).with_leader_epoch(epoch).with_end_offset(end_offset)
                        }
                        Err(e) => answer.with_error_code(error_code(&e)).with_leader_epoch(-1).with_end_offset(-1),
                    };
                    crate::metrics::partition_error(ApiKey::OffsetForLeaderEpoch, answer.error_code);
                    answer
                })
                .collect();
            OffsetForLeaderTopicResult::default().with_topic(topic.topic).with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}
