//! `tidelog produce TOPIC`: one record per input line, like the console producer.

use std::io::BufRead;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rdkafka::error::KafkaError;
use rdkafka::message::{Header, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::ClientContext;
use serde_json::json;

use crate::client::Client;
use crate::output;
use crate::topic::key_value;

#[derive(Args, Debug)]
pub struct ProduceArgs {
    pub topic: String,
    /// Read lines from this file instead of stdin
    #[arg(long)]
    pub file: Option<std::path::PathBuf>,
    /// Split each line at the first SEP into key and value
    #[arg(long, value_name = "SEP")]
    pub key_separator: Option<String>,
    /// Write every record to this partition (default: by key, or spread)
    #[arg(long)]
    pub partition: Option<i32>,
    /// all, 1 or 0
    #[arg(long, default_value = "all")]
    pub acks: String,
    /// none, gzip, snappy, lz4 or zstd
    #[arg(long, default_value = "none")]
    pub compression: String,
    /// Header added to every record (repeatable)
    #[arg(long = "header", short = 'H', value_name = "KEY=VALUE")]
    pub headers: Vec<String>,
}

/// Counts deliveries; keeps the first error to report it.
#[derive(Default)]
struct Deliveries {
    ok: AtomicU64,
    failed: AtomicU64,
    first_error: Mutex<Option<String>>,
}

impl ClientContext for Deliveries {}

impl ProducerContext for Deliveries {
    type DeliveryOpaque = ();

    fn delivery(&self, result: &DeliveryResult<'_>, _: ()) {
        match result {
            Ok(_) => {
                self.ok.fetch_add(1, Ordering::Relaxed);
            }
            Err((e, _)) => {
                self.failed.fetch_add(1, Ordering::Relaxed);
                self.first_error.lock().unwrap_or_else(|p| p.into_inner()).get_or_insert_with(|| e.to_string());
            }
        }
    }
}

pub fn run(args: ProduceArgs, client: &Client) -> anyhow::Result<()> {
    let acks = match args.acks.as_str() {
        "all" | "-1" => "all",
        "1" => "1",
        "0" => "0",
        other => bail!("--acks must be all, 1 or 0, not '{other}'"),
    };
    let mut config = client.config();
    config
        .set("acks", acks)
        .set("compression.type", &args.compression)
        .set("message.timeout.ms", client.timeout.as_millis().to_string())
        .set("linger.ms", "5");
    if acks != "all" {
        config.set("enable.idempotence", "false");
    }
    let producer: ThreadedProducer<Deliveries> =
        config.create_with_context(Deliveries::default()).context("cannot create a producer")?;
    let mut headers = OwnedHeaders::new();
    for h in &args.headers {
        let (key, value) = key_value(h)?;
        headers = headers.insert(Header { key, value: Some(value) });
    }
    let input: Box<dyn BufRead> = match &args.file {
        Some(path) => Box::new(std::io::BufReader::new(
            std::fs::File::open(path).with_context(|| format!("cannot read {}", path.display()))?,
        )),
        None => Box::new(std::io::stdin().lock()),
    };
    let started = Instant::now();
    let mut progress_at = started + Duration::from_secs(5);
    let mut sent = 0u64;
    for line in input.lines() {
        let line = line.context("cannot read input")?;
        let (key, value) = match &args.key_separator {
            Some(sep) => match line.split_once(sep.as_str()) {
                Some((k, v)) => (Some(k.to_string()), v.to_string()),
                None => (None, line),
            },
            None => (None, line),
        };
        let mut record: BaseRecord<'_, String, String> =
            BaseRecord::to(&args.topic).payload(&value).headers(headers.clone());
        if let Some(k) = &key {
            record = record.key(k);
        }
        if let Some(p) = args.partition {
            record = record.partition(p);
        }
        let mut record = record;
        loop {
            match producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), back)) => {
                    record = back;
                    std::thread::sleep(Duration::from_millis(5));
                }
                Err((e, _)) => bail!("cannot produce to '{}': {e}", args.topic),
            }
        }
        sent += 1;
        if Instant::now() >= progress_at {
            progress_at += Duration::from_secs(5);
            eprintln!("{sent} records sent, {} delivered", producer.context().ok.load(Ordering::Relaxed));
        }
    }
    producer.flush(client.timeout).context("records still undelivered when the timeout passed")?;
    let deliveries = producer.context();
    let (ok, failed) = (deliveries.ok.load(Ordering::Relaxed), deliveries.failed.load(Ordering::Relaxed));
    if client.json() {
        output::json(&json!({ "topic": args.topic, "records": ok, "failed": failed }));
    } else {
        eprintln!("Produced {ok} records to \"{}\".", args.topic);
    }
    if failed > 0 {
        let first = deliveries.first_error.lock().unwrap_or_else(|p| p.into_inner()).clone().unwrap_or_default();
        bail!("{failed} of {sent} records were not delivered: {first}");
    }
    Ok(())
}
