//! Stream lifecycle and description: create, delete, describe, list, shards, limits.
//! Changes to an existing stream's settings are in `settings`.

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};
use tidelog_broker::now_ms;

use super::settings::retention_hours;
use super::{page_size, seconds, Output};
use crate::error::KinesisError;
use crate::model::{self, Shard, StreamSettings};
use crate::sequence;
use crate::server::Call;
use crate::stream_ref::{arn, shard_id, shard_index, validate_name, StreamRef};
use tidelog_broker::config::keys;

const ON_DEMAND_STREAM_LIMIT: i64 = 50;
/// Shards an on-demand stream starts with, as on AWS.
const ON_DEMAND_SHARDS: i64 = 4;
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamModeDetails {
    pub stream_mode: String,
}

pub(super) fn on_demand(details: &Option<StreamModeDetails>) -> Result<bool, KinesisError> {
    match details.as_ref().map(|d| d.stream_mode.as_str()) {
        None | Some("PROVISIONED") => Ok(false),
        Some("ON_DEMAND") => Ok(true),
        Some(other) => Err(KinesisError::validation(
            "streamModeDetails.streamMode",
            other,
            "Member must satisfy enum value set: [PROVISIONED, ON_DEMAND]",
        )),
    }
}

/// A stream's name, checked to exist (the broker's internal topics are not streams).
pub(crate) fn existing(call: &Call, stream: &StreamRef) -> Result<String, KinesisError> {
    let name = stream.name()?;
    match call.broker.topic_meta(&name) {
        Some(meta) if model::is_stream(&meta) => Ok(name),
        _ => Err(KinesisError::stream_not_found(&name)),
    }
}

/// The names of every stream, in name order.
pub(crate) fn stream_names(call: &Call) -> Vec<String> {
    let mut names: Vec<String> = call
        .broker
        .all_topics()
        .iter()
        .filter_map(|t| call.broker.topic_meta(&t.meta.name))
        .filter(model::is_stream)
        .map(|meta| meta.name)
        .collect();
    names.sort();
    names
}

/// An existing stream that takes records: still CREATING counts as not found, as on AWS.
pub(crate) fn writable(call: &Call, stream: &StreamRef) -> Result<String, KinesisError> {
    let name = existing(call, stream)?;
    if settings(call, &name)?.status(now_ms()) == "CREATING" {
        return Err(KinesisError::stream_not_found(&name));
    }
    Ok(name)
}

/// An existing stream whose shards may change now: not CREATING or UPDATING.
pub(crate) fn idle(call: &Call, stream: &StreamRef) -> Result<String, KinesisError> {
    let name = existing(call, stream)?;
    let status = settings(call, &name)?.status(now_ms()).to_string();
    if status != "ACTIVE" {
        return Err(KinesisError::resource_in_use(format!(
            "Stream {name} under account {} not ACTIVE, instead in state {status}",
            crate::error::account()
        )));
    }
    Ok(name)
}

/// Every shard of a stream, open and closed.
pub(crate) fn shards(call: &Call, name: &str) -> Result<Vec<Shard>, KinesisError> {
    model::layout(&call.broker, name).map_err(|e| KinesisError::from_broker(e, name))
}

/// One shard of a stream by its id, read as AWS reads ids (see `shard_index`).
pub(crate) fn shard(call: &Call, name: &str, id: &str) -> Result<Shard, KinesisError> {
    let index = shard_index(id, name)?;
    shards(call, name)?
        .into_iter()
        .find(|s| s.partition == index)
        .ok_or_else(|| KinesisError::shard_not_found(&shard_id(index), name))
}

fn settings(call: &Call, name: &str) -> Result<StreamSettings, KinesisError> {
    model::settings(&call.broker, name).ok_or_else(|| KinesisError::stream_not_found(name))
}

fn total_open_shards(call: &Call) -> i64 {
    stream_names(call).iter().map(|name| open_shard_count(call, name) as i64).sum()
}

fn open_shard_count(call: &Call, name: &str) -> usize {
    model::layout(&call.broker, name).map_or(0, |s| s.iter().filter(|s| s.is_open()).count())
}

pub(crate) fn shard_limit(call: &Call) -> i64 {
    call.broker.config().get(keys::KINESIS_SHARD_LIMIT)
}

/// LimitExceededException when `additional` more open shards would pass the account limit.
pub(crate) fn check_shard_limit(call: &Call, additional: i64) -> Result<(), KinesisError> {
    let (open, limit) = (total_open_shards(call), shard_limit(call));
    if open + additional > limit {
        return Err(KinesisError::new(
            "LimitExceededException",
            format!("This request would exceed the shard limit for the account {} in {}. Current shard count for the account: {open}. Limit: {limit}. Number of additional shards that would have resulted from this request: {additional}.", crate::error::account(), call.region),
        ));
    }
    Ok(())
}

fn mode(settings: &StreamSettings) -> Value {
    json!({ "StreamMode": if settings.on_demand { "ON_DEMAND" } else { "PROVISIONED" } })
}

fn encryption_fields(settings: &StreamSettings, out: &mut serde_json::Map<String, Value>) {
    match &settings.encryption_key {
        Some(key) => {
            out.insert("EncryptionType".into(), json!("KMS"));
            out.insert("KeyId".into(), json!(key));
        }
        None => {
            out.insert("EncryptionType".into(), json!("NONE"));
        }
    }
}

pub(crate) fn hash_key_range(shard: &Shard) -> Value {
    json!({
        "StartingHashKey": shard.starting_hash_key.to_string(),
        "EndingHashKey": shard.ending_hash_key.to_string(),
    })
}

fn shard_json(shard: &Shard) -> Value {
    let mut range = json!({ "StartingSequenceNumber": sequence::encode(shard.partition, 0) });
    if let Some(end) = shard.ending_offset {
        range["EndingSequenceNumber"] = json!(sequence::encode(shard.partition, end.saturating_sub(1)));
    }
    let mut out = json!({
        "ShardId": shard_id(shard.partition),
        "HashKeyRange": hash_key_range(shard),
        "SequenceNumberRange": range,
    });
    if let Some(p) = shard.parent {
        out["ParentShardId"] = json!(shard_id(p));
    }
    if let Some(p) = shard.adjacent_parent {
        out["AdjacentParentShardId"] = json!(shard_id(p));
    }
    out
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CreateInput {
    stream_name: String,
    shard_count: Option<i64>,
    stream_mode_details: Option<StreamModeDetails>,
    #[serde(default)]
    tags: BTreeMap<String, String>,
    #[serde(rename = "MaxRecordSizeInKiB")]
    max_record_size_kib: Option<i64>,
    warm_throughput_mi_bps: Option<i64>,
    record_distribution_strategy: Option<String>,
}

pub fn create(call: &Call, input: CreateInput) -> Output {
    validate_name(&input.stream_name)?;
    let on_demand = on_demand(&input.stream_mode_details)?;
    let shards = match (input.shard_count, on_demand) {
        (Some(n), _) => n,
        (None, true) => ON_DEMAND_SHARDS,
        (None, false) => {
            return Err(KinesisError::invalid_argument("ShardCount is required for a stream in PROVISIONED mode"))
        }
    };
    super::tags::check_tags(&input.tags, &input.stream_name)?;
    let auto_distribution = input.record_distribution_strategy.as_deref() == Some("AUTO");
    if !on_demand && (input.warm_throughput_mi_bps.is_some() || auto_distribution) {
        return Err(KinesisError::invalid_argument(format!(
            "Stream {} under account {} is in PROVISIONED mode: warm throughput and the AUTO record distribution strategy need ON_DEMAND.",
            input.stream_name,
            crate::error::account()
        )));
    }
    check_shard_limit(call, shards)?;
    let initial = StreamSettings {
        on_demand,
        tags: input.tags,
        max_record_size_kib: input.max_record_size_kib,
        warm_throughput_mibps: input.warm_throughput_mi_bps,
        auto_distribution,
        ..Default::default()
    };
    model::create_stream_with(&call.broker, &call.caller, &input.stream_name, shards as i32, initial)
        .map_err(|e| KinesisError::from_broker(e, &input.stream_name))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DeleteInput {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(default)]
    enforce_consumer_deletion: bool,
}

pub fn delete(call: &Call, input: DeleteInput) -> Output {
    let name = existing(call, &input.stream)?;
    super::consumers::block_deletion(call, &name, input.enforce_consumer_deletion)?;
    call.broker.delete_topic(&call.caller, &name).map_err(|e| KinesisError::from_broker(e, &name))?;
    Ok(json!({}))
}

/// The fields DescribeStream and DescribeStreamSummary share.
fn description_base(call: &Call, name: &str) -> Result<serde_json::Map<String, Value>, KinesisError> {
    let settings = settings(call, name)?;
    let mut out = serde_json::Map::new();
    out.insert("StreamName".into(), json!(name));
    out.insert("StreamARN".into(), json!(arn(&call.region, name)));
    out.insert("StreamStatus".into(), json!(settings.status(now_ms())));
    out.insert("StreamModeDetails".into(), mode(&settings));
    out.insert("RetentionPeriodHours".into(), json!(retention_hours(call, name)));
    out.insert("StreamCreationTimestamp".into(), seconds(settings.created_ms));
    let metrics: Vec<&String> = settings.enhanced_metrics.iter().collect();
    out.insert("EnhancedMonitoring".into(), json!([{ "ShardLevelMetrics": metrics }]));
    encryption_fields(&settings, &mut out);
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DescribeInput {
    #[serde(flatten)]
    stream: StreamRef,
    limit: Option<i64>,
    exclusive_start_shard_id: Option<String>,
}

pub fn describe(call: &Call, input: DescribeInput) -> Output {
    let name = existing(call, &input.stream)?;
    let all = shards(call, &name)?;
    let limit = page_size("limit", input.limit, 100)?;
    let after = match &input.exclusive_start_shard_id {
        Some(id) => shard_index(id, &name)?,
        None => -1,
    };
    let rest: Vec<&Shard> = all.iter().filter(|s| s.partition > after).collect();
    let page: Vec<Value> = rest.iter().take(limit).map(|s| shard_json(s)).collect();
    let mut out = description_base(call, &name)?;
    out.insert("HasMoreShards".into(), json!(rest.len() > page.len()));
    out.insert("Shards".into(), json!(page));
    Ok(json!({ "StreamDescription": out }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct SummaryInput {
    #[serde(flatten)]
    stream: StreamRef,
}

pub fn describe_summary(call: &Call, input: SummaryInput) -> Output {
    let name = existing(call, &input.stream)?;
    let mut out = description_base(call, &name)?;
    let settings = settings(call, &name)?;
    out.insert("OpenShardCount".into(), json!(open_shard_count(call, &name)));
    out.insert("ConsumerCount".into(), json!(settings.consumers.len()));
    out.insert(
        "MaxRecordSizeInKiB".into(),
        json!(settings.max_record_size_kib.unwrap_or(model::DEFAULT_MAX_RECORD_KIB)),
    );
    if settings.on_demand {
        let strategy = if settings.auto_distribution { "AUTO" } else { "USER_PARTITION_KEY" };
        out.insert("RecordDistributionStrategy".into(), json!(strategy));
        if let Some(mibps) = settings.warm_throughput_mibps {
            out.insert("WarmThroughput".into(), json!({ "TargetMiBps": mibps, "CurrentMiBps": mibps }));
        }
    }
    Ok(json!({ "StreamDescriptionSummary": out }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    limit: Option<i64>,
    exclusive_start_stream_name: Option<String>,
    next_token: Option<String>,
}

pub fn list(call: &Call, input: ListInput) -> Output {
    let limit = page_size("limit", input.limit, 100)?;
    // The token is the last name of the previous page, like ExclusiveStartStreamName.
    let after = input.next_token.or(input.exclusive_start_stream_name);
    let names: Vec<String> = stream_names(call).into_iter().filter(|n| after.as_ref().is_none_or(|a| n > a)).collect();
    let page: Vec<String> = names.iter().take(limit).cloned().collect();
    let more = names.len() > page.len();
    let summaries: Vec<Value> = page
        .iter()
        .map(|name| {
            let settings = model::settings(&call.broker, name).unwrap_or_default();
            json!({
                "StreamName": name,
                "StreamARN": arn(&call.region, name),
                "StreamStatus": settings.status(now_ms()),
                "StreamModeDetails": mode(&settings),
                "StreamCreationTimestamp": seconds(settings.created_ms),
            })
        })
        .collect();
    let mut out = json!({ "StreamNames": page, "HasMoreStreams": more, "StreamSummaries": summaries });
    if more {
        out["NextToken"] = json!(page.last());
    }
    Ok(out)
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ShardFilter {
    r#type: String,
    shard_id: Option<String>,
    /// Epoch seconds.
    timestamp: Option<f64>,
}

/// Whether `shard` passes a ListShards filter (AFTER_SHARD_ID is applied as a position).
fn passes(filter: &ShardFilter, shard: &Shard) -> Result<bool, KinesisError> {
    let at = || -> Result<i64, KinesisError> {
        let ts = filter.timestamp.ok_or_else(|| {
            KinesisError::invalid_argument(format!("Timestamp is required for ShardFilter type {}", filter.r#type))
        })?;
        Ok((ts * 1000.0) as i64)
    };
    Ok(match filter.r#type.as_str() {
        "AFTER_SHARD_ID" | "AT_TRIM_HORIZON" | "FROM_TRIM_HORIZON" => true,
        "AT_LATEST" => shard.is_open(),
        "AT_TIMESTAMP" => {
            let t = at()?;
            shard.created_ms <= t && shard.closed_ms.is_none_or(|c| c > t)
        }
        "FROM_TIMESTAMP" => {
            let t = at()?;
            shard.closed_ms.is_none_or(|c| c > t)
        }
        other => return Err(KinesisError::validation("shardFilter.type", other, "Member must satisfy enum value set: [AFTER_SHARD_ID, AT_TRIM_HORIZON, FROM_TRIM_HORIZON, AT_LATEST, AT_TIMESTAMP, FROM_TIMESTAMP]")),
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListShardsInput {
    #[serde(flatten)]
    stream: StreamRef,
    next_token: Option<String>,
    exclusive_start_shard_id: Option<String>,
    max_results: Option<i64>,
    shard_filter: Option<ShardFilter>,
}

pub fn list_shards(call: &Call, input: ListShardsInput) -> Output {
    // The token carries the stream and the next shard: "<stream>/<index>".
    let (stream, first) = match &input.next_token {
        Some(token) => {
            if input.stream.stream_name.is_some() || input.stream.stream_arn.is_some() {
                return Err(KinesisError::invalid_argument("NextToken and StreamName cannot be provided together."));
            }
            let (name, index) = token
                .rsplit_once('/')
                .and_then(|(n, i)| Some((n.to_string(), i.parse::<usize>().ok()?)))
                .ok_or_else(|| KinesisError::invalid_argument(format!("Invalid NextToken {token}")))?;
            (StreamRef { stream_name: Some(name), stream_arn: None }, index)
        }
        None => (
            StreamRef { stream_name: input.stream.stream_name.clone(), stream_arn: input.stream.stream_arn.clone() },
            0,
        ),
    };
    let name = existing(call, &stream)?;
    let after = |id: &Option<String>| -> Result<usize, KinesisError> {
        Ok(match id {
            Some(id) => shard_index(id, &name)? as usize + 1,
            None => 0,
        })
    };
    let mut first = first.max(after(&input.exclusive_start_shard_id)?);
    if let Some(filter) = input.shard_filter.as_ref().filter(|f| f.r#type == "AFTER_SHARD_ID") {
        first = first.max(after(&filter.shard_id)?);
    }
    let mut selected = Vec::new();
    for shard in shards(call, &name)?.into_iter().filter(|s| s.partition as usize >= first) {
        if input.shard_filter.as_ref().map_or(Ok(true), |f| passes(f, &shard))? {
            selected.push(shard);
        }
    }
    let max = page_size("maxResults", input.max_results, 1000)?;
    let page: Vec<Value> = selected.iter().take(max).map(shard_json).collect();
    let mut out = json!({ "Shards": page });
    if selected.len() > max {
        let next = selected[max].partition;
        out["NextToken"] = json!(format!("{name}/{next}"));
    }
    Ok(out)
}

pub fn describe_limits(call: &Call) -> Output {
    let on_demand = stream_names(call)
        .iter()
        .filter(|name| model::settings(&call.broker, name).is_some_and(|s| s.on_demand))
        .count();
    Ok(json!({
        "ShardLimit": shard_limit(call),
        "OpenShardCount": total_open_shards(call),
        "OnDemandStreamCount": on_demand,
        "OnDemandStreamCountLimit": ON_DEMAND_STREAM_LIMIT,
    }))
}
