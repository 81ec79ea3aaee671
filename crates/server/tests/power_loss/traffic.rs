//! The load that runs while the broker is killed: an acks=all producer, a group
//! consumer committing synchronously, and a Kinesis PutRecords writer. Each records in
//! the history exactly what the broker acknowledged, nothing else.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientContext, Message, Offset, TopicPartitionList};

use super::history::{AckedPut, AckedRecord, History, Stop};
use super::kinesis::Kinesis;
use super::{GROUP, STREAM, TOPIC};

/// Librdkafka settings that let a client notice a dead broker in seconds, not minutes.
pub fn kafka_config(bootstrap: &str) -> ClientConfig {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("socket.timeout.ms", "3000")
        .set("message.timeout.ms", "5000")
        .set("reconnect.backoff.max.ms", "200");
    config
}

/// Records each successful delivery report: the broker's acks=all answer.
pub struct AckRecorder {
    pub history: Arc<History>,
    pub round: usize,
}

impl ClientContext for AckRecorder {}

impl ProducerContext for AckRecorder {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(message) => self.history.record(AckedRecord {
                round: self.round,
                partition: message.partition(),
                offset: message.offset(),
                value: message.payload().unwrap_or_default().to_vec(),
            }),
            // Purged at the end of the round: not a failure worth reporting.
            Err((KafkaError::MessageProduction(RDKafkaErrorCode::PurgeQueue | RDKafkaErrorCode::PurgeInflight), _)) => {
            }
            Err((e, _)) => self.history.failed("produce", e.to_string()),
        }
    }
}

pub fn acks_all_producer(bootstrap: &str, history: &Arc<History>, round: usize) -> BaseProducer<AckRecorder> {
    kafka_config(bootstrap)
        .set("acks", "all")
        .set("linger.ms", "2")
        .set("queue.buffering.max.messages", "2000")
        .create_with_context(AckRecorder { history: history.clone(), round })
        .expect("producer")
}

/// The value of record `n` of `round`: unique, and long enough to roll segments.
pub fn value(round: usize, n: u64) -> Vec<u8> {
    format!("round-{round}-record-{n:08}-{}", "x".repeat(80)).into_bytes()
}

/// The data of PutRecords entry `n` of `round`: unique, and long enough that the
/// stream's shards roll segments too.
fn put_data(round: usize, n: u64) -> Vec<u8> {
    format!("round-{round}-put-{n:08}-{}", "y".repeat(200)).into_bytes()
}

/// The running load of one round.
pub struct Traffic {
    stop: Arc<Stop>,
    threads: Vec<JoinHandle<()>>,
}

impl Traffic {
    pub fn start(kafka: &str, kinesis: &str, history: &Arc<History>, round: usize) -> Traffic {
        let stop = Arc::new(Stop::default());
        let spawn = |name: &str, work: Box<dyn FnOnce() + Send>| {
            std::thread::Builder::new().name(name.to_string()).spawn(work).expect("spawn traffic thread")
        };
        let (k, h, s) = (kafka.to_string(), history.clone(), stop.clone());
        let producer = spawn("produce", Box::new(move || produce(&k, &h, &s, round)));
        let (k, h, s) = (kafka.to_string(), history.clone(), stop.clone());
        let committer = spawn("commit", Box::new(move || consume_and_commit(&k, &h, &s, round)));
        let (k, h, s) = (kinesis.to_string(), history.clone(), stop.clone());
        let putter = spawn("put-records", Box::new(move || put_records(&k, &h, &s, round)));
        Traffic { stop, threads: vec![producer, committer, putter] }
    }

    /// No new writes from now on. The threads end once their last request is answered
    /// or failed: a synchronous commit waits for the group coordinator to come back.
    pub fn stop(&self) {
        self.stop.stop();
    }

    pub fn join(self) {
        self.stop();
        for thread in self.threads {
            thread.join().expect("traffic thread panicked");
        }
    }
}

fn produce(kafka: &str, history: &Arc<History>, stop: &Stop, round: usize) {
    let producer = acks_all_producer(kafka, history, round);
    let mut n = 0u64;
    while !stop.is_stopped() {
        let (key, payload) = (format!("key-{}", n % 16), value(round, n));
        match producer.send(BaseRecord::to(TOPIC).key(&key).payload(&payload)) {
            Ok(()) => n += 1,
            // A full queue: let delivery reports drain it (the poll below waits for them).
            Err((_, _record)) => {
                producer.poll(Duration::from_millis(10));
            }
        }
        producer.poll(Duration::ZERO);
    }
    // What was not acknowledged by now is not counted: purge it, and take the reports
    // that are ready.
    producer.purge(rdkafka::producer::PurgeConfig::default().queue().inflight());
    producer.poll(Duration::ZERO);
}

/// A group member (static, so each round's new client takes over at once) that
/// consumes and commits its position synchronously every few records.
fn consume_and_commit(kafka: &str, history: &History, stop: &Stop, round: usize) {
    let consumer: BaseConsumer = kafka_config(kafka)
        .set("group.id", GROUP)
        .set("group.instance.id", "power-loss-committer")
        .set("enable.auto.commit", "false")
        .set("auto.offset.reset", "earliest")
        .set("session.timeout.ms", "10000")
        .create()
        .expect("consumer");
    consumer.subscribe(&[TOPIC]).expect("subscribe");
    let mut positions: BTreeMap<i32, i64> = BTreeMap::new();
    let mut unsent = false;
    let mut last_commit = Instant::now();
    while !stop.is_stopped() {
        if let Some(Ok(message)) = consumer.poll(Duration::from_millis(50)) {
            positions.insert(message.partition(), message.offset() + 1);
            unsent = true;
        }
        if unsent && last_commit.elapsed() >= Duration::from_millis(50) {
            let mut offsets = TopicPartitionList::new();
            for (partition, offset) in &positions {
                let _ = offsets.add_partition_offset(TOPIC, *partition, Offset::Offset(*offset));
            }
            match consumer.commit(&offsets, CommitMode::Sync) {
                Ok(()) => {
                    history.committed(round, &positions);
                    unsent = false;
                }
                Err(e) => history.failed("commit", e.to_string()),
            }
            last_commit = Instant::now();
        }
    }
}

fn put_records(endpoint: &str, history: &History, stop: &Stop, round: usize) {
    let kinesis = Kinesis::new(endpoint);
    let mut n = 0u64;
    while !stop.is_stopped() {
        let batch: Vec<(String, Vec<u8>)> =
            (n..n + 10).map(|i| (format!("pk-{}", i % 7), put_data(round, i))).collect();
        n += 10;
        match kinesis.put_records(STREAM, &batch) {
            Ok(placed) => {
                for (entry, (_, data)) in placed.into_iter().zip(batch) {
                    if let Some(p) = entry {
                        history.put(AckedPut { round, shard_id: p.shard_id, sequence_number: p.sequence_number, data });
                    }
                }
            }
            // The broker is gone (killed), or refuses: back off until the round stops.
            Err(e) => {
                history.failed("put-records", e);
                stop.wait(Duration::from_millis(50));
            }
        }
    }
}
