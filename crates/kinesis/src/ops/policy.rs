//! Resource policies (Put-, Get- and DeleteResourcePolicy) on streams and enhanced
//! fan-out consumers: stored with the resource and returned as given. They are not
//! enforced: access decisions belong to the broker's authorizer and the security work.

use serde::Deserialize;
use serde_json::json;

use super::consumers::{find, ConsumerRef};
use super::settings::update_settings;
use super::streams::existing;
use super::Output;
use crate::error::KinesisError;
use crate::model;
use crate::server::Call;
use crate::stream_ref::StreamRef;

/// What a ResourceARN names.
enum Resource {
    Stream(String),
    Consumer { stream: String, consumer: String },
}

fn resource(call: &Call, arn: &str) -> Result<Resource, KinesisError> {
    if arn.contains("/consumer/") {
        let (stream, consumer) =
            find(call, &ConsumerRef { stream_arn: None, consumer_name: None, consumer_arn: Some(arn.to_string()) })?;
        return Ok(Resource::Consumer { stream, consumer: consumer.name });
    }
    if arn.contains(":stream/") {
        return existing(call, &StreamRef { stream_name: None, stream_arn: Some(arn.to_string()) })
            .map(Resource::Stream);
    }
    // Queues and channels are not served, so none exists to hold a policy.
    Err(KinesisError::new("ResourceNotFoundException", format!("Resource {arn} not found.")))
}

/// Sets or clears the policy of a resource.
fn set_policy(call: &Call, arn: &str, policy: Option<String>) -> Result<(), KinesisError> {
    match resource(call, arn)? {
        Resource::Stream(stream) => update_settings(call, &stream, |settings| {
            settings.policy = policy;
            Ok(())
        }),
        Resource::Consumer { stream, consumer } => update_settings(call, &stream, |settings| {
            let found = settings.consumers.iter_mut().find(|c| c.name == consumer);
            found.map(|c| c.policy = policy).ok_or_else(|| {
                KinesisError::new(
                    "ResourceNotFoundException",
                    format!("Consumer {consumer} under stream {stream} not found."),
                )
            })
        }),
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct PutInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    policy: String,
}

pub fn put(call: &Call, input: PutInput) -> Output {
    // A policy is a JSON document; AWS refuses one that is not.
    let document = serde_json::from_str::<serde_json::Value>(&input.policy);
    if !document.is_ok_and(|d| d.is_object()) {
        return Err(KinesisError::invalid_argument("Policy is not a valid JSON policy document."));
    }
    set_policy(call, &input.resource_arn, Some(input.policy))?;
    Ok(json!({}))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ArnInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
}

/// A resource without a policy answers an empty document, `{}`.
pub fn get(call: &Call, input: ArnInput) -> Output {
    let policy = match resource(call, &input.resource_arn)? {
        Resource::Stream(stream) => model::settings(&call.broker, &stream).and_then(|s| s.policy),
        Resource::Consumer { stream, consumer } => model::settings(&call.broker, &stream)
            .and_then(|s| s.consumers.into_iter().find(|c| c.name == consumer))
            .and_then(|c| c.policy),
    };
    Ok(json!({ "Policy": policy.unwrap_or_else(|| "{}".to_string()) }))
}

pub fn delete(call: &Call, input: ArnInput) -> Output {
    set_policy(call, &input.resource_arn, None)?;
    Ok(json!({}))
}
