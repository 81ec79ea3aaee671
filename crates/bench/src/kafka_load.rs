//! Produce and consume load through librdkafka (the `rdkafka` crate), the industry's
//! reference client. Produce latency is measured per record, send → delivery report.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use anyhow::{bail, ensure, Context};
use parking_lot::Mutex;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{ClientConfig, ClientContext, Message, Offset, TopicPartitionList};

/// What one load run measured.
#[derive(Debug, Clone)]
pub struct LoadResult {
    pub records: u64,
    pub payload_bytes: u64,
    pub elapsed: Duration,
    /// Per-record latencies in milliseconds (produce only).
    pub latencies_ms: Vec<f64>,
}

struct LatencyContext {
    latencies_ms: Mutex<Vec<f64>>,
    failures: AtomicU64,
}

impl ClientContext for LatencyContext {}

impl ProducerContext for LatencyContext {
    type DeliveryOpaque = Box<Instant>;
    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        match result {
            Ok(_) => self.latencies_ms.lock().push(sent.elapsed().as_secs_f64() * 1e3),
            Err(_) => {
                self.failures.fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

pub async fn create_topic(bootstrap: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    create_topic_with(bootstrap, topic, partitions, &[]).await
}

pub async fn create_topic_with(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    configs: &[(&str, &str)],
) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    let mut new_topic = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    for (k, v) in configs {
        new_topic = new_topic.set(k, v);
    }
    let results = admin.create_topics([&new_topic], &AdminOptions::new()).await?;
    for r in results {
        r.map_err(|(t, e)| anyhow::anyhow!("creating {t}: {e}"))?;
    }
    Ok(())
}

/// How the producer delivers: the guarantee rows compare these.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Delivery {
    Plain,
    Idempotent,
    /// A transaction committed every `commit_every_ms`.
    Transactional {
        commit_every_ms: u64,
    },
}

pub struct ProduceSpec<'a> {
    pub topic: &'a str,
    pub partitions: i32,
    pub records: u64,
    pub record_bytes: usize,
    pub acks: &'a str,
    pub linger_ms: u32,
    pub delivery: Delivery,
    /// Requests in flight per connection; `None`: the client's default (idempotent
    /// producers are capped at 5 by the client whatever this says).
    pub max_in_flight: Option<u32>,
}

impl<'a> ProduceSpec<'a> {
    /// Plain 1 KiB records at acks=1 with a 5 ms linger and the client's default in-flight cap.
    pub fn kib_records(topic: &'a str, partitions: i32, records: u64) -> Self {
        ProduceSpec {
            topic,
            partitions,
            records,
            record_bytes: 1024,
            acks: "1",
            linger_ms: 5,
            delivery: Delivery::Plain,
            max_in_flight: None,
        }
    }
}

pub fn produce(bootstrap: &str, spec: &ProduceSpec<'_>) -> anyhow::Result<LoadResult> {
    let context = LatencyContext {
        latencies_ms: Mutex::new(Vec::with_capacity(spec.records as usize)),
        failures: AtomicU64::new(0),
    };
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("acks", spec.acks)
        .set("linger.ms", spec.linger_ms.to_string())
        .set("enable.idempotence", (spec.delivery != Delivery::Plain).to_string())
        .set("queue.buffering.max.messages", "1000000")
        .set("batch.size", "1000000");
    if let Some(n) = spec.max_in_flight {
        config.set("max.in.flight.requests.per.connection", n.to_string());
    }
    if let Delivery::Transactional { .. } = spec.delivery {
        config.set("transactional.id", format!("tidelog-bench-{}", spec.topic));
    }
    let producer: BaseProducer<LatencyContext> = config.create_with_context(context)?;
    let commit_every = match spec.delivery {
        Delivery::Transactional { commit_every_ms } => {
            producer.init_transactions(Duration::from_secs(30))?;
            producer.begin_transaction()?;
            Some(Duration::from_millis(commit_every_ms))
        }
        _ => None,
    };
    let payload = vec![b'x'; spec.record_bytes];
    let started = Instant::now();
    let mut txn_started = Instant::now();
    for i in 0..spec.records {
        if let Some(every) = commit_every {
            if txn_started.elapsed() >= every {
                producer.commit_transaction(Duration::from_secs(60))?;
                producer.begin_transaction()?;
                txn_started = Instant::now();
            }
        }
        let key = (i % 1024).to_string();
        let mut record = BaseRecord::with_opaque_to(spec.topic, Box::new(Instant::now()))
            .key(&key)
            .payload(&payload)
            .partition((i % spec.partitions as u64) as i32);
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    producer.poll(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("send failed: {e}"),
            }
        }
        if i % 1000 == 0 {
            producer.poll(Duration::ZERO);
        }
    }
    if commit_every.is_some() {
        producer.commit_transaction(Duration::from_secs(120))?;
    }
    producer.flush(Duration::from_secs(120)).context("flush")?;
    let elapsed = started.elapsed();
    let context = producer.context();
    let failures = context.failures.load(Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} records failed to deliver");
    }
    let latencies_ms = std::mem::take(&mut *context.latencies_ms.lock());
    Ok(LoadResult {
        records: spec.records,
        payload_bytes: spec.records * spec.record_bytes as u64,
        elapsed,
        latencies_ms,
    })
}

/// A consumer assigned every partition of `topic` from `start` (no group membership, no
/// commits), with `settings` on top of librdkafka's defaults.
fn assigned_consumer(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    start: Offset,
    settings: &[(&str, &str)],
) -> anyhow::Result<BaseConsumer> {
    let mut config = ClientConfig::new();
    config
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "tidelog-bench-unused")
        .set("enable.auto.commit", "false");
    for (key, value) in settings {
        config.set(*key, *value);
    }
    let consumer: BaseConsumer = config.create()?;
    let mut assignment = TopicPartitionList::new();
    for p in 0..partitions {
        assignment.add_partition_offset(topic, p, start)?;
    }
    consumer.assign(&assignment)?;
    Ok(consumer)
}

/// Reads `expected` records from every partition of `topic`, from the beginning.
pub fn consume(bootstrap: &str, topic: &str, partitions: i32, expected: u64) -> anyhow::Result<LoadResult> {
    // librdkafka's own fetch sizes (1 MiB per partition): 10 MiB made every response a
    // fresh 80 MB allocation, which cost the client 2.0–2.6 CPU ms/MB instead of 1.25.
    // Its local queue may hold everything fetched, so fetching never waits on it.
    let settings = [("queued.max.messages.kbytes", "1048576")];
    let consumer = assigned_consumer(bootstrap, topic, partitions, Offset::Beginning, &settings)?;
    let (mut records, mut bytes) = (0u64, 0u64);
    let started = Instant::now();
    let deadline = started + Duration::from_secs(300);
    while records < expected {
        match consumer.poll(Duration::from_millis(100)) {
            Some(message) => {
                records += 1;
                bytes += message?.payload_len() as u64;
            }
            // The clock only when nothing came: clock reads were already 14% of this
            // loop's CPU inside librdkafka's poll.
            None => ensure!(Instant::now() < deadline, "consumed only {records} of {expected} records"),
        }
    }
    Ok(LoadResult { records, payload_bytes: bytes, elapsed: started.elapsed(), latencies_ms: Vec::new() })
}

/// Fixed-rate produce (acks=1) with a consumer reading the same topic at once: the
/// produce latency (send → delivery report) and the end-to-end latency (send → the
/// consumer has the record), the latter from a send time written into each payload.
pub struct LatencyResult {
    pub produce: LoadResult,
    pub end_to_end: LoadResult,
}

pub fn latency_at_rate(
    bootstrap: &str,
    topic: &str,
    partitions: i32,
    records_per_s: u64,
    records: u64,
    record_bytes: usize,
) -> anyhow::Result<LatencyResult> {
    let epoch = Instant::now();
    let consumer = assigned_consumer(bootstrap, topic, partitions, Offset::End, &[("fetch.wait.max.ms", "100")])?;
    // The consumer's first fetches settle its position at the end before records flow.
    for _ in 0..10 {
        consumer.poll(Duration::from_millis(100));
    }
    let reader = std::thread::spawn(move || -> anyhow::Result<Vec<f64>> {
        let mut latencies = Vec::with_capacity(records as usize);
        let deadline = Instant::now() + Duration::from_secs(120) + Duration::from_secs(records / records_per_s.max(1));
        while (latencies.len() as u64) < records {
            ensure!(Instant::now() < deadline, "received only {} of {records} records", latencies.len());
            if let Some(message) = consumer.poll(Duration::from_millis(100)) {
                let message = message?;
                let payload = message.payload().unwrap_or_default();
                let sent_ns = u64::from_be_bytes(payload.get(..8).context("short payload")?.try_into()?);
                latencies.push((epoch.elapsed().as_nanos() as u64).saturating_sub(sent_ns) as f64 / 1e6);
            }
        }
        Ok(latencies)
    });

    let context = LatencyContext { latencies_ms: Mutex::new(Vec::new()), failures: AtomicU64::new(0) };
    let producer: BaseProducer<LatencyContext> = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("acks", "1")
        .set("linger.ms", "1")
        .create_with_context(context)?;
    let mut payload = vec![b'x'; record_bytes.max(8)];
    let started = Instant::now();
    for i in 0..records {
        // Paced: record i leaves at i / rate, not in bursts. Delivery reports are served
        // before every send: a report only counts when `poll` serves it, and when the loop
        // ran behind schedule (no wait, so no poll) reports queued up and the produce p99
        // measured this loop instead of the broker.
        let due = started + Duration::from_nanos(i * 1_000_000_000 / records_per_s);
        producer.poll(Duration::ZERO);
        while Instant::now() < due {
            std::thread::sleep(Duration::from_micros(50));
            producer.poll(Duration::ZERO);
        }
        let now = Instant::now();
        payload[..8].copy_from_slice(&(now.duration_since(epoch).as_nanos() as u64).to_be_bytes());
        let record = BaseRecord::<(), [u8], _>::with_opaque_to(topic, Box::new(now))
            .payload(&payload)
            .partition((i % partitions as u64) as i32);
        producer.send(record).map_err(|(e, _)| e)?;
    }
    producer.flush(Duration::from_secs(60)).context("flush")?;
    let elapsed = started.elapsed();
    let end_to_end = reader.join().map_err(|_| anyhow::anyhow!("the consumer thread panicked"))??;
    let context = producer.context();
    let failures = context.failures.load(Ordering::Relaxed);
    if failures > 0 {
        bail!("{failures} records failed to deliver");
    }
    let produce_latencies = std::mem::take(&mut *context.latencies_ms.lock());
    let bytes = records * record_bytes as u64;
    Ok(LatencyResult {
        produce: LoadResult { records, payload_bytes: bytes, elapsed, latencies_ms: produce_latencies },
        end_to_end: LoadResult { records, payload_bytes: bytes, elapsed, latencies_ms: end_to_end },
    })
}
