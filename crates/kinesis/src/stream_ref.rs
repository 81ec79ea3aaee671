//! Naming: streams by StreamName or StreamARN, shards by `shardId-<12 digits>`.

use serde::Deserialize;

use crate::error::{account, KinesisError};

/// The two ways a request names its stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamRef {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

impl StreamRef {
    /// The stream named; `spec` has checked the members' shapes, and that one is given.
    pub fn name(&self) -> Result<String, KinesisError> {
        match (&self.stream_name, &self.stream_arn) {
            (Some(name), Some(arn)) if name_from_arn(arn).is_ok_and(|n| n != *name) => {
                Err(KinesisError::invalid_argument(format!(
                    "StreamARN {arn} and StreamName {name} do not name the same stream."
                )))
            }
            (Some(name), _) => validate_name(name).map(|_| name.clone()),
            (None, Some(arn)) => name_from_arn(arn),
            (None, None) => Err(KinesisError::new(
                "ValidationException",
                "1 validation error detected: Value null at 'streamName' failed to satisfy constraint: Member must not be null",
            )),
        }
    }
}

/// AWS's stream name rule: 1–128 of `[a-zA-Z0-9_.-]`.
pub fn validate_name(name: &str) -> Result<(), KinesisError> {
    let ok = (1..=128).contains(&name.len()) && name.bytes().all(|b| b.is_ascii_alphanumeric() || b"_.-".contains(&b));
    if ok {
        Ok(())
    } else {
        Err(KinesisError::validation(
            "streamName",
            name,
            "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+ and have length between 1 and 128",
        ))
    }
}

pub fn arn(region: &str, name: &str) -> String {
    format!("arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}", ACCOUNT = account())
}

/// `arn:aws:kinesis:<region>:<account>:stream/<name>` → name.
pub fn name_from_arn(arn: &str) -> Result<String, KinesisError> {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    match parts.as_slice() {
        ["arn", _, "kinesis", _, _, resource] => match resource.strip_prefix("stream/") {
            Some(name) if validate_name(name).is_ok() => Ok(name.to_string()),
            _ => Err(KinesisError::invalid_argument(format!("Invalid StreamARN {arn}"))),
        },
        _ => Err(KinesisError::validation(
            "streamARN",
            arn,
            "Member must satisfy regular expression pattern: arn:aws.*:kinesis:.*:\\d{12}:stream/\\S+",
        )),
    }
}

pub fn shard_id(index: i32) -> String {
    format!("shardId-{index:012}")
}

/// The shard a shard id names, read as AWS reads it: the number after the last `-` (or a
/// bare number), so `shardId-000000000007`, `shardId-7` and `7` all name shard 7. `None`
/// when there is no such number (AWS then cannot find the shard).
pub fn parse_shard_index(id: &str) -> Option<i32> {
    let digits = id.rsplit('-').next().unwrap_or(id);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    digits.parse::<i32>().ok()
}

/// As [`parse_shard_index`], refused as AWS refuses an id it cannot read.
pub fn shard_index(id: &str, stream: &str) -> Result<i32, KinesisError> {
    parse_shard_index(id).ok_or_else(|| {
        KinesisError::new(
            "ResourceNotFoundException",
            format!("Could not find shard {id} in stream {stream} under account {}.", account()),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_arns_and_shard_ids() {
        assert_eq!(name_from_arn(&arn("eu-west-1", "orders")).unwrap(), "orders");
        assert!(name_from_arn("arn:aws:kinesis:eu-west-1:1:table/x").is_err());
        assert!(validate_name("bad name").is_err());
        assert_eq!(shard_index(&shard_id(7), "s").unwrap(), 7);
        assert_eq!(parse_shard_index("3"), Some(3));
        assert_eq!(parse_shard_index("shardId-000000000000"), Some(0));
        assert_eq!(parse_shard_index("my-shard-12"), Some(12));
        assert_eq!(parse_shard_index("shardId-99999999999"), None, "past i32");
        assert!(shard_index("shardId-x", "s").unwrap_err().message.starts_with("Could not find shard shardId-x"));
    }
}
