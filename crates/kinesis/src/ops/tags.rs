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

/// A tag character AWS allows: Unicode letters, digits, white space and `_ . / = + - @ :`.
fn allowed_tag_char(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || "_./=+-@: %".contains(c)
        || ('\u{00C0}'..='\u{1FFF}').contains(&c)
        || ('\u{2C00}'..='\u{D7FF}').contains(&c)
}

/// AWS's character rules for tags (lengths are the model's and `spec` checks them):
/// refused with InvalidArgumentException once the stream is known to exist.
pub(crate) fn check_tag_text<'a>(
    texts: impl Iterator<Item = &'a String> + Clone,
    stream: &str,
) -> Result<(), KinesisError> {
    if texts.clone().any(|t| !t.chars().all(allowed_tag_char)) {
        return Err(KinesisError::invalid_argument(
            "Some tags contain invalid characters. Valid characters: Unicode letters, digits, white space, _ . / = + - % @ :.",
        ));
    }
    if texts.clone().any(|t| t.contains('%')) {
        return Err(KinesisError::invalid_argument(format!(
            "Failed to add tags to stream {stream} under account {} because some tags contained illegal characters. The allowed characters are Unicode letters, white-spaces, '_',',','/','=','+','-','@',':'.",
            crate::error::account()
        )));
    }
    if texts.clone().any(|t| t.to_ascii_lowercase().starts_with("aws:")) {
        return Err(KinesisError::invalid_argument("Tag keys and values may not start with the reserved prefix aws:."));
    }
    Ok(())
}

/// The tags of a CreateStream request, checked as AddTagsToStream checks them.
pub(crate) fn check_tags(tags: &BTreeMap<String, String>, stream: &str) -> Result<(), KinesisError> {
    check_tag_text(tags.keys().chain(tags.values()), stream)
}

/// Applies `f` to the stream's tags; refused, with nothing changed, past `MAX_TAGS`.
fn change_tags(call: &Call, stream: &StreamRef, f: impl FnOnce(&mut BTreeMap<String, String>)) -> Output {
    let name = existing(call, stream)?;
    update_settings(call, &name, |settings| {
        f(&mut settings.tags);
        if settings.tags.len() > MAX_TAGS {
            return Err(KinesisError::invalid_argument(format!(
                "Failed to add tags to stream {name} under account {} because a given stream cannot have more than {MAX_TAGS} tags associated with it.",
                crate::error::account()
            )));
        }
        Ok(())
    })?;
    Ok(json!({}))
}

/// Adds tags after checking their characters against the stream they go to.
fn add_tags(call: &Call, stream: &StreamRef, tags: BTreeMap<String, String>) -> Output {
    let name = existing(call, stream)?;
    check_tag_text(tags.keys().chain(tags.values()), &name)?;
    change_tags(call, stream, |current| current.extend(tags))
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
    add_tags(call, &input.stream, input.tags)
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
    add_tags(call, &by_arn(input.resource_arn), input.tags)
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
