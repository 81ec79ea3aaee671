//! One function per Kinesis operation, grouped by concern. Each parses its typed input,
//! makes its broker call and returns the JSON output.

mod consumers;
mod records;
mod reshard;
mod streams;
mod tags;

pub(crate) use consumers::{subscription, Subscriptions};

use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::error::KinesisError;
use crate::server::Call;

pub type Output = Result<Value, KinesisError>;

/// Typed input; a wrong type or a missing required member is a SerializationException.
pub(crate) fn input<T: DeserializeOwned>(value: Value) -> Result<T, KinesisError> {
    serde_json::from_value(value).map_err(|e| KinesisError::serialization(e.to_string()))
}

/// A Limit or MaxResults member: 1 to 10,000, `default` when absent.
pub(crate) fn page_size(field: &str, value: Option<i64>, default: usize) -> Result<usize, KinesisError> {
    match value {
        Some(v) if !(1..=10_000).contains(&v) => {
            Err(KinesisError::validation(field, v, "Member must have value between 1 and 10000"))
        }
        Some(v) => Ok(v as usize),
        None => Ok(default),
    }
}

/// Epoch seconds with millisecond precision: how AWS JSON carries timestamps.
pub(crate) fn seconds(ms: i64) -> Value {
    serde_json::json!(ms as f64 / 1000.0)
}

pub async fn dispatch(call: &Call, operation: &str, body: Value) -> Output {
    match operation {
        "CreateStream" => streams::create(call, input(body)?),
        "DeleteStream" => streams::delete(call, input(body)?),
        "DescribeStream" => streams::describe(call, input(body)?),
        "DescribeStreamSummary" => streams::describe_summary(call, input(body)?),
        "ListStreams" => streams::list(call, input(body)?),
        "ListShards" => streams::list_shards(call, input(body)?),
        "IncreaseStreamRetentionPeriod" => streams::change_retention(call, input(body)?, true),
        "DecreaseStreamRetentionPeriod" => streams::change_retention(call, input(body)?, false),
        "DescribeLimits" => streams::describe_limits(call),
        "StartStreamEncryption" => streams::encryption(call, input(body)?, true),
        "StopStreamEncryption" => streams::encryption(call, input(body)?, false),
        "EnableEnhancedMonitoring" => streams::monitoring(call, input(body)?, true),
        "DisableEnhancedMonitoring" => streams::monitoring(call, input(body)?, false),
        "UpdateStreamMode" => streams::update_mode(call, input(body)?),
        "AddTagsToStream" => tags::add(call, input(body)?),
        "RemoveTagsFromStream" => tags::remove(call, input(body)?),
        "ListTagsForStream" => tags::list(call, input(body)?),
        "TagResource" => tags::tag_resource(call, input(body)?),
        "UntagResource" => tags::untag_resource(call, input(body)?),
        "ListTagsForResource" => tags::list_for_resource(call, input(body)?),
        "PutRecord" => records::put_record(call, input(body)?).await,
        "PutRecords" => records::put_records(call, input(body)?).await,
        "GetShardIterator" => records::get_shard_iterator(call, input(body)?),
        "GetRecords" => records::get_records(call, input(body)?),
        "SplitShard" => reshard::split(call, input(body)?),
        "MergeShards" => reshard::merge(call, input(body)?),
        "UpdateShardCount" => reshard::update_count(call, input(body)?),
        "RegisterStreamConsumer" => consumers::register(call, input(body)?),
        "DeregisterStreamConsumer" => consumers::deregister(call, input(body)?),
        "DescribeStreamConsumer" => consumers::describe(call, input(body)?),
        "ListStreamConsumers" => consumers::list(call, input(body)?),
        other => Err(KinesisError::new("UnknownOperationException", format!("Operation {other} is not supported"))),
    }
}
