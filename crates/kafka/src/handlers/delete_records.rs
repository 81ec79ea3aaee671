//! DeleteRecords: move partitions' log start offsets forward.

use std::sync::Arc;

use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use crate::errors::{error_code, NONE};
use crate::scope::Scope;

pub(crate) fn handle(ctx: &Arc<Scope>, request: DeleteRecordsRequest, _version: i16) -> DeleteRecordsResponse {
    let topics = request
        .topics
        .into_iter()
        .map(|t| {
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                    match ctx.broker.delete_records(&ctx.caller, &t.name.0, p.partition_index, p.offset) {
                        Ok(low) => result.with_error_code(NONE).with_low_watermark(low as i64),
                        Err(e) => result.with_error_code(error_code(&e)).with_low_watermark(-1),
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
