//! One function per Kinesis operation, grouped by concern. Each takes its typed input,
//! makes its broker call and returns its answer: a JSON tree, or for the record-heavy
//! GetRecords and PutRecords a typed value (see `answer`).

mod account;
mod consumers;
mod policy;
mod put;
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
use crate::body::{typed, RequestBody};
use crate::error::KinesisError;
use crate::server::Call;
use crate::spec;

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

/// A request with `DryRun` set stops here, once everything it asks for was checked and
/// found possible: AWS answers DryRunOperationException instead of doing it.
pub(crate) fn stop_if_dry_run(dry_run: Option<bool>) -> Result<(), KinesisError> {
    if dry_run == Some(true) {
        return Err(KinesisError::new(
            "DryRunOperationException",
            "The request would have succeeded, but the DryRun parameter was set.",
        ));
    }
    Ok(())
}

/// Epoch seconds with millisecond precision: how AWS JSON carries timestamps.
pub(crate) fn seconds(ms: i64) -> Value {
    serde_json::json!(epoch_seconds(ms))
}

pub(crate) fn epoch_seconds(ms: i64) -> f64 {
    ms as f64 / 1000.0
}

/// Every operation this endpoint serves; the rest of the service model's answer
/// UnknownOperationException, as AWS answers a name it does not know.
const SERVED: &[&str] = &[
    "AddTagsToStream",
    "CreateStream",
    "DecreaseStreamRetentionPeriod",
    "DeleteResourcePolicy",
    "DeleteStream",
    "DeregisterStreamConsumer",
    "DescribeAccountSettings",
    "DescribeLimits",
    "DescribeStream",
    "DescribeStreamConsumer",
    "DescribeStreamSummary",
    "DisableEnhancedMonitoring",
    "EnableEnhancedMonitoring",
    "GetRecords",
    "GetResourcePolicy",
    "GetShardIterator",
    "IncreaseStreamRetentionPeriod",
    "ListShards",
    "ListStreamConsumers",
    "ListStreams",
    "ListTagsForResource",
    "ListTagsForStream",
    "MergeShards",
    "PutRecord",
    "PutRecords",
    "PutResourcePolicy",
    "RegisterStreamConsumer",
    "RemoveTagsFromStream",
    "SplitShard",
    "StartStreamEncryption",
    "StopStreamEncryption",
    "SubscribeToShard",
    "TagResource",
    "UntagResource",
    "UpdateAccountSettings",
    "UpdateMaxRecordSize",
    "UpdateShardCount",
    "UpdateStreamMode",
    "UpdateStreamRecordDistributionStrategy",
    "UpdateStreamWarmThroughput",
];

pub fn is_served(operation: &str) -> bool {
    SERVED.contains(&operation)
}

#[cfg(test)]
#[test]
fn every_served_operation_is_in_the_service_model() {
    for operation in SERVED {
        assert!(spec::MODEL.input(operation).is_some(), "{operation} is not an operation of the model");
    }
}

/// Checks the input against the service model (AWS's order: types, then constraints,
/// all before anything is looked up), then runs the operation.
pub async fn dispatch(call: &Call, operation: &str, body: &RequestBody) -> Result<Answer, KinesisError> {
    if operation == "PutRecords" {
        // Typed straight from the body: a tree of 500 records costs more than the put.
        return put::put_records(call, put::checked_put_records(body)?).await;
    }
    let mut tree = body.tree()?;
    spec::check(operation, &tree)?;
    spec::drop_nulls(&mut tree);
    match operation {
        "GetRecords" => records::get_records(call, typed(&tree)?),
        other => dispatch_tree(call, other, &tree).await.map(Answer::Tree),
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
        .unwrap_or_else(|e| Err(KinesisError::internal(format!("the operation's task failed: {e}"))))
}

/// The operations that answer a small JSON tree.
async fn dispatch_tree(call: &Call, operation: &str, tree: &Value) -> Output {
    match operation {
        "CreateStream" => off_runtime(call, typed(tree)?, streams::create).await,
        "DeleteStream" => off_runtime(call, typed(tree)?, streams::delete).await,
        "DescribeStream" => streams::describe(call, typed(tree)?),
        "DescribeStreamSummary" => streams::describe_summary(call, typed(tree)?),
        "ListStreams" => streams::list(call, typed(tree)?),
        "ListShards" => streams::list_shards(call, typed(tree)?),
        "IncreaseStreamRetentionPeriod" => {
            off_runtime(call, typed(tree)?, |c, i| settings::change_retention(c, i, true)).await
        }
        "DecreaseStreamRetentionPeriod" => {
            off_runtime(call, typed(tree)?, |c, i| settings::change_retention(c, i, false)).await
        }
        "DescribeLimits" => streams::describe_limits(call),
        "DescribeAccountSettings" => account::describe(call),
        "UpdateAccountSettings" => off_runtime(call, typed(tree)?, account::update).await,
        "UpdateMaxRecordSize" => off_runtime(call, typed(tree)?, settings::max_record_size).await,
        "UpdateStreamWarmThroughput" => off_runtime(call, typed(tree)?, settings::warm_throughput).await,
        "UpdateStreamRecordDistributionStrategy" => off_runtime(call, typed(tree)?, settings::distribution).await,
        "PutResourcePolicy" => off_runtime(call, typed(tree)?, policy::put).await,
        "GetResourcePolicy" => policy::get(call, typed(tree)?),
        "DeleteResourcePolicy" => off_runtime(call, typed(tree)?, policy::delete).await,
        "StartStreamEncryption" => off_runtime(call, typed(tree)?, |c, i| settings::encryption(c, i, true)).await,
        "StopStreamEncryption" => off_runtime(call, typed(tree)?, |c, i| settings::encryption(c, i, false)).await,
        "EnableEnhancedMonitoring" => off_runtime(call, typed(tree)?, |c, i| settings::monitoring(c, i, true)).await,
        "DisableEnhancedMonitoring" => off_runtime(call, typed(tree)?, |c, i| settings::monitoring(c, i, false)).await,
        "UpdateStreamMode" => off_runtime(call, typed(tree)?, settings::update_mode).await,
        "AddTagsToStream" => off_runtime(call, typed(tree)?, tags::add).await,
        "RemoveTagsFromStream" => off_runtime(call, typed(tree)?, tags::remove).await,
        "ListTagsForStream" => tags::list(call, typed(tree)?),
        "TagResource" => off_runtime(call, typed(tree)?, tags::tag_resource).await,
        "UntagResource" => off_runtime(call, typed(tree)?, tags::untag_resource).await,
        "ListTagsForResource" => tags::list_for_resource(call, typed(tree)?),
        "PutRecord" => put::put_record(call, typed(tree)?).await,
        "GetShardIterator" => records::get_shard_iterator(call, typed(tree)?),
        "SplitShard" => off_runtime(call, typed(tree)?, reshard::split).await,
        "MergeShards" => off_runtime(call, typed(tree)?, reshard::merge).await,
        "UpdateShardCount" => off_runtime(call, typed(tree)?, reshard::update_count).await,
        "RegisterStreamConsumer" => off_runtime(call, typed(tree)?, consumers::register).await,
        "DeregisterStreamConsumer" => off_runtime(call, typed(tree)?, consumers::deregister).await,
        "DescribeStreamConsumer" => consumers::describe(call, typed(tree)?),
        "ListStreamConsumers" => consumers::list(call, typed(tree)?),
        other => Err(KinesisError::new("UnknownOperationException", format!("Operation {other} is not supported"))),
    }
}
