use tidelog_log::LogError;

use crate::config::ConfigError;

/// Domain errors. Front-ends map each to their protocol's code (`kafka/src/errors.rs`).
#[derive(Debug, thiserror::Error)]
pub enum BrokerError {
    #[error("unknown topic or partition: {topic}{}", partition.map(|p| format!("-{p}")).unwrap_or_default())]
    UnknownTopicOrPartition { topic: String, partition: Option<i32> },
    #[error("unknown topic id {0}")]
    UnknownTopicId(uuid::Uuid),
    #[error("topic '{0}' already exists")]
    TopicAlreadyExists(String),
    #[error("invalid topic name '{name}': {reason}")]
    InvalidTopic { name: String, reason: String },
    #[error("{0}")]
    InvalidPartitions(String),
    #[error("{0}")]
    InvalidReplicationFactor(String),
    /// A manual replica assignment the cluster cannot honour (Kafka's wording in the message).
    #[error("{0}")]
    InvalidReplicaAssignment(String),
    #[error(transparent)]
    InvalidConfig(#[from] ConfigError),
    #[error("corrupt record batch: {0}")]
    CorruptMessage(String),
    #[error("invalid record batch: {0}")]
    InvalidRecord(String),
    /// Records the log validator refused (KIP-467): the batch is not appended; each
    /// refused record is named by its index in the batch, with the reason.
    #[error("{message}")]
    RecordsRejected { message: String, record_errors: Vec<(i32, String)> },
    #[error("record batch of {size} bytes exceeds the limit of {max} bytes")]
    MessageTooLarge { size: usize, max: usize },
    #[error("{0}")]
    InvalidTimestamp(String),
    #[error("fetch offset {offset} is out of range: the log holds offsets {log_start_offset}..{log_end_offset}")]
    OffsetOutOfRange { offset: i64, log_start_offset: u64, log_end_offset: u64 },
    #[error("storage error: {0}")]
    Storage(String),
    #[error("broker is shutting down")]
    ShuttingDown,
    #[error("invalid group id '{0}'")]
    InvalidGroupId(String),
    #[error("group '{0}' does not exist")]
    GroupIdNotFound(String),
    #[error("group '{0}' still has members")]
    NonEmptyGroup(String),
    #[error("unknown member id '{0}'")]
    UnknownMemberId(String),
    #[error("the member must rejoin with the id the coordinator assigned: '{0}'")]
    MemberIdRequired(String),
    #[error("generation {given} is not the group's current generation {current}")]
    IllegalGeneration { given: i32, current: i32 },
    #[error("the group is rebalancing")]
    RebalanceInProgress,
    #[error("{0}")]
    InconsistentGroupProtocol(String),
    #[error("session timeout {given} ms is outside [{min}, {max}] ms")]
    InvalidSessionTimeout { given: i32, min: i64, max: i64 },
    #[error("static member '{0}' was replaced by a newer instance")]
    FencedInstanceId(String),
    #[error("offset metadata of {size} bytes exceeds {max}")]
    OffsetMetadataTooLarge { size: usize, max: usize },
    #[error("the group is subscribed to topic '{0}'")]
    GroupSubscribedToTopic(String),
    #[error("instance id '{0}' is still held by a live member; it must leave first")]
    UnreleasedInstanceId(String),
    #[error("invalid regular expression {0}")]
    InvalidRegularExpression(String),
    #[error("member epoch {given} is ahead of the member's epoch {current}")]
    FencedMemberEpoch { given: i32, current: i32 },
    #[error("member epoch {given} is behind the member's epoch {current}")]
    StaleMemberEpoch { given: i32, current: i32 },
    #[error("unsupported server assignor '{0}': tidelog offers uniform and range")]
    UnsupportedAssignor(String),
    #[error("producer epoch {given} is older than the current epoch {current}")]
    InvalidProducerEpoch { given: i16, current: i16 },
    #[error("out of order sequence number: {0}")]
    OutOfOrderSequence(String),
    #[error("{0}")]
    InvalidRequest(String),
    #[error("producer fenced: {0}")]
    ProducerFenced(String),
    #[error("{0}")]
    InvalidProducerIdMapping(String),
    #[error("invalid transaction state: {0}")]
    InvalidTxnState(String),
    /// A transactional batch for a partition its transaction has not added (KIP-890).
    #[error("Partition was not added to the transaction")]
    PartitionNotInTransaction { topic: String, partition: i32 },
    #[error("transaction timeout {given} ms is outside [1, {max}] ms (transaction.max.timeout.ms)")]
    InvalidTransactionTimeout { given: i32, max: i64 },
    #[error("a transaction of this transactional id is being completed; retry")]
    ConcurrentTransactions,
    #[error("transactional id '{0}' not found")]
    TransactionalIdNotFound(String),
    /// A share-group acknowledgement of records the member does not hold (KIP-932).
    #[error("{0}")]
    InvalidRecordState(String),
    #[error("not attempted because another item of the request failed")]
    OperationNotAttempted,
    #[error("coordinator not available: {0}")]
    CoordinatorNotAvailable(String),
    /// The client's leader epoch is older than the partition's.
    #[error("leader epoch {given} is older than the partition's current leader epoch {current}")]
    FencedLeaderEpoch { given: i32, current: i32 },
    /// The client's leader epoch is newer than the partition's.
    #[error("leader epoch {given} is newer than the partition's current leader epoch {current}")]
    UnknownLeaderEpoch { given: i32, current: i32 },
    /// The authorizer refused the caller.
    #[error("{principal} may not {operation:?} {} '{resource}'", kind_name(*kind))]
    NotAuthorized {
        principal: String,
        operation: crate::access::Operation,
        kind: crate::access::ResourceKind,
        resource: String,
    },
}

fn kind_name(kind: crate::access::ResourceKind) -> &'static str {
    use crate::access::ResourceKind;
    match kind {
        ResourceKind::Cluster => "cluster",
        ResourceKind::Topic => "topic",
        ResourceKind::Group => "group",
        ResourceKind::TransactionalId => "transactional id",
    }
}

impl From<LogError> for BrokerError {
    fn from(e: LogError) -> Self {
        match e {
            LogError::OffsetOutOfRange { offset, log_start_offset, log_end_offset } => {
                BrokerError::OffsetOutOfRange { offset: offset as i64, log_start_offset, log_end_offset }
            }
            LogError::InvalidBatch(b) => BrokerError::CorruptMessage(b.to_string()),
            other => BrokerError::Storage(other.to_string()),
        }
    }
}

pub type Result<T, E = BrokerError> = std::result::Result<T, E>;
