//! Resharding: SplitShard, MergeShards, UpdateShardCount, and on-demand streams splitting
//! their busiest shards. Parents keep their records and close; children are new
//! partitions, so Kafka clients see them through Metadata.

use serde::Deserialize;
use serde_json::json;

use super::streams::{check_shard_limit, idle, shard_limit};
use super::Output;
use crate::error::KinesisError;
use crate::model::{self, plan_merge, plan_split, plan_uniform, ChildPlan, Shard};
use crate::server::Call;
use crate::stream_ref::{arn, shard_index, StreamRef};

/// The most open shards one stream may have (UpdateShardCount's bound besides at most
/// double and at least half the open shards).
const MAX_SHARDS_PER_STREAM: i64 = 10_000;

/// Plans against the stream's current layout and reshards, as one step under the broker's
/// metadata lock, with the account's shard limit checked against the same state.
fn apply(
    call: &Call,
    name: &str,
    plan: impl FnOnce(&[Shard]) -> Result<(Vec<i32>, Vec<ChildPlan>), KinesisError>,
) -> Result<(), KinesisError> {
    let resharded = model::reshard(&call.broker, &call.caller, name, |layout| {
        let (closing, children) = plan(layout)?;
        check_shard_limit(call, children.len() as i64 - closing.len() as i64)?;
        Ok((closing, children))
    });
    resharded.map_err(|e| KinesisError::from_broker(e, name))?.map(|_| ())
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SplitInput {
    #[serde(flatten)]
    stream: StreamRef,
    shard_to_split: String,
    new_starting_hash_key: String,
}

/// Resharding by hand is for provisioned streams: AWS answers ValidationException for an
/// on-demand one, which scales itself.
fn provisioned(call: &Call, stream: &StreamRef) -> Result<String, KinesisError> {
    let name = idle(call, stream)?;
    if model::settings(&call.broker, &name).is_some_and(|s| s.on_demand) {
        return Err(KinesisError::new(
            "ValidationException",
            format!(
                "This API is only supported for data streams with the provisioned capacity mode. Stream {name} under account {} is in ON_DEMAND mode.",
                crate::error::account()
            ),
        ));
    }
    Ok(name)
}

pub fn split(call: &Call, input: SplitInput) -> Output {
    let name = provisioned(call, &input.stream)?;
    let parent = shard_index(&input.shard_to_split, &name)?;
    let key = input.new_starting_hash_key.parse::<u128>().map_err(|_| {
        KinesisError::validation(
            "newStartingHashKey",
            &input.new_starting_hash_key,
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
        )
    })?;
    apply(call, &name, |layout| plan_split(layout, &name, parent, key))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MergeInput {
    #[serde(flatten)]
    stream: StreamRef,
    shard_to_merge: String,
    adjacent_shard_to_merge: String,
}

pub fn merge(call: &Call, input: MergeInput) -> Output {
    let name = provisioned(call, &input.stream)?;
    let (a, b) = (shard_index(&input.shard_to_merge, &name)?, shard_index(&input.adjacent_shard_to_merge, &name)?);
    apply(call, &name, |layout| plan_merge(layout, &name, a, b))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCountInput {
    #[serde(flatten)]
    stream: StreamRef,
    target_shard_count: i64,
    // ScalingType has one value, UNIFORM_SCALING, which `spec` checks.
}

pub fn update_count(call: &Call, input: UpdateCountInput) -> Output {
    let name = provisioned(call, &input.stream)?;
    // ScalingType and the target's lower bound are the model's, checked before this.
    let target = input.target_shard_count;
    let mut current = 0;
    apply(call, &name, |layout| {
        current = layout.iter().filter(|s| s.is_open()).count() as i64;
        let limit = MAX_SHARDS_PER_STREAM.min(shard_limit(call));
        let refuse = |why: String| {
            Err(KinesisError::new(
                "LimitExceededException",
                format!("{why} Current open shard count: {current}, Target shard count: {target}"),
            ))
        };
        if target > limit {
            return refuse(format!("Target shard count or number of open shards cannot be greater than {limit}."));
        }
        if target > current * 2 {
            return refuse("UpdateShardCount cannot scale up over double your current open shard count.".into());
        }
        if target * 2 < current {
            return refuse("UpdateShardCount cannot scale down below half your current open shard count.".into());
        }
        // The same count plans nothing, and nothing changes.
        Ok(if target == current { Default::default() } else { plan_uniform(layout, target as usize) })
    })?;
    Ok(json!({
        "StreamName": name,
        "StreamARN": arn(&call.region, &name),
        "CurrentShardCount": current,
        "TargetShardCount": target,
    }))
}

/// On-demand streams split a shard that took more than one provisioned shard's writes in
/// the last second, at the middle of its range, while the account's shard limit allows.
pub fn scale_on_demand(call: &Call, name: &str, touched: &[i32]) {
    let on_demand = model::settings(&call.broker, name).is_some_and(|s| s.on_demand);
    if !on_demand {
        return;
    }
    for &partition in touched {
        if !call.limits.overloaded(name, partition) {
            continue;
        }
        let outcome = apply(call, name, |layout| {
            let shard = layout.iter().find(|s| s.partition == partition && s.is_open()).ok_or_else(|| {
                KinesisError::invalid_argument(format!("shard {partition} of {name} is no longer open"))
            })?;
            let middle = shard.starting_hash_key + (shard.ending_hash_key - shard.starting_hash_key) / 2 + 1;
            plan_split(layout, name, partition, middle)
        });
        match outcome {
            Ok(_) => tracing::info!(stream = %name, shard = partition, "on-demand stream split a busy shard"),
            Err(e) => tracing::debug!(stream = %name, shard = partition, error = %e, "on-demand split skipped"),
        }
    }
}
