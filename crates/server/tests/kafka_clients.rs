//! tidelog driven by librdkafka (the `rdkafka` crate): produce with every codec and
//! every acks level, consume back in per-partition order, admin operations, offsets,
//! restart on the same data directory.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::Consumer;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::FutureRecord;
use rdkafka::util::Timeout;
use rdkafka::TopicPartitionList;

use common::{client_config, consume, consumer, producer, start, Consumed};

const WAIT: Duration = Duration::from_secs(20);

async fn create_topic(
    admin: &AdminClient<DefaultClientContext>,
    name: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) {
    let mut topic = NewTopic::new(name, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        topic = topic.set(k, v);
    }
    let results = admin.create_topics([&topic], &AdminOptions::new()).await.expect("create_topics");
    assert_eq!(results, vec![Ok(name.to_string())]);
}

/// Produces `n` keyed records round-robin over `partitions`; returns what each partition got, in order.
async fn produce_keyed(
    server: &tidelog_server::Running,
    topic: &str,
    partitions: i32,
    n: usize,
    extra: &[(&str, &str)],
) -> HashMap<i32, Vec<Vec<u8>>> {
    let producer = producer(server, extra);
    let mut expected: HashMap<i32, Vec<Vec<u8>>> = HashMap::new();
    for i in 0..n {
        let partition = (i as i32) % partitions;
        let value = format!("value-{i}-{}", "x".repeat(i % 50)).into_bytes();
        let key = format!("key-{i}");
        let delivery = producer
            .send(FutureRecord::to(topic).key(&key).payload(&value).partition(partition), WAIT)
            .await
            .expect("delivered");
        assert_eq!(delivery.partition, partition);
        expected.entry(partition).or_default().push(value);
    }
    expected
}

fn by_partition(messages: Vec<Consumed>) -> HashMap<i32, Vec<Vec<u8>>> {
    let mut got: HashMap<i32, Vec<(i64, Vec<u8>)>> = HashMap::new();
    for (p, offset, _, value) in messages {
        got.entry(p).or_default().push((offset, value));
    }
    got.into_iter()
        .map(|(p, msgs)| {
            let offsets: Vec<i64> = msgs.iter().map(|(o, _)| *o).collect();
            assert_eq!(offsets, (0..msgs.len() as i64).collect::<Vec<_>>(), "partition {p} offsets");
            (p, msgs.into_iter().map(|(_, v)| v).collect())
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_codec_round_trips_in_partition_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]).await;
    let admin: AdminClient<_> = client_config(&server, &[]).create().unwrap();
    for codec in ["none", "gzip", "snappy", "lz4", "zstd"] {
        let topic = format!("codec-{codec}");
        create_topic(&admin, &topic, 3, &[]).await;
        let expected =
            produce_keyed(&server, &topic, 3, 30, &[("compression.type", codec), ("acks", "all"), ("linger.ms", "5")])
                .await;
        let got = by_partition(consume(&consumer(&server, &topic, 3), 30, WAIT).await);
        assert_eq!(got, expected, "codec {codec}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acks_zero_and_one_deliver_and_auto_create_topics() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["num.partitions=2"]).await;
    for acks in ["0", "1"] {
        let topic = format!("auto-acks-{acks}");
        let expected = produce_keyed(&server, &topic, 2, 20, &[("acks", acks)]).await;
        let got = by_partition(consume(&consumer(&server, &topic, 2), 20, WAIT).await);
        assert_eq!(got, expected, "acks={acks}");
    }
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_on_same_directory_keeps_every_record() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["log.segment.bytes=2000", "num.partitions=2"]).await;
    let expected = produce_keyed(&server, "durable", 2, 200, &[("acks", "all"), ("linger.ms", "0")]).await;
    server.shutdown().await.unwrap();
    assert!(dir.path().join(".clean-shutdown").exists());

    let server = start(dir.path(), &["log.segment.bytes=2000", "num.partitions=2"]).await;
    assert!(server.broker().started_clean());
    let segments = std::fs::read_dir(dir.path().join("durable-0"))
        .unwrap()
        .filter(|e| e.as_ref().unwrap().path().extension().is_some_and(|x| x == "log"))
        .count();
    assert!(segments > 1, "expected rolled segments, got {segments}");
    let got = by_partition(consume(&consumer(&server, "durable", 2), 200, WAIT).await);
    assert_eq!(got, expected);
    // New appends continue after the recovered log end.
    let delivery = producer(&server, &[])
        .send(FutureRecord::<(), _>::to("durable").payload("after").partition(0), WAIT)
        .await
        .unwrap();
    assert_eq!(delivery.offset, 100);
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn admin_create_describe_grow_delete() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]).await;
    let admin: AdminClient<_> = client_config(&server, &[]).create().unwrap();
    let opts = AdminOptions::new();
    create_topic(&admin, "orders", 2, &[("retention.ms", "3600000"), ("cleanup.policy", "compact")]).await;

    let dup = admin.create_topics([&NewTopic::new("orders", 1, TopicReplication::Fixed(1))], &opts).await.unwrap();
    assert_eq!(dup, vec![Err(("orders".to_string(), RDKafkaErrorCode::TopicAlreadyExists))]);
    let bad = admin.create_topics([&NewTopic::new("bad name!", 1, TopicReplication::Fixed(1))], &opts).await.unwrap();
    assert_eq!(bad, vec![Err(("bad name!".to_string(), RDKafkaErrorCode::InvalidTopic))]);
    let rf = admin.create_topics([&NewTopic::new("rf3", 1, TopicReplication::Fixed(3))], &opts).await.unwrap();
    assert_eq!(rf, vec![Err(("rf3".to_string(), RDKafkaErrorCode::InvalidReplicationFactor))]);
    let unknown_config = admin
        .create_topics([&NewTopic::new("cfg", 1, TopicReplication::Fixed(1)).set("retention.mss", "1")], &opts)
        .await
        .unwrap();
    assert_eq!(unknown_config, vec![Err(("cfg".to_string(), RDKafkaErrorCode::InvalidConfig))]);

    let described = admin.describe_configs([&ResourceSpecifier::Topic("orders")], &opts).await.unwrap();
    let resource = described[0].as_ref().unwrap();
    let retention = resource.get("retention.ms").unwrap();
    assert_eq!(retention.value.as_deref(), Some("3600000"));
    assert_eq!(retention.source, rdkafka::admin::ConfigSource::DynamicTopic);
    let segment = resource.get("segment.bytes").unwrap();
    assert_eq!(segment.value.as_deref(), Some("1073741824"));
    assert_eq!(segment.source, rdkafka::admin::ConfigSource::Default);
    let broker = admin.describe_configs([&ResourceSpecifier::Broker(1)], &opts).await.unwrap();
    assert_eq!(broker[0].as_ref().unwrap().get("num.partitions").unwrap().value.as_deref(), Some("1"));

    let grown = admin.create_partitions([&NewPartitions::new("orders", 5)], &opts).await.unwrap();
    assert_eq!(grown, vec![Ok("orders".to_string())]);
    let shrink = admin.create_partitions([&NewPartitions::new("orders", 3)], &opts).await.unwrap();
    assert_eq!(shrink, vec![Err(("orders".to_string(), RDKafkaErrorCode::InvalidPartitions))]);

    let probe = consumer(&server, "orders", 0);
    let metadata = probe.fetch_metadata(Some("orders"), Timeout::After(WAIT)).unwrap();
    assert_eq!(metadata.topics()[0].partitions().len(), 5);

    assert_eq!(admin.delete_topics(&["orders"], &opts).await.unwrap(), vec![Ok("orders".to_string())]);
    let metadata = probe.fetch_metadata(None, Timeout::After(WAIT)).unwrap();
    assert!(metadata.topics().iter().all(|t| t.name() != "orders"));
    assert!(!dir.path().join("orders-0").exists());
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn watermarks_and_offsets_for_times() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &[]).await;
    let producer = producer(&server, &[("linger.ms", "0")]);
    let base = tidelog_broker::now_ms() - 10_000;
    for i in 0..10i64 {
        let record = FutureRecord::<(), _>::to("times").payload("v").partition(0).timestamp(base + i * 1000);
        producer.send(record, WAIT).await.unwrap();
    }
    let probe = consumer(&server, "times", 0);
    assert_eq!(probe.fetch_watermarks("times", 0, WAIT).unwrap(), (0, 10));
    let mut query = TopicPartitionList::new();
    query.add_partition_offset("times", 0, rdkafka::Offset::Offset(base + 4500)).unwrap();
    let answer = probe.offsets_for_times(query, WAIT).unwrap();
    assert_eq!(answer.elements()[0].offset(), rdkafka::Offset::Offset(5));
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_batches_are_refused_with_message_too_large() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(dir.path(), &["message.max.bytes=1000"]).await;
    let producer = producer(&server, &[("message.max.bytes", "100000"), ("compression.type", "none")]);
    let big = vec![b'x'; 5000];
    let err = producer.send(FutureRecord::<(), _>::to("limits").payload(&big), WAIT).await.unwrap_err().0;
    assert_eq!(err, KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge));
    let ok = producer.send(FutureRecord::<(), _>::to("limits").payload("small"), WAIT).await.unwrap();
    assert_eq!(ok.offset, 0);
    server.shutdown().await.unwrap();
}
