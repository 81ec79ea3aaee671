//! `tidelog consume TOPIC`: prints records, like the console consumer and kcat -C.
//! Without `--follow` it stops at the end of every partition (or after `--count`).

use std::collections::HashSet;
use std::io::Write;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::error::KafkaError;
use rdkafka::message::{BorrowedMessage, Headers};
use rdkafka::{Message, Offset, TopicPartitionList};
use serde_json::json;

use crate::client::{parse_time, Client};

#[derive(Args, Debug)]
pub struct ConsumeArgs {
    pub topic: String,
    /// Join this consumer group (offsets are committed as records are printed)
    #[arg(long, short = 'g')]
    pub group: Option<String>,
    /// beginning, end, an OFFSET, or a TIMESTAMP (2026-11-22T10:00:00Z or @MILLISECONDS)
    #[arg(long, default_value = "beginning")]
    pub from: String,
    /// Read this partition only
    #[arg(long, short = 'p')]
    pub partition: Option<i32>,
    /// Stop after this many records
    #[arg(long, short = 'n')]
    pub count: Option<u64>,
    /// Line per record with {topic} {partition} {offset} {timestamp} {key} {value} {headers}
    #[arg(long, short = 'f', default_value = "{value}")]
    pub format: String,
    /// Keep waiting for new records instead of stopping at the end
    #[arg(long)]
    pub follow: bool,
}

enum Start {
    Beginning,
    End,
    Offset(i64),
    Timestamp(i64),
}

fn start(text: &str) -> anyhow::Result<Start> {
    Ok(match text {
        "beginning" | "earliest" => Start::Beginning,
        "end" | "latest" => Start::End,
        t if t.parse::<i64>().is_ok() => Start::Offset(t.parse()?),
        t => Start::Timestamp(parse_time(t)?),
    })
}

pub fn run(args: ConsumeArgs, client: &Client) -> anyhow::Result<()> {
    let start = start(&args.from)?;
    let reset = if matches!(start, Start::End) { "latest" } else { "earliest" };
    let mut extra = vec![("enable.partition.eof", "true"), ("auto.offset.reset", reset)];
    if args.group.is_some() {
        extra.push(("enable.auto.commit", "true"));
    }
    let consumer = client.consumer(args.group.as_deref(), &extra)?;
    let partitions = match args.partition {
        Some(p) => vec![p],
        None => client.partitions(&consumer, &args.topic)?,
    };
    match (&args.group, args.partition) {
        (Some(_), None) if matches!(start, Start::Beginning | Start::End) => {
            // A group member: the group decides the partitions, committed offsets win.
            consumer.subscribe(&[&args.topic]).context("cannot subscribe")?;
        }
        (Some(_), None) => {
            bail!("--from OFFSET or TIMESTAMP with --group needs --partition (or use `group reset-offsets`)")
        }
        _ => assign(client, &consumer, &args.topic, &partitions, &start)?,
    }
    let printed = print_records(&args, client, &consumer)?;
    if args.group.is_some() && printed > 0 {
        consumer.commit_consumer_state(CommitMode::Sync).context("cannot commit the group's offsets")?;
    }
    Ok(())
}

fn assign(
    client: &Client,
    consumer: &BaseConsumer,
    topic: &str,
    partitions: &[i32],
    start: &Start,
) -> anyhow::Result<()> {
    let mut tpl = TopicPartitionList::new();
    for &p in partitions {
        let offset = match start {
            Start::Beginning => Offset::Beginning,
            Start::End => Offset::End,
            Start::Offset(o) => Offset::Offset(*o),
            Start::Timestamp(t) => Offset::Offset(*t),
        };
        tpl.add_partition_offset(topic, p, offset)?;
    }
    if matches!(start, Start::Timestamp(_)) {
        tpl = consumer.offsets_for_times(tpl, client.timeout).context("cannot look up offsets by time")?;
    }
    consumer.assign(&tpl).context("cannot assign partitions")
}

/// Prints records until every partition reached its end (or forever with `--follow`).
fn print_records(args: &ConsumeArgs, client: &Client, consumer: &BaseConsumer) -> anyhow::Result<u64> {
    let mut at_end: HashSet<i32> = HashSet::new();
    let mut printed = 0u64;
    let mut last_progress = Instant::now();
    let mut out = std::io::stdout().lock();
    loop {
        if args.count.is_some_and(|n| printed >= n) {
            break;
        }
        match consumer.poll(Duration::from_millis(200)) {
            Some(Ok(message)) => {
                at_end.remove(&message.partition());
                let line = if client.json() { json_line(&message) } else { format_line(&args.format, &message) };
                if writeln!(out, "{line}").is_err() {
                    break; // The reader went away (a closed pipe): stop quietly.
                }
                printed += 1;
                last_progress = Instant::now();
            }
            Some(Err(KafkaError::PartitionEOF(p))) => {
                at_end.insert(p);
                last_progress = Instant::now();
            }
            Some(Err(e)) => bail!("cannot consume from '{}': {e}", args.topic),
            None => {
                if !args.follow && last_progress.elapsed() > client.timeout {
                    bail!("no answer from the broker at {} within {:?}", client.brokers, client.timeout);
                }
            }
        }
        if !args.follow {
            let assigned: HashSet<i32> =
                consumer.assignment().map(|a| a.elements().iter().map(|e| e.partition()).collect()).unwrap_or_default();
            if !assigned.is_empty() && assigned.is_subset(&at_end) {
                break;
            }
        }
    }
    let _ = out.flush();
    Ok(printed)
}

fn text(bytes: Option<&[u8]>) -> String {
    bytes.map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default()
}

fn headers(message: &BorrowedMessage<'_>) -> Vec<(String, String)> {
    message.headers().map_or_else(Vec::new, |h| h.iter().map(|h| (h.key.to_string(), text(h.value))).collect())
}

fn format_line(format: &str, message: &BorrowedMessage<'_>) -> String {
    let headers: Vec<String> = headers(message).into_iter().map(|(k, v)| format!("{k}={v}")).collect();
    format
        .replace("{topic}", message.topic())
        .replace("{partition}", &message.partition().to_string())
        .replace("{offset}", &message.offset().to_string())
        .replace("{timestamp}", &message.timestamp().to_millis().unwrap_or(-1).to_string())
        .replace("{headers}", &headers.join(","))
        .replace("{key}", &text(message.key()))
        .replace("{value}", &text(message.payload()))
        .replace("\\t", "\t")
}

fn json_line(message: &BorrowedMessage<'_>) -> String {
    let headers: serde_json::Map<String, serde_json::Value> =
        headers(message).into_iter().map(|(k, v)| (k, json!(v))).collect();
    json!({
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "timestamp": message.timestamp().to_millis(),
        "key": message.key().map(|k| String::from_utf8_lossy(k).into_owned()),
        "value": message.payload().map(|v| String::from_utf8_lossy(v).into_owned()),
        "headers": headers,
    })
    .to_string()
}
