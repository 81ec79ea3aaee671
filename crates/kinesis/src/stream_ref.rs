//! Naming: streams by StreamName or StreamARN, shards by `shardId-<12 digits>`.

use serde::Deserialize;

use crate::error::{KinesisError, ACCOUNT};

/// The two ways a request names its stream.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct StreamRef {
    pub stream_name: Option<String>,
    #[serde(rename = "StreamARN")]
    pub stream_arn: Option<String>,
}

impl StreamRef {
    pub fn name(&self) -> Result<String, KinesisError> {
        match (&self.stream_name, &self.stream_arn) {
            (Some(name), _) => validate_name(name).map(|_| name.clone()),
            (None, Some(arn)) => name_from_arn(arn),
            (None, None) => Err(KinesisError::invalid_argument("Either StreamName or StreamARN must be provided.")),
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
    format!("arn:aws:kinesis:{region}:{ACCOUNT}:stream/{name}")
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

/// `shardId-000000000007` (or a bare number, which AWS also accepts) → 7.
pub fn shard_index(id: &str) -> Result<i32, KinesisError> {
    id.strip_prefix("shardId-").unwrap_or(id).parse::<i32>().ok().filter(|i| *i >= 0).ok_or_else(|| {
        KinesisError::validation("shardId", id, "Member must satisfy regular expression pattern: [a-zA-Z0-9_.-]+")
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
        assert_eq!(shard_index(&shard_id(7)).unwrap(), 7);
        assert_eq!(shard_index("3").unwrap(), 3);
        assert!(shard_index("shardId-x").is_err());
    }
}
