//! Starting tidelog in process on port 0, and real librdkafka clients pointed at it.
#![allow(dead_code)]

pub mod raw;

use std::path::Path;
use std::time::Duration;

use futures::StreamExt;
use rdkafka::consumer::{Consumer, StreamConsumer};
use rdkafka::producer::FutureProducer;
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};
use tidelog_server::{Listeners, Overrides, Running, Settings};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

pub async fn start(dir: &Path, settings: &[&str]) -> Running {
    // Broker logs show up with `RUST_LOG=debug cargo test -- --nocapture`.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let overrides = Overrides {
        data_dir: Some(dir.to_path_buf()),
        set: settings.iter().map(|s| s.to_string()).collect(),
        ..Default::default()
    };
    let settings = Settings::load(&overrides).expect("valid test settings");
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let kinesis = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let admin = TcpListener::bind("127.0.0.1:0").await.expect("bind port 0");
    let listeners = Listeners { kafka: listener, kinesis: Some(kinesis), admin: Some(admin), registry: None };
    tidelog_server::start(&settings, listeners).await.expect("server starts")
}

pub fn client_config(server: &Running, extra: &[(&str, &str)]) -> ClientConfig {
    let mut config = ClientConfig::new();
    config.set("bootstrap.servers", server.kafka_addr().to_string()).set("message.timeout.ms", "10000");
    for (k, v) in extra {
        config.set(*k, *v);
    }
    config
}

pub fn producer(server: &Running, extra: &[(&str, &str)]) -> FutureProducer {
    client_config(server, extra).create().expect("producer")
}

/// A consumer reading `partitions` of `topic` from the beginning, without a group.
pub fn consumer(server: &Running, topic: &str, partitions: i32) -> StreamConsumer {
    let consumer: StreamConsumer =
        client_config(server, &[("enable.auto.commit", "false"), ("group.id", "tidelog-tests-unused")])
            .create()
            .expect("consumer");
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, Offset::Beginning).expect("partition offset");
    }
    consumer.assign(&assignment).expect("assign");
    consumer
}

/// One consumed message: (partition, offset, key, value).
pub type Consumed = (i32, i64, Option<Vec<u8>>, Vec<u8>);

/// The next `n` messages, failing after `timeout`.
pub async fn consume(consumer: &StreamConsumer, n: usize, timeout: Duration) -> Vec<Consumed> {
    let mut out = Vec::with_capacity(n);
    let mut stream = consumer.stream();
    let deadline = tokio::time::Instant::now() + timeout;
    while out.len() < n {
        let msg = tokio::time::timeout_at(deadline, stream.next())
            .await
            .unwrap_or_else(|_| panic!("timed out after {} of {n} messages", out.len()))
            .expect("stream open")
            .expect("message without error");
        out.push((
            msg.partition(),
            msg.offset(),
            msg.key().map(|k| k.to_vec()),
            msg.payload().unwrap_or_default().to_vec(),
        ));
    }
    out
}

/// The broker's Prometheus text, from its admin listener.
pub async fn scrape_metrics(server: &Running) -> String {
    let mut stream = TcpStream::connect(server.admin_addr().expect("admin listener")).await.expect("connect");
    stream.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").await.expect("send");
    let mut text = String::new();
    stream.read_to_string(&mut text).await.expect("metrics text");
    text
}

/// The value of `series` (a name with its labels, as Prometheus prints them) in `text`.
pub fn metric(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|line| {
        let (name, value) = line.rsplit_once(' ')?;
        (name == series).then(|| value.parse().ok()).flatten()
    })
}
