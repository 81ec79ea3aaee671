//! Enhanced fan-out consumers: register, deregister, describe and list the consumers of a
//! stream. Reading through one is SubscribeToShard (`subscribe`).

use serde::Deserialize;
use serde_json::{json, Value};
use tidelog_broker::now_ms;

use super::settings::update_settings;
use super::streams::existing;
use super::{page_size, seconds, Output};
use crate::error::{account, KinesisError};
use crate::model::{self, StreamConsumer};
use crate::server::Call;
use crate::stream_ref::{arn, name_from_arn, StreamRef};

const MAX_CONSUMERS_PER_STREAM: usize = 20;

pub(super) fn consumer_arn(region: &str, stream: &str, consumer: &StreamConsumer) -> String {
    format!("{}/consumer/{}:{}", arn(region, stream), consumer.name, consumer.created_ms / 1000)
}

fn consumer_json(call: &Call, stream: &str, consumer: &StreamConsumer, with_stream: bool) -> Value {
    let mut out = json!({
        "ConsumerName": consumer.name,
        "ConsumerARN": consumer_arn(&call.region, stream, consumer),
        "ConsumerStatus": "ACTIVE",
        "ConsumerCreationTimestamp": seconds(consumer.created_ms),
    });
    if with_stream {
        out["StreamARN"] = json!(arn(&call.region, stream));
    }
    out
}

fn not_found(consumer: &str, stream: &str) -> KinesisError {
    KinesisError::new(
        "ResourceNotFoundException",
        format!("Consumer {consumer} under stream {stream} under account {ACCOUNT} not found.", ACCOUNT = account()),
    )
}

/// `arn:...:stream/<stream>/consumer/<name>:<created>` → (stream, name).
fn parse_consumer_arn(text: &str) -> Result<(String, String), KinesisError> {
    let invalid = || KinesisError::invalid_argument(format!("Invalid ConsumerARN {text}"));
    let (stream_arn, rest) = text.split_once("/consumer/").ok_or_else(invalid)?;
    let name = rest.rsplit_once(':').map_or(rest, |(n, _)| n);
    Ok((name_from_arn(stream_arn)?, name.to_string()))
}

/// The consumer a request names, by ConsumerARN or by StreamARN and ConsumerName.
#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ConsumerRef {
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
    pub consumer_name: Option<String>,
    #[serde(rename = "ConsumerARN")]
    pub consumer_arn: Option<String>,
}

pub(super) fn find(call: &Call, r: &ConsumerRef) -> Result<(String, StreamConsumer), KinesisError> {
    let (stream, name) = match (&r.consumer_arn, &r.stream_arn, &r.consumer_name) {
        (Some(arn), _, _) => parse_consumer_arn(arn)?,
        (None, Some(stream), Some(name)) => (name_from_arn(stream)?, name.clone()),
        _ => {
            return Err(KinesisError::invalid_argument(
                "Either ConsumerARN or both StreamARN and ConsumerName must be provided.",
            ))
        }
    };
    let stream = existing(call, &StreamRef { stream_name: Some(stream), stream_arn: None })?;
    let settings = model::settings(&call.broker, &stream).unwrap_or_default();
    let consumer = settings.consumers.into_iter().find(|c| c.name == name).ok_or_else(|| not_found(&name, &stream))?;
    Ok((stream, consumer))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RegisterInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    consumer_name: String,
}

pub fn register(call: &Call, input: RegisterInput) -> Output {
    let stream = existing(call, &StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) })?;
    crate::stream_ref::validate_name(&input.consumer_name).map_err(|_| {
        KinesisError::validation(
            "consumerName",
            &input.consumer_name,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+",
        )
    })?;
    let name = input.consumer_name;
    // Checked and added under one lock: two registrations at once both count.
    let consumer = update_settings(call, &stream, |settings| {
        if settings.consumers.iter().any(|c| c.name == name) {
            return Err(KinesisError::resource_in_use(format!(
                "Consumer {name} under stream {stream} already exists for account {ACCOUNT}.",
                ACCOUNT = account()
            )));
        }
        if settings.consumers.len() >= MAX_CONSUMERS_PER_STREAM {
            return Err(KinesisError::new(
                "LimitExceededException",
                format!(
                    "Consumer limit of {MAX_CONSUMERS_PER_STREAM} reached for stream {stream} under account {ACCOUNT}.",
                    ACCOUNT = account()
                ),
            ));
        }
        let consumer = StreamConsumer { name: name.clone(), created_ms: now_ms(), policy: None };
        settings.consumers.push(consumer.clone());
        Ok(consumer)
    })?;
    Ok(json!({ "Consumer": consumer_json(call, &stream, &consumer, false) }))
}

pub fn deregister(call: &Call, input: ConsumerRef) -> Output {
    let (stream, consumer) = find(call, &input)?;
    update_settings(call, &stream, |settings| {
        // A concurrent deregistration may have removed it since `find`.
        let before = settings.consumers.len();
        settings.consumers.retain(|c| c.name != consumer.name);
        if settings.consumers.len() == before {
            return Err(not_found(&consumer.name, &stream));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

pub fn describe(call: &Call, input: ConsumerRef) -> Output {
    let (stream, consumer) = find(call, &input)?;
    Ok(json!({ "ConsumerDescription": consumer_json(call, &stream, &consumer, true) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(rename = "StreamARN")]
    stream_arn: String,
    max_results: Option<i64>,
    next_token: Option<String>,
}

pub fn list(call: &Call, input: ListInput) -> Output {
    let stream = existing(call, &StreamRef { stream_name: None, stream_arn: Some(input.stream_arn) })?;
    let max = page_size("maxResults", input.max_results, 100)?;
    // The token is the position of the next consumer in registration order.
    let first = match &input.next_token {
        Some(t) => t.parse::<usize>().map_err(|_| KinesisError::invalid_argument(format!("Invalid NextToken {t}")))?,
        None => 0,
    };
    let consumers = model::settings(&call.broker, &stream).unwrap_or_default().consumers;
    let page: Vec<Value> =
        consumers.iter().skip(first).take(max).map(|c| consumer_json(call, &stream, c, false)).collect();
    let mut out = json!({ "Consumers": page });
    if first + max < consumers.len() {
        out["NextToken"] = json!((first + max).to_string());
    }
    Ok(out)
}

/// Whether a stream's consumers stand in the way of deleting it.
pub fn block_deletion(call: &Call, stream: &str, enforce_consumer_deletion: bool) -> Result<(), KinesisError> {
    let count = model::settings(&call.broker, stream).map_or(0, |s| s.consumers.len());
    if count > 0 && !enforce_consumer_deletion {
        return Err(KinesisError::resource_in_use(format!(
            "Stream {stream} under account {ACCOUNT} has {count} registered consumer(s); set EnforceConsumerDeletion to delete it.", ACCOUNT = account()
        )));
    }
    Ok(())
}
