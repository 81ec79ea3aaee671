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

/// Runs an operation that changes metadata on the blocking pool: it fsyncs the metadata
/// log, and creating, deleting or resharding a stream creates or deletes partition logs.
/// Inline where no runtime runs (unit tests driving operations from plain threads).
async fn off_runtime<I: Send + 'static>(
    call: &Call,
    input: I,
    operation: impl FnOnce(&Call, I) -> Output + Send + 'static,
) -> Output {
    if tokio::runtime::Handle::try_current().is_err() {
        return operation(call, input);
    }
    let call = call.clone();
    tokio::task::spawn_blocking(move || operation(&call, input))
        .await
        .unwrap_or_else(|e| Err(KinesisError::new("InternalFailure", format!("the operation's task failed: {e}"))))
}

/// The operations that answer a small JSON tree.
async fn dispatch_tree(call: &Call, operation: &str, body: &RequestBody) -> Output {
    match operation {
        "CreateStream" => off_runtime(call, body.input()?, streams::create).await,
        "DeleteStream" => off_runtime(call, body.input()?, streams::delete).await,
        "DescribeStream" => streams::describe(call, body.input()?),
        "DescribeStreamSummary" => streams::describe_summary(call, body.input()?),
        "ListStreams" => streams::list(call, body.input()?),
        "ListShards" => streams::list_shards(call, body.input()?),
        "IncreaseStreamRetentionPeriod" => {
            off_runtime(call, body.input()?, |c, i| settings::change_retention(c, i, true)).await
        }
        "DecreaseStreamRetentionPeriod" => {
            off_runtime(call, body.input()?, |c, i| settings::change_retention(c, i, false)).await
        }
        "DescribeLimits" => body.ignore().and_then(|()| streams::describe_limits(call)),
        "StartStreamEncryption" => off_runtime(call, body.input()?, |c, i| settings::encryption(c, i, true)).await,
        "StopStreamEncryption" => off_runtime(call, body.input()?, |c, i| settings::encryption(c, i, false)).await,
        "EnableEnhancedMonitoring" => off_runtime(call, body.input()?, |c, i| settings::monitoring(c, i, true)).await,
        "DisableEnhancedMonitoring" => off_runtime(call, body.input()?, |c, i| settings::monitoring(c, i, false)).await,
        "UpdateStreamMode" => off_runtime(call, body.input()?, settings::update_mode).await,
        "AddTagsToStream" => off_runtime(call, body.input()?, tags::add).await,
        "RemoveTagsFromStream" => off_runtime(call, body.input()?, tags::remove).await,
        "ListTagsForStream" => tags::list(call, body.input()?),
        "TagResource" => off_runtime(call, body.input()?, tags::tag_resource).await,
        "UntagResource" => off_runtime(call, body.input()?, tags::untag_resource).await,
        "ListTagsForResource" => tags::list_for_resource(call, body.input()?),
        "PutRecord" => records::put_record(call, body.input()?).await,
        "GetShardIterator" => records::get_shard_iterator(call, body.input()?),
        "SplitShard" => off_runtime(call, body.input()?, reshard::split).await,
        "MergeShards" => off_runtime(call, body.input()?, reshard::merge).await,
        "UpdateShardCount" => off_runtime(call, body.input()?, reshard::update_count).await,
        "RegisterStreamConsumer" => off_runtime(call, body.input()?, consumers::register).await,
        "DeregisterStreamConsumer" => off_runtime(call, body.input()?, consumers::deregister).await,
        "DescribeStreamConsumer" => consumers::describe(call, body.input()?),
        "ListStreamConsumers" => consumers::list(call, body.input()?),
        other => Err(KinesisError::new("UnknownOperationException", format!("Operation {other} is not supported"))),
    }
}
