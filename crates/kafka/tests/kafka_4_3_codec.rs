//! The message versions Kafka 4.2/4.3 added, as the vendored `kafka-protocol` codec
//! carries them (vendor/README.md): every new version round-trips with its new fields
//! set, sizes what it writes, and a field a version does not carry is refused or
//! dropped as the generated codecs do for the older versions.

use bytes::{Bytes, BytesMut};
use kafka_protocol::messages::describe_log_dirs_response::DescribeLogDirsResult;
use kafka_protocol::messages::describe_share_group_offsets_response::{
    DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::list_offsets_request::{ListOffsetsPartition, ListOffsetsTopic};
use kafka_protocol::messages::offset_commit_request::{OffsetCommitRequestPartition, OffsetCommitRequestTopic};
use kafka_protocol::messages::offset_fetch_request::{OffsetFetchRequestGroup, OffsetFetchRequestTopics};
use kafka_protocol::messages::share_acknowledge_request::{
    AcknowledgePartition, AcknowledgeTopic, AcknowledgementBatch as AckBatch,
};
use kafka_protocol::messages::share_fetch_request::{AcknowledgementBatch, FetchPartition, FetchTopic};
use kafka_protocol::messages::*;
use kafka_protocol::protocol::{Decodable, Encodable, Message, StrBytes};
use uuid::Uuid;

/// Encodes `value` at `version`, checks the size it announced, and decodes it back.
fn round_trip<T: Encodable + Decodable>(value: &T, version: i16) -> T {
    let mut buf = BytesMut::new();
    value.encode(&mut buf, version).unwrap_or_else(|e| panic!("encode v{version}: {e}"));
    assert_eq!(value.compute_size(version).expect("size"), buf.len(), "compute_size v{version}");
    let mut bytes: Bytes = buf.freeze();
    let decoded = T::decode(&mut bytes, version).unwrap_or_else(|e| panic!("decode v{version}: {e}"));
    assert!(bytes.is_empty(), "v{version} left {} bytes undecoded", bytes.len());
    decoded
}

fn encodes<T: Encodable>(value: &T, version: i16) -> bool {
    value.encode(&mut BytesMut::new(), version).is_ok()
}

fn name(s: &'static str) -> StrBytes {
    StrBytes::from_static_str(s)
}

const TOPIC_ID: Uuid = Uuid::from_u128(0x1234_5678_9abc_def0_1122_3344_5566_7788);

#[test]
fn the_api_key_table_reaches_kafka_4_3() {
    for (key, max) in [
        (ApiKey::OffsetCommit, 10),
        (ApiKey::OffsetFetch, 10),
        (ApiKey::ListOffsets, 11),
        (ApiKey::DescribeLogDirs, 5),
        (ApiKey::ShareFetch, 2),
        (ApiKey::ShareAcknowledge, 2),
        (ApiKey::DescribeShareGroupOffsets, 1),
    ] {
        assert_eq!(key.valid_versions().max, max, "{key:?}");
    }
    assert_eq!(OffsetCommitRequest::VERSIONS.max, 10);
    assert_eq!(OffsetFetchRequest::VERSIONS.max, 10);
    assert_eq!(ListOffsetsRequest::VERSIONS.max, 11);
    assert_eq!(ListOffsetsResponse::VERSIONS.max, 11);
    assert_eq!(DescribeLogDirsRequest::VERSIONS.max, 5);
    assert_eq!(DescribeLogDirsResponse::VERSIONS.max, 5);
}

#[test]
fn offset_commit_v10_names_topics_by_id() {
    let partition = OffsetCommitRequestPartition::default()
        .with_partition_index(3)
        .with_committed_offset(42)
        .with_committed_leader_epoch(1)
        .with_committed_metadata(Some(name("m")));
    let topic = OffsetCommitRequestTopic::default()
        .with_name(TopicName(name("orders")))
        .with_topic_id(TOPIC_ID)
        .with_partitions(vec![partition.clone()]);
    let request = OffsetCommitRequest::default()
        .with_group_id(GroupId(name("g")))
        .with_generation_id_or_member_epoch(5)
        .with_member_id(name("member"))
        .with_topics(vec![topic]);

    let v10 = round_trip(&request, 10);
    assert_eq!(v10.topics[0].topic_id, TOPIC_ID);
    assert_eq!(v10.topics[0].name.0.as_str(), "", "v10 carries no topic name");
    assert_eq!(v10.topics[0].partitions, vec![partition.clone()]);

    let v9 = round_trip(&request, 9);
    assert_eq!(v9.topics[0].name.0.as_str(), "orders");
    assert!(v9.topics[0].topic_id.is_nil(), "v9 carries no topic id");

    // A v10 topic starts with the 16 bytes of its id, where v9 wrote the name.
    let mut buf = BytesMut::new();
    request.topics[0].encode(&mut buf, 10).expect("encode");
    assert_eq!(&buf[..16], TOPIC_ID.as_bytes());
}

#[test]
fn offset_fetch_v10_names_topics_by_id() {
    let request =
        OffsetFetchRequest::default().with_require_stable(true).with_groups(vec![OffsetFetchRequestGroup::default()
            .with_group_id(GroupId(name("g")))
            .with_member_id(Some(name("member")))
            .with_member_epoch(7)
            .with_topics(Some(vec![OffsetFetchRequestTopics::default()
                .with_name(TopicName(name("orders")))
                .with_topic_id(TOPIC_ID)
                .with_partition_indexes(vec![0, 2])]))]);
    let v10 = round_trip(&request, 10);
    let topic = &v10.groups[0].topics.as_ref().expect("topics")[0];
    assert_eq!((topic.topic_id, topic.name.0.as_str(), topic.partition_indexes.clone()), (TOPIC_ID, "", vec![0, 2]));
    assert_eq!(v10.groups[0].member_epoch, 7);

    let v9 = round_trip(&request, 9);
    let topic = &v9.groups[0].topics.as_ref().expect("topics")[0];
    assert_eq!((topic.topic_id, topic.name.0.as_str()), (Uuid::nil(), "orders"));
}

#[test]
fn list_offsets_v11_carries_the_earliest_pending_upload_sentinel() {
    let request = ListOffsetsRequest::default()
        .with_replica_id(BrokerId(-1))
        .with_isolation_level(1)
        .with_timeout_ms(5000)
        .with_topics(vec![ListOffsetsTopic::default().with_name(TopicName(name("orders"))).with_partitions(vec![
            ListOffsetsPartition::default().with_partition_index(0).with_current_leader_epoch(2).with_timestamp(-6),
        ])]);
    assert_eq!(round_trip(&request, 11), request);

    let response = ListOffsetsResponse::default().with_throttle_time_ms(1).with_topics(vec![
        list_offsets_response::ListOffsetsTopicResponse::default()
            .with_name(TopicName(name("orders")))
            .with_partitions(vec![list_offsets_response::ListOffsetsPartitionResponse::default()
                .with_partition_index(0)
                .with_offset(-1)
                .with_timestamp(-1)
                .with_leader_epoch(-1)]),
    ]);
    assert_eq!(round_trip(&response, 11), response);
}

#[test]
fn describe_log_dirs_v5_reports_whether_a_directory_is_cordoned() {
    let response = DescribeLogDirsResponse::default().with_results(vec![DescribeLogDirsResult::default()
        .with_log_dir(name("/data"))
        .with_total_bytes(100)
        .with_usable_bytes(50)
        .with_is_cordoned(true)]);
    assert!(round_trip(&response, 5).results[0].is_cordoned);
    // The field is ignorable: below v5 it is left out, and reads back as its default.
    assert!(!round_trip(&response, 4).results[0].is_cordoned);
    assert_eq!(round_trip(&response, 4).results[0].usable_bytes, 50);

    let request = DescribeLogDirsRequest::default().with_topics(None);
    assert_eq!(round_trip(&request, 5), request);
}

#[test]
fn share_fetch_v2_carries_the_acquire_mode_and_renew_flag() {
    let request = ShareFetchRequest::default()
        .with_group_id(Some(GroupId(name("share"))))
        .with_member_id(Some(name("member")))
        .with_share_session_epoch(1)
        .with_max_wait_ms(500)
        .with_min_bytes(1)
        .with_max_records(100)
        .with_batch_size(10)
        .with_share_acquire_mode(1)
        .with_is_renew_ack(true)
        .with_topics(vec![FetchTopic::default().with_topic_id(TOPIC_ID).with_partitions(vec![
            FetchPartition::default().with_partition_index(0).with_acknowledgement_batches(vec![
                AcknowledgementBatch::default()
                    .with_first_offset(0)
                    .with_last_offset(4)
                    .with_acknowledge_types(vec![4]),
            ]),
        ])]);
    assert_eq!(round_trip(&request, 2), request);
    // v1 has neither field: set, they cannot be sent there.
    assert!(!encodes(&request, 1));
    let plain = request.clone().with_share_acquire_mode(0).with_is_renew_ack(false);
    assert_eq!(round_trip(&plain, 1), plain);
    assert_eq!(
        round_trip(&ShareFetchResponse::default().with_acquisition_lock_timeout_ms(30_000), 2)
            .acquisition_lock_timeout_ms,
        30_000
    );
}

#[test]
fn share_acknowledge_v2_carries_the_renew_flag_and_lock_timeout() {
    let request = ShareAcknowledgeRequest::default()
        .with_group_id(Some(GroupId(name("share"))))
        .with_member_id(Some(name("member")))
        .with_share_session_epoch(2)
        .with_is_renew_ack(true)
        .with_topics(vec![AcknowledgeTopic::default().with_topic_id(TOPIC_ID).with_partitions(vec![
            AcknowledgePartition::default().with_partition_index(0).with_acknowledgement_batches(vec![
                AckBatch::default().with_first_offset(3).with_last_offset(3).with_acknowledge_types(vec![4]),
            ]),
        ])]);
    assert_eq!(round_trip(&request, 2), request);
    assert!(!encodes(&request, 1));

    let response = ShareAcknowledgeResponse::default().with_error_code(0).with_acquisition_lock_timeout_ms(15_000);
    assert_eq!(round_trip(&response, 2), response);
    assert_eq!(round_trip(&response, 1).acquisition_lock_timeout_ms, 0, "v1 has no lock timeout");
}

#[test]
fn describe_share_group_offsets_v1_reports_the_lag() {
    let response = DescribeShareGroupOffsetsResponse::default().with_groups(vec![
        DescribeShareGroupOffsetsResponseGroup::default().with_group_id(GroupId(name("share"))).with_topics(vec![
            DescribeShareGroupOffsetsResponseTopic::default()
                .with_topic_name(TopicName(name("orders")))
                .with_topic_id(TOPIC_ID)
                .with_partitions(vec![DescribeShareGroupOffsetsResponsePartition::default()
                    .with_partition_index(0)
                    .with_start_offset(10)
                    .with_leader_epoch(0)
                    .with_lag(7)]),
        ]),
    ]);
    assert_eq!(round_trip(&response, 1), response);
    let v0 = round_trip(&response, 0);
    assert_eq!(v0.groups[0].topics[0].partitions[0].lag, -1, "v0 has no lag: its default");
    assert_eq!(DescribeShareGroupOffsetsResponsePartition::default().lag, -1);
    let request = DescribeShareGroupOffsetsRequest::default();
    assert_eq!(round_trip(&request, 1), request);
}
