//! Domain errors → Kafka error codes, and the errors that end a connection.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::ApiKey;
use tidelog_broker::access::ResourceKind;
use tidelog_broker::BrokerError;

pub fn error_code(e: &BrokerError) -> i16 {
    let kind = match e {
        BrokerError::UnknownTopicOrPartition { .. } => ResponseError::UnknownTopicOrPartition,
        BrokerError::UnknownTopicId(_) => ResponseError::UnknownTopicId,
        BrokerError::TopicAlreadyExists(_) => ResponseError::TopicAlreadyExists,
        BrokerError::InvalidTopic { .. } => ResponseError::InvalidTopicException,
        BrokerError::InvalidPartitions(_) => ResponseError::InvalidPartitions,
        BrokerError::InvalidReplicationFactor(_) => ResponseError::InvalidReplicationFactor,
        BrokerError::InvalidReplicaAssignment(_) => ResponseError::InvalidReplicaAssignment,
        BrokerError::InvalidConfig(_) => ResponseError::InvalidConfig,
        BrokerError::CorruptMessage(_) => ResponseError::CorruptMessage,
        BrokerError::InvalidRecord(_) | BrokerError::RecordsRejected { .. } => ResponseError::InvalidRecord,
        BrokerError::FencedLeaderEpoch { .. } => ResponseError::FencedLeaderEpoch,
        BrokerError::UnknownLeaderEpoch { .. } => ResponseError::UnknownLeaderEpoch,
        BrokerError::MessageTooLarge { .. } => ResponseError::MessageTooLarge,
        BrokerError::InvalidTimestamp(_) => ResponseError::InvalidTimestamp,
        BrokerError::OffsetOutOfRange { .. } => ResponseError::OffsetOutOfRange,
        BrokerError::Storage(_) => ResponseError::KafkaStorageError,
        // Retriable: clients refresh metadata and try again once the broker is back.
        BrokerError::ShuttingDown => ResponseError::NotLeaderOrFollower,
        BrokerError::InvalidGroupId(_) => ResponseError::InvalidGroupId,
        BrokerError::GroupIdNotFound(_) => ResponseError::GroupIdNotFound,
        BrokerError::NonEmptyGroup(_) => ResponseError::NonEmptyGroup,
        BrokerError::UnknownMemberId(_) => ResponseError::UnknownMemberId,
        BrokerError::MemberIdRequired(_) => ResponseError::MemberIdRequired,
        BrokerError::IllegalGeneration { .. } => ResponseError::IllegalGeneration,
        BrokerError::RebalanceInProgress => ResponseError::RebalanceInProgress,
        BrokerError::InconsistentGroupProtocol(_) => ResponseError::InconsistentGroupProtocol,
        BrokerError::InvalidSessionTimeout { .. } => ResponseError::InvalidSessionTimeout,
        BrokerError::FencedInstanceId(_) => ResponseError::FencedInstanceId,
        BrokerError::UnreleasedInstanceId(_) => ResponseError::UnreleasedInstanceId,
        BrokerError::InvalidRegularExpression(_) => ResponseError::InvalidRegularExpression,
        BrokerError::OffsetMetadataTooLarge { .. } => ResponseError::OffsetMetadataTooLarge,
        BrokerError::GroupSubscribedToTopic(_) => ResponseError::GroupSubscribedToTopic,
        BrokerError::FencedMemberEpoch { .. } => ResponseError::FencedMemberEpoch,
        BrokerError::StaleMemberEpoch { .. } => ResponseError::StaleMemberEpoch,
        BrokerError::UnsupportedAssignor(_) => ResponseError::UnsupportedAssignor,
        BrokerError::InvalidProducerEpoch { .. } => ResponseError::InvalidProducerEpoch,
        BrokerError::OutOfOrderSequence(_) => ResponseError::OutOfOrderSequenceNumber,
        BrokerError::InvalidRequest(_) => ResponseError::InvalidRequest,
        BrokerError::CoordinatorNotAvailable(_) => ResponseError::CoordinatorNotAvailable,
        BrokerError::ProducerFenced(_) => ResponseError::ProducerFenced,
        BrokerError::InvalidProducerIdMapping(_) => ResponseError::InvalidProducerIdMapping,
        BrokerError::InvalidTxnState(_) => ResponseError::InvalidTxnState,
        BrokerError::InvalidRecordState(_) => ResponseError::InvalidRecordState,
        // Produce v11+ answers TRANSACTION_ABORTABLE instead (handlers/produce.rs).
        BrokerError::PartitionNotInTransaction { .. } => ResponseError::InvalidTxnState,
        BrokerError::InvalidTransactionTimeout { .. } => ResponseError::InvalidTransactionTimeout,
        BrokerError::ConcurrentTransactions => ResponseError::ConcurrentTransactions,
        BrokerError::TransactionalIdNotFound(_) => ResponseError::TransactionalIdNotFound,
        BrokerError::OperationNotAttempted => ResponseError::OperationNotAttempted,
        BrokerError::NotAuthorized { kind, .. } => match kind {
            ResourceKind::Topic => ResponseError::TopicAuthorizationFailed,
            ResourceKind::Group => ResponseError::GroupAuthorizationFailed,
            ResourceKind::Cluster => ResponseError::ClusterAuthorizationFailed,
            ResourceKind::TransactionalId => ResponseError::TransactionalIdAuthorizationFailed,
        },
    };
    kind.code()
}

pub const NONE: i16 = 0;

/// Error codes that a request version predates, with the code Kafka sends such clients
/// instead: (api, code, first version that knows it, fallback). PRODUCER_FENCED came
/// with KIP-588; before it, a fenced transactional producer was told
/// INVALID_PRODUCER_EPOCH. TxnOffsetCommit never defined PRODUCER_FENCED.
const INTRODUCED_IN: &[(ApiKey, i16, i16, i16)] = &[
    (ApiKey::InitProducerId, PRODUCER_FENCED, 4, INVALID_PRODUCER_EPOCH),
    (ApiKey::AddPartitionsToTxn, PRODUCER_FENCED, 2, INVALID_PRODUCER_EPOCH),
    (ApiKey::AddOffsetsToTxn, PRODUCER_FENCED, 2, INVALID_PRODUCER_EPOCH),
    (ApiKey::EndTxn, PRODUCER_FENCED, 2, INVALID_PRODUCER_EPOCH),
    (ApiKey::TxnOffsetCommit, PRODUCER_FENCED, i16::MAX, INVALID_PRODUCER_EPOCH),
    // KIP-848 members must commit with v9+; Kafka refuses older versions from them.
    (ApiKey::OffsetCommit, STALE_MEMBER_EPOCH, 9, UNSUPPORTED_VERSION),
];

const STALE_MEMBER_EPOCH: i16 = 113;
const UNSUPPORTED_VERSION: i16 = 35;

const PRODUCER_FENCED: i16 = 90;
const INVALID_PRODUCER_EPOCH: i16 = 47;

/// `code` as a client of `api` at `version` may be sent it.
pub fn for_version(api: ApiKey, version: i16, code: i16) -> i16 {
    INTRODUCED_IN
        .iter()
        .find(|&&(a, c, since, _)| a == api && c == code && version < since)
        .map_or(code, |&(_, _, _, fallback)| fallback)
}

/// A refused produce as Kafka answers it at `version`: the code and, for v8+, the
/// message. Transaction verification's answers are translated as Kafka's
/// `ReplicaManager` does: a partition not in the transaction is INVALID_TXN_STATE up to
/// v10 and TRANSACTION_ABORTABLE (no message) from v11; a coordinator busy completing the
/// transaction is the retriable NOT_ENOUGH_REPLICAS; a fenced producer is
/// INVALID_PRODUCER_EPOCH.
pub fn produce_error(e: &BrokerError, version: i16) -> (i16, Option<String>) {
    let (code, message) = match e {
        BrokerError::PartitionNotInTransaction { .. } if version >= 11 => {
            (ResponseError::TransactionAbortable.code(), None)
        }
        // The coordinator's answer to a partition joining a transaction (Produce v12+):
        // producers expect INVALID_PRODUCER_EPOCH there, as Kafka's leader translates it.
        BrokerError::ProducerFenced(message) => (ResponseError::InvalidProducerEpoch.code(), Some(message.clone())),
        BrokerError::ConcurrentTransactions => (
            ResponseError::NotEnoughReplicas.code(),
            Some("Unable to verify the partition has been added to the transaction. Underlying error: CONCURRENT_TRANSACTIONS".to_string()),
        ),
        e => (error_code(e), Some(e.to_string())),
    };
    (code, message.filter(|_| version >= 8))
}

/// One code per item: each item's own result, or a group-level error for all `count`.
pub fn item_codes(
    outcome: &Result<Vec<Result<(), BrokerError>>, BrokerError>,
    count: usize,
) -> std::vec::IntoIter<i16> {
    match outcome {
        Ok(results) => {
            results.iter().map(|r| r.as_ref().err().map_or(NONE, error_code)).collect::<Vec<_>>().into_iter()
        }
        Err(e) => vec![error_code(e); count].into_iter(),
    }
}

/// Why a connection is closed instead of answered.
#[derive(Debug, thiserror::Error)]
pub enum ConnectionError {
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
    #[error("request frame of {size} bytes exceeds socket.request.max.bytes ({max})")]
    FrameTooLarge { size: usize, max: usize },
    #[error("unknown api key {0}")]
    UnknownApiKey(i16),
    #[error("unsupported version {version} of {api}")]
    UnsupportedVersion { api: String, version: i16 },
    #[error("malformed {what}: {reason}")]
    Malformed { what: String, reason: String },
    #[error("could not encode {what}: {reason}")]
    Encode { what: String, reason: String },
}

impl ConnectionError {
    /// The peer closed or reset the connection: not a protocol violation.
    pub fn is_client_gone(&self) -> bool {
        use std::io::ErrorKind::*;
        matches!(self, ConnectionError::Io(e) if matches!(e.kind(), ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn producer_fenced_is_told_to_older_clients_as_an_invalid_epoch() {
        assert_eq!(ResponseError::ProducerFenced.code(), PRODUCER_FENCED);
        assert_eq!(ResponseError::InvalidProducerEpoch.code(), INVALID_PRODUCER_EPOCH);
        for (api, since) in [
            (ApiKey::InitProducerId, 4),
            (ApiKey::AddPartitionsToTxn, 2),
            (ApiKey::AddOffsetsToTxn, 2),
            (ApiKey::EndTxn, 2),
        ] {
            assert_eq!(for_version(api, since - 1, PRODUCER_FENCED), INVALID_PRODUCER_EPOCH, "{api:?}");
            assert_eq!(for_version(api, since, PRODUCER_FENCED), PRODUCER_FENCED, "{api:?}");
        }
        assert_eq!(for_version(ApiKey::TxnOffsetCommit, 5, PRODUCER_FENCED), INVALID_PRODUCER_EPOCH);
        assert_eq!(for_version(ApiKey::Produce, 3, PRODUCER_FENCED), PRODUCER_FENCED);
        assert_eq!(for_version(ApiKey::EndTxn, 0, NONE), NONE);
        assert_eq!(ResponseError::StaleMemberEpoch.code(), STALE_MEMBER_EPOCH);
        assert_eq!(ResponseError::UnsupportedVersion.code(), UNSUPPORTED_VERSION);
        assert_eq!(for_version(ApiKey::OffsetCommit, 8, STALE_MEMBER_EPOCH), UNSUPPORTED_VERSION);
        assert_eq!(for_version(ApiKey::OffsetCommit, 9, STALE_MEMBER_EPOCH), STALE_MEMBER_EPOCH);
    }
}
