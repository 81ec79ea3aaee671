//! The data path at Kafka 4.x's semantics, driven by librdkafka (the `rdkafka` crate) and,
//! where the size of one response is the point, by a raw Fetch: the response budget of
//! KIP-74 over large records (zero-copy file slices included), and keyless records refused
//! by a compacted topic. (OffsetForLeaderEpoch is driven by confluent-kafka in
//! `compat/test_kafka4_data_path.py`: the `rdkafka` crate cannot give a position its
//! leader epoch.)

mod common;

use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::messages::fetch_request::{FetchPartition, FetchTopic};
use kafka_protocol::messages::{ApiKey, FetchRequest, FetchResponse, ResponseHeader, TopicName};
use kafka_protocol::protocol::{Decodable, StrBytes};
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;
use rdkafka::{Offset, TopicPartitionList};
use tokio::io::AsyncWriteExt;

use common::{client_config, consume, producer, raw, start};

const WAIT: Duration = Duration::from_secs(20);
const LARGE: usize = 900 * 1024;

async fn create_topic(server: &tidelog_server::Running, name: &str, partitions: i32, configs: &[(&str, &str)]) {
    let admin: AdminClient<DefaultClientContext> = client_config(server, &[]).create().unwrap();
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin.create_topics([&topic], &AdminOptions::new()).await.expect("create_topics");
    assert_eq!(results, vec![Ok(name.to_string())]);
}

fn large_value(partition: i32) -> Vec<u8> {
    vec![b'a' + partition as u8; LARGE]
}

/// One Fetch v12 for partitions 0..3 of `topic` from offset 0; the records' sizes per partition.
async fn fetch_sizes(server: &tidelog_server::Running, topic: &str, max_bytes: i32) -> Vec<usize> {
    let partitions = (0..3)
        .map(|p| FetchPartition::default().with_partition(p).with_fetch_offset(0).with_partition_max_bytes(1 << 20))
        .collect();
    let request =
        FetchRequest::default().with_max_wait_ms(0).with_min_bytes(1).with_max_bytes(max_bytes).with_topics(vec![
            FetchTopic::default()
                .with_topic(TopicName(StrBytes::from_string(topic.to_string())))
                .with_partitions(partitions),
        ]);
    let mut stream = tokio::net::TcpStream::connect(server.kafka_addr()).await.unwrap();
    stream.write_all(&raw::frame(ApiKey::Fetch, 12, 1, &request)).await.unwrap();
    let mut body: Bytes = raw::read_frame(&mut stream, WAIT).await.expect("a fetch response");
    ResponseHeader::decode(&mut body, ApiKey::Fetch.response_header_version(12)).unwrap();
    let response = FetchResponse::decode(&mut body, 12).unwrap();
    let partitions = &response.responses[0].partitions;
    assert!(partitions.iter().all(|p| p.error_code == 0 && p.high_watermark == 1));
    partitions.iter().map(|p| p.records.as_ref().map_or(0, |r| r.len())).collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fetch_max_bytes_bounds_the_response_over_large_records() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]).await;
    create_topic(&server, "large", 3, &[]).await;
    let producer = producer(&server, &[]);
    for p in 0..3 {
        let value = large_value(p);
        producer.send(FutureRecord::<(), _>::to("large").payload(&value).partition(p), WAIT).await.expect("delivered");
    }

    // The first partition's batch exceeds what is left for the others: they get nothing.
    let sizes = fetch_sizes(&server, "large", 1_000_000).await;
    assert!(sizes[0] > LARGE && sizes[1..] == [0, 0], "{sizes:?}");
    // A budget below one batch still returns it, so that the consumer moves on.
    assert!(fetch_sizes(&server, "large", 1000).await[0] > LARGE);
    // Room for two: two.
    let sizes = fetch_sizes(&server, "large", 2_000_000).await;
    assert!(sizes[0] > LARGE && sizes[1] > LARGE && sizes[2] == 0, "{sizes:?}");

    // librdkafka drops a response larger than receive.message.max.bytes (at least
    // fetch.max.bytes + 512): it reads every record only if each response stayed in budget.
    let consumer: StreamConsumer = client_config(
        &server,
        &[
            ("group.id", "large-readers"),
            ("enable.auto.commit", "false"),
            ("fetch.max.bytes", "1000000"),
            ("receive.message.max.bytes", "1000512"),
        ],
    )
    .create()
    .unwrap();
    let mut assignment = TopicPartitionList::new();
    for p in 0..3 {
        assignment.add_partition_offset("large", p, Offset::Beginning).unwrap();
    }
    consumer.assign(&assignment).unwrap();
    let mut got = consume(&consumer, 3, WAIT).await;
    got.sort();
    for (p, (partition, offset, _, value)) in got.into_iter().enumerate() {
        assert_eq!((partition, offset), (p as i32, 0));
        assert!(value == large_value(p as i32), "partition {p}'s record");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_compacted_topic_refuses_keyless_records() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]).await;
    create_topic(&server, "compacted", 1, &[("cleanup.policy", "compact")]).await;
    let producer = producer(&server, &[("message.send.max.retries", "0")]);
    let refused = producer.send(FutureRecord::<(), _>::to("compacted").payload("no key"), WAIT).await;
    match refused {
        Err((KafkaError::MessageProduction(code), _)) => assert_eq!(code, RDKafkaErrorCode::InvalidRecord),
        other => panic!("a keyless record was not refused: {other:?}"),
    }
    let kept = producer.send(FutureRecord::to("compacted").key("k").payload("kept"), WAIT).await.expect("delivered");
    assert_eq!(kept.offset, 0, "nothing of the refused batch was appended");
    server.shutdown().await.unwrap();
}
