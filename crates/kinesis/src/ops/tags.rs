//! Stream tags, by stream (AddTagsToStream...) and by resource ARN (TagResource...).

use std::collections::BTreeMap;

use serde::Deserialize;
use serde_json::{json, Value};

use super::settings::update_settings;
use super::streams::existing;
use super::Output;
use crate::error::KinesisError;
use crate::model;
use crate::server::Call;
use crate::stream_ref::StreamRef;

/// AWS's limit of tags per stream.
const MAX_TAGS: usize = 50;

/// Applies `f` to the stream's tags; refused, with nothing changed, past `MAX_TAGS`.
fn change_tags(call: &Call, stream: &StreamRef, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Output {
    let name = existing(call, stream)?;
    update_settings(call, &name, |settings| {
        f(&mut settings.tags);
        if settings.tags.len() > MAX_TAGS {
            return Err(KinesisError::invalid_argument(format!(
                "Failed to add tags to stream {name}: a stream may have at most {MAX_TAGS} tags"
            )));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

fn tag_list(tags: impl Iterator<Item = (String, String)>) -> Vec<Value> {
    tags.map(|(k, v)| json!({ "Key": k, "Value": v })).collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct AddInput {
    #[serde(flatten)]
    stream: StreamRef,
    tags: BTreeMap<String, String>,
}

pub fn add(call: &Call, input: AddInput) -> Output {
    change_tags(call, &input.stream, |tags| tags.extend(input.tags))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RemoveInput {
    #[serde(flatten)]
    stream: StreamRef,
    tag_keys: Vec<String>,
}

pub fn remove(call: &Call, input: RemoveInput) -> Output {
    change_tags(call, &input.stream, |tags| input.tag_keys.iter().for_each(|k| drop(tags.remove(k))))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListInput {
    #[serde(flatten)]
    stream: StreamRef,
    exclusive_start_tag_key: Option<String>,
    limit: Option<usize>,
}

pub fn list(call: &Call, input: ListInput) -> Output {
    let name = existing(call, &input.stream)?;
    let tags = model::settings(&call.broker, &name).unwrap_or_default().tags;
    let after: Vec<(String, String)> = tags
        .into_iter()
        .filter(|(k, _)| input.exclusive_start_tag_key.as_ref().is_none_or(|start| k > start))
        .collect();
    let limit = input.limit.unwrap_or(MAX_TAGS).max(1);
    let more = after.len() > limit;
    Ok(json!({ "Tags": tag_list(after.into_iter().take(limit)), "HasMoreTags": more }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct TagResourceInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    tags: BTreeMap<String, String>,
}

fn by_arn(arn: String) -> StreamRef {
    StreamRef { stream_name: None, stream_arn: Some(arn) }
}

pub fn tag_resource(call: &Call, input: TagResourceInput) -> Output {
    change_tags(call, &by_arn(input.resource_arn), |tags| tags.extend(input.tags))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UntagResourceInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
    tag_keys: Vec<String>,
}

pub fn untag_resource(call: &Call, input: UntagResourceInput) -> Output {
    change_tags(call, &by_arn(input.resource_arn), |tags| input.tag_keys.iter().for_each(|k| drop(tags.remove(k))))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct ListForResourceInput {
    #[serde(rename = "ResourceARN")]
    resource_arn: String,
}

pub fn list_for_resource(call: &Call, input: ListForResourceInput) -> Output {
    let name = existing(call, &by_arn(input.resource_arn))?;
    let tags = model::settings(&call.broker, &name).unwrap_or_default().tags;
    Ok(json!({ "Tags": tag_list(tags.into_iter()) }))
}
