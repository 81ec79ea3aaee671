//! Resharding: SplitShard, MergeShards, UpdateShardCount, and on-demand streams splitting
//! their busiest shards. Parents keep their records and close; children are new
//! partitions, so Kafka clients see them through Metadata.

use serde::Deserialize;
use serde_json::json;
use tidelog_broker::streams::{plan_merge, plan_split, plan_uniform, ChildPlan};

use super::streams::{check_shard_limit, idle, shards};
use super::Output;
use crate::error::KinesisError;
use crate::server::Call;
use crate::stream_ref::{arn, shard_index, StreamRef};

/// AWS's bounds on one UpdateShardCount: at most double, at least half the open shards.
const MAX_SHARDS_PER_STREAM: i64 = 10_000;

fn apply(call: &Call, name: &str, planned: tidelog_broker::Result<(Vec<i32>, Vec<ChildPlan>)>) -> Output {
    let (closing, children) = planned.map_err(|e| KinesisError::from_broker(e, name))?;
    check_shard_limit(call, children.len() as i64 - closing.len() as i64)?;
    call.broker.reshard(name, &closing, &children).map_err(|e| KinesisError::from_broker(e, name))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SplitInput {
    #[serde(flatten)]
    stream: StreamRef,
    shard_to_split: String,
    new_starting_hash_key: String,
}

pub fn split(call: &Call, input: SplitInput) -> Output {
    let name = idle(call, &input.stream)?;
    let parent = shard_index(&input.shard_to_split)?;
    let key = input.new_starting_hash_key.parse::<u128>().map_err(|_| {
        KinesisError::validation(
            "newStartingHashKey",
            &input.new_starting_hash_key,
            "Member must satisfy regular expression pattern: 0|([1-9]\\d{0,38})",
        )
    })?;
    let layout = shards(call, &name)?;
    apply(call, &name, plan_split(&layout, &name, parent, key))
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
    let name = idle(call, &input.stream)?;
    let (a, b) = (shard_index(&input.shard_to_merge)?, shard_index(&input.adjacent_shard_to_merge)?);
    let layout = shards(call, &name)?;
    apply(call, &name, plan_merge(&layout, &name, a, b))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateCountInput {
    #[serde(flatten)]
    stream: StreamRef,
    target_shard_count: i64,
    scaling_type: String,
}

pub fn update_count(call: &Call, input: UpdateCountInput) -> Output {
    let name = idle(call, &input.stream)?;
    if input.scaling_type != "UNIFORM_SCALING" {
        return Err(KinesisError::validation(
            "scalingType",
            &input.scaling_type,
            "Member must satisfy enum value set: [UNIFORM_SCALING]",
        ));
    }
    let target = input.target_shard_count;
    if !(1..=MAX_SHARDS_PER_STREAM).contains(&target) {
        return Err(KinesisError::validation(
            "targetShardCount",
            target,
            "Member must have value less than or equal to 10000 and greater than or equal to 1",
        ));
    }
    let layout = shards(call, &name)?;
    let current = layout.iter().filter(|s| s.is_open()).count() as i64;
    if target > current * 2 || target * 2 < current {
        return Err(KinesisError::invalid_argument(format!(
            "UpdateShardCount failed for stream {name} under account {}. Target shard count {target} must be between half and double the current open shard count {current}.",
            crate::error::ACCOUNT
        )));
    }
    if target != current {
        apply(call, &name, Ok(plan_uniform(&layout, target as usize)))?;
    }
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
    let on_demand = call.broker.stream_settings(name).is_some_and(|s| s.on_demand);
    if !on_demand {
        return;
    }
    for &partition in touched {
        if !call.limits.overloaded(name, partition) {
            continue;
        }
        let Ok(layout) = call.broker.stream_shards(name) else { return };
        let Some(shard) = layout.iter().find(|s| s.partition == partition && s.is_open()) else { continue };
        let middle = shard.starting_hash_key + (shard.ending_hash_key - shard.starting_hash_key) / 2 + 1;
        let outcome = apply(call, name, plan_split(&layout, name, partition, middle));
        match outcome {
            Ok(_) => tracing::info!(stream = %name, shard = partition, "on-demand stream split a busy shard"),
            Err(e) => tracing::debug!(stream = %name, shard = partition, error = %e, "on-demand split skipped"),
        }
    }
}
