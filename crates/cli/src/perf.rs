//! `tidelog perf produce|consume`: the measurements kafka-producer-perf-test and
//! kafka-consumer-perf-test make, printed in their format so existing scripts parse them.

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rdkafka::consumer::Consumer;
use rdkafka::error::KafkaError;
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{ClientContext, Offset, TopicPartitionList};
use serde_json::json;

use crate::client::Client;
use crate::output;
use crate::topic::key_value;

const MB: f64 = 1024.0 * 1024.0;
const REPORT_EVERY: Duration = Duration::from_secs(5);

#[derive(Subcommand, Debug)]
pub enum PerfCommand {
    /// Produce fixed-size records as fast as allowed; report throughput and latency
    Produce(ProduceArgs),
    /// Consume records from the beginning; report throughput
    Consume(ConsumeArgs),
}

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    #[arg(long, default_value_t = 100_000)]
    pub num_records: u64,
    /// Bytes per record value
    #[arg(long, default_value_t = 1024)]
    pub record_size: usize,
    /// Records per second at most; -1 for no limit
    #[arg(long, default_value_t = -1, allow_hyphen_values = true)]
    pub throughput: i64,
    /// Producer setting under its librdkafka name (repeatable), e.g. acks=1
    #[arg(long = "producer-props", value_name = "KEY=VALUE")]
    pub props: Vec<String>,
}

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Records to consume
    #[arg(long, default_value_t = 100_000)]
    pub messages: u64,
}

pub fn run(command: PerfCommand, client: &Client) -> anyhow::Result<()> {
    match command {
        PerfCommand::Produce(args) => produce(client, &args),
        PerfCommand::Consume(args) => consume(client, &args),
    }
}

/// Latencies and counts, shared with librdkafka's delivery thread.
#[derive(Default)]
struct Recorder {
    inner: Mutex<Window>,
}

#[derive(Default)]
struct Window {
    /// Every delivered record's latency in ms (for the final percentiles).
    all: Vec<u32>,
    failed: u64,
    first_error: Option<String>,
    /// Since the last progress line.
    count: u64,
    latency_sum: u64,
    latency_max: u32,
}

impl ClientContext for Recorder {}

impl ProducerContext for Recorder {
    type DeliveryOpaque = Box<Instant>;

    fn delivery(&self, result: &DeliveryResult<'_>, sent: Box<Instant>) {
        let ms = sent.elapsed().as_millis().min(u32::MAX as u128) as u32;
        let mut w = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        match result {
            Ok(_) => {
                w.all.push(ms);
                w.count += 1;
                w.latency_sum += u64::from(ms);
                w.latency_max = w.latency_max.max(ms);
            }
            Err((e, _)) => {
                w.failed += 1;
                w.first_error.get_or_insert_with(|| e.to_string());
            }
        }
    }
}

fn produce(client: &Client, args: &ProduceArgs) -> anyhow::Result<()> {
    let mut config = client.config();
    config.set("message.timeout.ms", "60000").set("linger.ms", "5");
    for prop in &args.props {
        let (k, v) = key_value(prop)?;
        config.set(k, v);
    }
    let producer: ThreadedProducer<Recorder> =
        config.create_with_context(Recorder::default()).context("cannot create a producer")?;
    let payload = vec![b'x'; args.record_size];
    let started = Instant::now();
    let mut window_start = started;
    for i in 0..args.num_records {
        if args.throughput > 0 {
            let due = started + Duration::from_secs_f64(i as f64 / args.throughput as f64);
            if let Some(wait) = due.checked_duration_since(Instant::now()) {
                std::thread::sleep(wait);
            }
        }
        let mut record = BaseRecord::with_opaque_to(&args.topic, Box::new(Instant::now())).payload(&payload[..]);
        loop {
            match producer.send::<[u8], [u8]>(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(1));
                }
                Err((e, _)) => bail!("cannot produce to '{}': {e}", args.topic),
            }
        }
        if window_start.elapsed() >= REPORT_EVERY && !client.json() {
            report_window(&producer, window_start, args.record_size);
            window_start = Instant::now();
        }
    }
    producer.flush(Duration::from_secs(60)).context("records still undelivered after 60 s")?;
    let elapsed = started.elapsed().as_secs_f64();
    let mut w = producer.context().inner.lock().unwrap_or_else(|p| p.into_inner());
    if w.failed > 0 {
        bail!("{} records failed: {}", w.failed, w.first_error.clone().unwrap_or_default());
    }
    w.all.sort_unstable();
    let n = w.all.len() as u64;
    let pct = |q: f64| w.all.get(((n as f64 * q) as usize).min(w.all.len().saturating_sub(1))).copied().unwrap_or(0);
    let rate = n as f64 / elapsed;
    let mb = rate * args.record_size as f64 / MB;
    let avg = w.all.iter().map(|&l| u64::from(l)).sum::<u64>() as f64 / n.max(1) as f64;
    let max = w.all.last().copied().unwrap_or(0);
    if client.json() {
        output::json(&json!({
            "records": n, "records_per_sec": rate, "mb_per_sec": mb, "avg_latency_ms": avg, "max_latency_ms": max,
            "p50_ms": pct(0.5), "p95_ms": pct(0.95), "p99_ms": pct(0.99), "p999_ms": pct(0.999),
        }));
    } else {
        println!(
            "{n} records sent, {rate:.6} records/sec ({mb:.2} MB/sec), {avg:.2} ms avg latency, {max:.2} ms max latency, {} ms 50th, {} ms 95th, {} ms 99th, {} ms 99.9th.",
            pct(0.5),
            pct(0.95),
            pct(0.99),
            pct(0.999)
        );
    }
    Ok(())
}

/// The progress line kafka-producer-perf-test prints every five seconds.
fn report_window(producer: &ThreadedProducer<Recorder>, since: Instant, record_size: usize) {
    let mut w = producer.context().inner.lock().unwrap_or_else(|p| p.into_inner());
    let secs = since.elapsed().as_secs_f64();
    let rate = w.count as f64 / secs;
    println!(
        "{} records sent, {:.1} records/sec ({:.2} MB/sec), {:.1} ms avg latency, {:.1} ms max latency.",
        w.count,
        rate,
        rate * record_size as f64 / MB,
        w.latency_sum as f64 / w.count.max(1) as f64,
        f64::from(w.latency_max)
    );
    w.count = 0;
    w.latency_sum = 0;
    w.latency_max = 0;
}

/// "yyyy-MM-dd HH:mm:ss:SSS" in UTC, as the consumer perf test prints times.
fn perf_time(t: SystemTime) -> String {
    let text = humantime::format_rfc3339_millis(t).to_string();
    text.trim_end_matches('Z').replacen('T', " ", 1).replacen('.', ":", 1)
}

fn consume(client: &Client, args: &ConsumeArgs) -> anyhow::Result<()> {
    let consumer = client.consumer(None, &[("fetch.max.bytes", "52428800")])?;
    let mut tpl = TopicPartitionList::new();
    for p in client.partitions(&consumer, &args.topic)? {
        tpl.add_partition_offset(&args.topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl).context("cannot assign partitions")?;
    let start_wall = SystemTime::now();
    let started = Instant::now();
    let mut first_fetch = None;
    let (mut records, mut bytes) = (0u64, 0u64);
    let mut last_record = Instant::now();
    while records < args.messages {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                first_fetch.get_or_insert_with(Instant::now);
                records += 1;
                bytes += m.payload_len() as u64;
                last_record = Instant::now();
            }
            Some(Err(e)) => bail!("cannot consume from '{}': {e}", args.topic),
            None if last_record.elapsed() > client.timeout => {
                eprintln!(
                    "WARNING: Exiting before consuming the expected number of messages: timeout ({} ms) exceeded.",
                    client.timeout.as_millis()
                );
                break;
            }
            None => {}
        }
    }
    let total = started.elapsed().as_secs_f64().max(1e-9);
    let fetch = first_fetch.map_or(total, |f| f.elapsed().as_secs_f64().max(1e-9));
    let mb = bytes as f64 / MB;
    if client.json() {
        output::json(&json!({
            "records": records, "mb": mb, "mb_per_sec": mb / total, "records_per_sec": records as f64 / total,
            "fetch_ms": (fetch * 1000.0) as u64,
        }));
        return Ok(());
    }
    println!("start.time, end.time, data.consumed.in.MB, MB.sec, data.consumed.in.nMsg, nMsg.sec, rebalance.time.ms, fetch.time.ms, fetch.MB.sec, fetch.nMsg.sec");
    println!(
        "{}, {}, {mb:.4}, {:.4}, {records}, {:.4}, {}, {}, {:.4}, {:.4}",
        perf_time(start_wall),
        perf_time(SystemTime::now()),
        mb / total,
        records as f64 / total,
        ((total - fetch) * 1000.0) as u64,
        (fetch * 1000.0) as u64,
        mb / fetch,
        records as f64 / fetch
    );
    Ok(())
}
