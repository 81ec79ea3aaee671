//! Changes to an existing stream's settings: retention, encryption, enhanced monitoring,
//! stream mode (tags and consumers use the same door). Each is one read-modify-write under
//! the broker's metadata lock, so concurrent changes never lose one another and checks
//! against the current settings still hold when the change commits.

use serde::Deserialize;
use serde_json::json;

use super::streams::{existing, idle, on_demand, StreamModeDetails};
use super::Output;
use crate::error::KinesisError;
use crate::model::{self, StreamSettings};
use crate::server::Call;
use crate::stream_ref::{arn, StreamRef};

const MIN_RETENTION_HOURS: i64 = 24;
const MAX_RETENTION_HOURS: i64 = 8760;
const ALL_METRICS: &[&str] = &[
    "IncomingBytes",
    "IncomingRecords",
    "OutgoingBytes",
    "OutgoingRecords",
    "WriteProvisionedThroughputExceeded",
    "ReadProvisionedThroughputExceeded",
    "IteratorAgeMilliseconds",
];

/// Changes a stream's settings in one read-modify-write under the broker's metadata lock,
/// so concurrent changes (a tag added while a consumer registers) never lose one another.
/// `change` sees the current settings and may refuse; then nothing is written. It runs
/// under the lock, so it only edits the settings it is given.
pub(crate) fn update_settings<T>(
    call: &Call,
    name: &str,
    change: impl FnOnce(&mut StreamSettings) -> Result<T, KinesisError>,
) -> Result<T, KinesisError> {
    model::update_settings(&call.broker, &call.caller, name, change).map_err(|e| KinesisError::from_broker(e, name))?
}

pub(super) fn retention_hours(call: &Call, name: &str) -> i64 {
    let ms = call
        .broker
        .topic_config_entries(&call.caller, name)
        .ok()
        .and_then(|entries| entries.into_iter().find(|e| e.name == "retention.ms"))
        .and_then(|e| e.value?.parse::<i64>().ok())
        .unwrap_or(MIN_RETENTION_HOURS * 3_600_000);
    whole_hours(ms)
}

/// `retention.ms` in whole hours; unlimited (-1) counts as the longest Kinesis allows.
fn whole_hours(retention_ms: i64) -> i64 {
    if retention_ms < 0 {
        MAX_RETENTION_HOURS
    } else {
        retention_ms / 3_600_000
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RetentionInput {
    #[serde(flatten)]
    stream: StreamRef,
    retention_period_hours: i64,
}

pub fn change_retention(call: &Call, input: RetentionInput, increase: bool) -> Output {
    let name = existing(call, &input.stream)?;
    let hours = input.retention_period_hours;
    if hours < MIN_RETENTION_HOURS {
        return Err(KinesisError::invalid_argument(format!("Minimum allowed retention period is {MIN_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too short.")));
    }
    if hours > MAX_RETENTION_HOURS {
        return Err(KinesisError::invalid_argument(format!("Maximum allowed retention period is {MAX_RETENTION_HOURS} hours. Requested retention period ({hours} hours) is too long.")));
    }
    // Checked against the period in force when the change commits, not an earlier read.
    let checked = model::update_retention(&call.broker, &call.caller, &name, |current_ms| {
        let current = whole_hours(current_ms);
        if increase && hours < current {
            return Err(KinesisError::invalid_argument(format!("Requested retention period ({hours} hours) for stream {name} can not be shorter than existing retention period ({current} hours). Use DecreaseRetentionPeriod API.")));
        }
        if !increase && hours > current {
            return Err(KinesisError::invalid_argument(format!("Requested retention period ({hours} hours) for stream {name} can not be longer than existing retention period ({current} hours). Use IncreaseRetentionPeriod API.")));
        }
        Ok(hours * 3_600_000)
    });
    checked.map_err(|e| KinesisError::from_broker(e, &name))??;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct EncryptionInput {
    #[serde(flatten)]
    stream: StreamRef,
    encryption_type: String,
    key_id: String,
}

/// Recorded and reported; data at rest is not encrypted by tidelog itself.
pub fn encryption(call: &Call, input: EncryptionInput, start: bool) -> Output {
    let name = existing(call, &input.stream)?;
    if input.encryption_type != "KMS" {
        return Err(KinesisError::validation(
            "encryptionType",
            &input.encryption_type,
            "Member must satisfy enum value set: [KMS]",
        ));
    }
    update_settings(call, &name, |settings| {
        settings.encryption_key = start.then_some(input.key_id);
        Ok(())
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MonitoringInput {
    #[serde(flatten)]
    stream: StreamRef,
    shard_level_metrics: Vec<String>,
}

pub fn monitoring(call: &Call, input: MonitoringInput, enable: bool) -> Output {
    let name = existing(call, &input.stream)?;
    let mut wanted = Vec::new();
    for m in &input.shard_level_metrics {
        match m.as_str() {
            "ALL" => wanted.extend(ALL_METRICS.iter().map(|s| s.to_string())),
            known if ALL_METRICS.contains(&known) => wanted.push(known.to_string()),
            other => return Err(KinesisError::validation("shardLevelMetrics", other, "Member must satisfy enum value set: [IncomingBytes, IncomingRecords, OutgoingBytes, OutgoingRecords, WriteProvisionedThroughputExceeded, ReadProvisionedThroughputExceeded, IteratorAgeMilliseconds, ALL]")),
        }
    }
    let (current, desired) = update_settings(call, &name, |settings| {
        let current: Vec<String> = settings.enhanced_metrics.iter().cloned().collect();
        for m in wanted {
            if enable {
                settings.enhanced_metrics.insert(m);
            } else {
                settings.enhanced_metrics.remove(&m);
            }
        }
        Ok((current, settings.enhanced_metrics.iter().cloned().collect::<Vec<String>>()))
    })?;
    Ok(json!({
        "StreamName": name,
        "StreamARN": arn(&call.region, &name),
        "CurrentShardLevelMetrics": current,
        "DesiredShardLevelMetrics": desired,
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateModeInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    stream_mode_details: StreamModeDetails,
}

pub fn update_mode(call: &Call, input: UpdateModeInput) -> Output {
    let stream = StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) };
    let name = existing(call, &stream)?;
    let on_demand = on_demand(&Some(input.stream_mode_details))?;
    update_settings(call, &name, |settings| {
        settings.on_demand = on_demand;
        if !on_demand {
            // On-demand-only settings do not outlive the mode.
            (settings.auto_distribution, settings.warm_throughput_mibps) = (false, None);
        }
        Ok(())
    })?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MaxRecordSizeInput {
    #[serde(flatten)]
    stream: StreamRef,
    #[serde(rename = "MaxRecordSizeInKiB")]
    max_record_size_kib: i64,
}

/// Records up to 10 MiB: the stream's partitions are made to take batches that large
/// first, so no record the new limit admits is refused by the log.
pub fn max_record_size(call: &Call, input: MaxRecordSizeInput) -> Output {
    let name = idle(call, &input.stream)?;
    model::ensure_batch_room(&call.broker, &call.caller, &name).map_err(|e| KinesisError::from_broker(e, &name))?;
    update_settings(call, &name, |settings| {
        settings.max_record_size_kib = Some(input.max_record_size_kib);
        Ok(())
    })?;
    Ok(json!({}))
}

/// Refused for a provisioned stream, as AWS refuses on-demand-only settings there.
fn require_on_demand(name: &str, settings: &StreamSettings, what: &str) -> Result<(), KinesisError> {
    if settings.on_demand {
        return Ok(());
    }
    Err(KinesisError::invalid_argument(format!(
        "{what} is only supported for streams in ON_DEMAND mode. Stream {name} under account {} is in PROVISIONED mode.",
        crate::error::account()
    )))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct WarmThroughputInput {
    #[serde(flatten)]
    stream: StreamRef,
    warm_throughput_mi_bps: i64,
}

/// Recorded and reported: tidelog's shards are not provisioned, so the throughput is
/// "warm" at once.
pub fn warm_throughput(call: &Call, input: WarmThroughputInput) -> Output {
    let name = idle(call, &input.stream)?;
    let target = input.warm_throughput_mi_bps;
    if !super::account::committed() {
        return Err(KinesisError::invalid_argument(format!(
            "Warm throughput needs a minimum throughput billing commitment for account {} (UpdateAccountSettings).",
            crate::error::account()
        )));
    }
    update_settings(call, &name, |settings| {
        require_on_demand(&name, settings, "Warm throughput")?;
        settings.warm_throughput_mibps = Some(target);
        Ok(())
    })?;
    Ok(json!({
        "StreamARN": arn(&call.region, &name),
        "StreamName": name,
        "WarmThroughput": { "TargetMiBps": target, "CurrentMiBps": target },
    }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct DistributionInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    record_distribution_strategy: String,
}

/// AUTO spreads records over the shards whatever their keys; USER_PARTITION_KEY routes by
/// key again. Takes effect with the next put.
pub fn distribution(call: &Call, input: DistributionInput) -> Output {
    let name = existing(call, &StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) })?;
    let auto = input.record_distribution_strategy == "AUTO";
    update_settings(call, &name, |settings| {
        require_on_demand(&name, settings, "UpdateStreamRecordDistributionStrategy")?;
        settings.auto_distribution = auto;
        Ok(())
    })?;
    Ok(json!({}))
}
