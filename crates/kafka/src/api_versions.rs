//! The APIs tidelog answers and the version ranges it advertises: only what works,
//! each range also within what the `kafka-protocol` codecs support.

use kafka_protocol::messages::api_versions_response::{ApiVersion, FinalizedFeatureKey, SupportedFeatureKey};
use kafka_protocol::messages::{ApiKey, ApiVersionsResponse};
use kafka_protocol::protocol::StrBytes;

use crate::errors::NONE;

/// (api, min, max) as implemented by the handlers.
const IMPLEMENTED: &[(ApiKey, i16, i16)] = &[
    (ApiKey::Produce, 3, 13),
    (ApiKey::Fetch, 4, 18),
    (ApiKey::ListOffsets, 1, 11),
    // v0 and v1 are not in the codec: the advertised range starts at v2.
    (ApiKey::OffsetForLeaderEpoch, 0, 4),
    (ApiKey::Metadata, 0, 13),
    (ApiKey::ApiVersions, 0, 4),
    (ApiKey::CreateTopics, 2, 7),
    (ApiKey::DeleteTopics, 1, 6),
    (ApiKey::DescribeConfigs, 1, 4),
    (ApiKey::CreatePartitions, 0, 3),
    (ApiKey::DescribeCluster, 0, 2),
    (ApiKey::DescribeTopicPartitions, 0, 0),
    (ApiKey::FindCoordinator, 0, 6),
    (ApiKey::JoinGroup, 0, 9),
    (ApiKey::SyncGroup, 0, 5),
    (ApiKey::Heartbeat, 0, 4),
    (ApiKey::LeaveGroup, 0, 5),
    (ApiKey::OffsetCommit, 2, 10),
    (ApiKey::OffsetFetch, 1, 10),
    // v6: GROUP_ID_NOT_FOUND for a group that is not classic, or absent (KIP-1043).
    (ApiKey::DescribeGroups, 0, 6),
    (ApiKey::ListGroups, 0, 5),
    (ApiKey::DeleteGroups, 0, 2),
    (ApiKey::OffsetDelete, 0, 0),
    (ApiKey::ConsumerGroupHeartbeat, 0, 1),
    (ApiKey::ConsumerGroupDescribe, 0, 1),
    // v5 and the v4/v5 rows below: KIP-890 part 1, the TRANSACTION_ABORTABLE error code.
    (ApiKey::InitProducerId, 0, 5),
    (ApiKey::DeleteRecords, 0, 2),
    (ApiKey::DescribeLogDirs, 1, 5),
    (ApiKey::AlterConfigs, 0, 2),
    (ApiKey::IncrementalAlterConfigs, 0, 1),
    (ApiKey::DescribeClientQuotas, 0, 1),
    (ApiKey::AlterClientQuotas, 0, 1),
    // Produce v12+, TxnOffsetCommit v5 and EndTxn v5 are transaction version 2 (KIP-890
    // part 2: an epoch bump per transaction, partitions and groups added implicitly).
    (ApiKey::AddPartitionsToTxn, 0, 5),
    (ApiKey::AddOffsetsToTxn, 0, 4),
    (ApiKey::TxnOffsetCommit, 0, 5),
    (ApiKey::EndTxn, 0, 5),
    (ApiKey::DescribeProducers, 0, 0),
    (ApiKey::DescribeTransactions, 0, 0),
    // v2: the transactional id pattern (KIP-1152).
    (ApiKey::ListTransactions, 0, 2),
    // Share groups (KIP-932).
    (ApiKey::ShareGroupHeartbeat, 1, 1),
    (ApiKey::ShareGroupDescribe, 1, 1),
    (ApiKey::ShareFetch, 1, 1),
    (ApiKey::ShareAcknowledge, 1, 1),
    (ApiKey::DescribeShareGroupOffsets, 0, 1),
    (ApiKey::AlterShareGroupOffsets, 0, 0),
    (ApiKey::DeleteShareGroupOffsets, 0, 0),
    // KIP-1142; v0 is the former ListClientMetricsResources.
    (ApiKey::ListConfigResources, 0, 1),
];

/// The advertised (api, min, max), intersected with the codec's valid versions.
/// Computed once: every request's version is checked against it.
pub fn supported_apis() -> &'static [(ApiKey, i16, i16)] {
    static TABLE: std::sync::OnceLock<Vec<(ApiKey, i16, i16)>> = std::sync::OnceLock::new();
    TABLE.get_or_init(|| {
        IMPLEMENTED
            .iter()
            .filter_map(|&(key, min, max)| {
                let valid = key.valid_versions();
                let (lo, hi) = (min.max(valid.min), max.min(valid.max));
                (lo <= hi).then_some((key, lo, hi))
            })
            .collect()
    })
}

pub fn version_range(key: ApiKey) -> Option<(i16, i16)> {
    supported_apis().iter().find(|(k, _, _)| *k == key).map(|&(_, lo, hi)| (lo, hi))
}

/// The feature flags (KIP-584) tidelog serves: (name, lowest and highest supported level,
/// finalized level). Clients read them from ApiVersions v3+: Kafka's Java producer uses
/// transaction version 2 only where `transaction.version` is finalized at 2 or more.
/// `group.version` 1 is the consumer group protocol (KIP-848), served since the start.
const FEATURES: &[(&str, i16, i16, i16)] = &[
    ("group.version", 0, 1, 1),
    // Share groups (KIP-932), as Kafka 4.2 finalizes them.
    ("share.version", 0, 1, 1),
    ("transaction.version", 0, 2, tidelog_broker::txn::TransactionVersion::FINALIZED_LEVEL),
];

/// The epoch of the finalized levels. They never change on a running broker, so one
/// epoch serves; clients only compare it with the last they saw (-1: none yet).
const FINALIZED_FEATURES_EPOCH: i64 = 1;

pub fn response(error_code: i16) -> ApiVersionsResponse {
    let mut response = ApiVersionsResponse::default();
    response.error_code = error_code;
    response.api_keys = supported_apis()
        .iter()
        .map(|&(key, min, max)| {
            let mut v = ApiVersion::default();
            v.api_key = key as i16;
            v.min_version = min;
            v.max_version = max;
            v
        })
        .collect();
    response.supported_features = FEATURES
        .iter()
        .map(|&(name, min, max, _)| {
            SupportedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version(min)
                .with_max_version(max)
        })
        .collect();
    response.finalized_features_epoch = FINALIZED_FEATURES_EPOCH;
    response.finalized_features = FEATURES
        .iter()
        .map(|&(name, _, _, level)| {
            FinalizedFeatureKey::default()
                .with_name(StrBytes::from_static_str(name))
                .with_min_version_level(level)
                .with_max_version_level(level)
        })
        .collect();
    response
}

pub fn ok_response() -> ApiVersionsResponse {
    response(NONE)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_advertised_range_is_non_empty_and_codec_backed() {
        let apis = supported_apis();
        assert_eq!(apis.len(), IMPLEMENTED.len(), "an implemented range fell outside the codec's");
        for &(key, lo, hi) in apis {
            assert!(lo <= hi, "{key:?}");
        }
    }
}
