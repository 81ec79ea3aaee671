//! One function per Kinesis operation, grouped by concern. Each takes its typed input,
//! makes its broker call and returns its answer: a JSON tree, or for the record-heavy
//! GetRecords and PutRecords a typed value (see `answer`).

mod consumers;
mod records;
mod reshard;
mod settings;
mod streams;
mod subscribe;
mod tags;
#[cfg(test)]
mod tests;

pub(crate) use subscribe::{subscription, Subscriptions};

use serde_json::Value;

use crate::answer::Answer;
use crate::body::RequestBody;
use crate::error::KinesisError;
use crate::server::Call;

pub type Output = Result<Value, KinesisError>;

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
    serde_json::json!(epoch_seconds(ms))
}

pub(crate) fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

pub async fn dispatch(call: &Call, operation: &str, body: &RequestBody) -> Result<Answer, KinesisError> {
    match operation {
        "PutRecords" => records::put_records(call, body.input()?).await,
        "GetRecords" => records::get_records(call, body.input()?),
        other => dispatch_tree(call, other, body).await.map(Answer::Tree),
    }
}

/// The operations that answer a small JSON tree.
async fn dispatch_tree(call: &Call, operation: &str, body: &RequestBody) -> Output {
    match operation {
        "CreateStream" => streams::create(call, body.input()?),
        "DeleteStream" => streams::delete(call, body.input()?),
        "DescribeStream" => streams::describe(call, body.input()?),
        "DescribeStreamSummary" => streams::describe_summary(call, body.input()?),
        "ListStreams" => streams::list(call, body.input()?),
        "ListShards" => streams::list_shards(call, body.input()?),
        "IncreaseStreamRetentionPeriod" => settings::change_retention(call, body.input()?, true),
        "DecreaseStreamRetentionPeriod" => settings::change_retention(call, body.input()?, false),
        "DescribeLimits" => body.ignore().and_then(|()| streams::describe_limits(call)),
        "StartStreamEncryption" => settings::encryption(call, body.input()?, true),
        "StopStreamEncryption" => settings::encryption(call, body.input()?, false),
        "EnableEnhancedMonitoring" => settings::monitoring(call, body.input()?, true),
        "DisableEnhancedMonitoring" => settings::monitoring(call, body.input()?, false),
        "UpdateStreamMode" => settings::update_mode(call, body.input()?),
        "AddTagsToStream" => tags::add(call, body.input()?),
        "RemoveTagsFromStream" => tags::remove(call, body.input()?),
        "ListTagsForStream" => tags::list(call, body.input()?),
        "TagResource" => tags::tag_resource(call, body.input()?),
        "UntagResource" => tags::untag_resource(call, body.input()?),
        "ListTagsForResource" => tags::list_for_resource(call, body.input()?),
        "PutRecord" => records::put_record(call, body.input()?).await,
        "GetShardIterator" => records::get_shard_iterator(call, body.input()?),
        "SplitShard" => reshard::split(call, body.input()?),
        "MergeShards" => reshard::merge(call, body.input()?),
        "UpdateShardCount" => reshard::update_count(call, body.input()?),
        "RegisterStreamConsumer" => consumers::register(call, body.input()?),
        "DeregisterStreamConsumer" => consumers::deregister(call, body.input()?),
        "DescribeStreamConsumer" => consumers::describe(call, body.input()?),
        "ListStreamConsumers" => consumers::list(call, body.input()?),
        other => Err(KinesisError::new("UnknownOperationException", format!("Operation {other} is not supported"))),
    }
}
