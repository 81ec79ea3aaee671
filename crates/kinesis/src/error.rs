//! Kinesis errors as AWS sends them: `{"__type": ..., "message": ...}` (`Message` for a
//! SerializationException), HTTP 500 for InternalFailure, 503 for ServiceUnavailable and
//! 400 for everything else. Domain errors from the broker map onto these names here and
//! nowhere else.

use std::sync::OnceLock;

use axum::http::StatusCode;
use serde_json::{json, Value};
use tidelog_broker::BrokerError;

/// The account every stream belongs to when none is set (`kinesis.account.id`).
pub const DEFAULT_ACCOUNT: &str = "000000000000";

static ACCOUNT_ID: OnceLock<String> = OnceLock::new();

/// Sets the account named in ARNs and messages, once per process (the first listener's
/// setting holds: one process serves one account until accounts come with the security
/// work).
pub fn set_account(id: &str) {
    let _ = ACCOUNT_ID.set(id.to_string());
}

/// The account named in ARNs and messages.
pub fn account() -> &'static str {
    ACCOUNT_ID.get().map_or(DEFAULT_ACCOUNT, String::as_str)
}

/// Whether `id` is an account id as ARNs carry it: twelve digits.
pub fn is_account_id(id: &str) -> bool {
    id.len() == 12 && id.bytes().all(|b| b.is_ascii_digit())
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind}: {message}")]
pub struct KinesisError {
    /// The `__type` boto3 turns into an exception class.
    pub kind: &'static str,
    pub message: String,
}

impl KinesisError {
    pub fn new(kind: &'static str, message: impl Into<String>) -> Self {
        KinesisError { kind, message: message.into() }
    }

    pub fn invalid_argument(message: impl Into<String>) -> Self {
        Self::new("InvalidArgumentException", message)
    }

    pub fn stream_not_found(stream: &str) -> Self {
        Self::new("ResourceNotFoundException", format!("Stream {stream} under account {} not found.", account()))
    }

    pub fn shard_not_found(shard: &str, stream: &str) -> Self {
        Self::new(
            "ResourceNotFoundException",
            format!("Shard {shard} in stream {stream} under account {} does not exist", account()),
        )
    }

    pub fn internal(message: impl Into<String>) -> Self {
        Self::new("InternalFailure", message)
    }

    /// The HTTP status AWS answers this error with; SDKs retry 500 and 503.
    pub fn status(&self) -> StatusCode {
        match self.kind {
            "InternalFailure" => StatusCode::INTERNAL_SERVER_ERROR,
            "ServiceUnavailable" => StatusCode::SERVICE_UNAVAILABLE,
            _ => StatusCode::BAD_REQUEST,
        }
    }

    /// The error body. Coral writes a SerializationException's text under `Message` and
    /// sends none at all for a body it cannot read.
    pub fn body(&self) -> Value {
        match (self.kind, self.message.is_empty()) {
            (kind, true) => json!({ "__type": kind }),
            ("SerializationException", false) => json!({ "__type": self.kind, "Message": self.message }),
            (kind, false) => json!({ "__type": kind, "message": self.message }),
        }
    }

    pub fn resource_in_use(message: impl Into<String>) -> Self {
        Self::new("ResourceInUseException", message)
    }

    pub fn serialization(message: impl Into<String>) -> Self {
        Self::new("SerializationException", message)
    }

    /// AWS's one-line form: "1 validation error detected: Value 'x' at 'field' failed to
    /// satisfy constraint: ...".
    pub fn validation(field: &str, value: impl std::fmt::Display, constraint: &str) -> Self {
        Self::new(
            "ValidationException",
            format!(
                "1 validation error detected: Value '{value}' at '{field}' failed to satisfy constraint: {constraint}"
            ),
        )
    }

    pub fn from_broker(e: BrokerError, stream: &str) -> Self {
        match e {
            BrokerError::UnknownTopicOrPartition { partition: None, .. } => Self::stream_not_found(stream),
            BrokerError::UnknownTopicOrPartition { topic, partition: Some(p) } => {
                Self::shard_not_found(&format!("shardId-{p:012}"), &topic)
            }
            BrokerError::TopicAlreadyExists(name) => {
                Self::resource_in_use(format!("Stream {name} under account {} already exists.", account()))
            }
            BrokerError::InvalidTopic { reason, name } => {
                Self::validation("streamName", name, &format!("Member must satisfy the stream name rules ({reason})"))
            }
            BrokerError::OffsetOutOfRange { .. } => Self::invalid_argument(e.to_string()),
            BrokerError::MessageTooLarge { .. }
            | BrokerError::InvalidRecord(_)
            | BrokerError::RecordsRejected { .. }
            | BrokerError::InvalidTimestamp(_) => Self::invalid_argument(e.to_string()),
            BrokerError::ShuttingDown => Self::new("ServiceUnavailable", e.to_string()),
            BrokerError::NotAuthorized { .. } => Self::new("AccessDeniedException", e.to_string()),
            other => Self::internal(other.to_string()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statuses_and_bodies_are_aws_own() {
        assert_eq!(KinesisError::internal("x").status(), StatusCode::INTERNAL_SERVER_ERROR);
        assert_eq!(KinesisError::from_broker(BrokerError::ShuttingDown, "s").status(), StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(KinesisError::stream_not_found("s").status(), StatusCode::BAD_REQUEST);
        assert_eq!(
            KinesisError::serialization("m").body(),
            json!({ "__type": "SerializationException", "Message": "m" })
        );
        assert_eq!(KinesisError::serialization("").body(), json!({ "__type": "SerializationException" }));
        assert_eq!(KinesisError::invalid_argument("m").body()["message"], "m");
        assert!(is_account_id("123456789012") && !is_account_id("12345") && !is_account_id("12345678901x"));
    }
}
