//! Kinesis errors as AWS sends them: HTTP 400, `{"__type": ..., "message": ...}`. Domain
//! errors from the broker map onto these names here and nowhere else.

use tidelog_broker::BrokerError;

/// The account every stream belongs to until accounts come with the security work.
pub const ACCOUNT: &str = "000000000000";

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
        Self::new("ResourceNotFoundException", format!("Stream {stream} under account {ACCOUNT} not found."))
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
            BrokerError::UnknownTopicOrPartition { topic, partition: Some(p) } => Self::new(
                "ResourceNotFoundException",
                format!("Shard shardId-{p:012} in stream {topic} under account {ACCOUNT} does not exist"),
            ),
            BrokerError::TopicAlreadyExists(name) => {
                Self::resource_in_use(format!("Stream {name} under account {ACCOUNT} already exists."))
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
            other => Self::new("InternalFailure", other.to_string()),
        }
    }
}
