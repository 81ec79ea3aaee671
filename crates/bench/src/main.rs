//! `tidelog-bench`: the benchmark runner (see the performance brief). Measures this
//! machine's limits and the broker in one run, prints a table and writes JSON under
//! `bench/results/`. Not a test: nothing here passes or fails on timing.

mod broker_process;
mod connections;
mod group_load;
mod kafka_load;
mod kinesis_load;
mod limits;
mod raw_load;
mod report;
mod retained;
mod scale;

use std::path::PathBuf;

use clap::{Parser, ValueEnum};

use broker_process::BrokerProcess;
use kafka_load::{Delivery, LoadResult, ProduceSpec};
use limits::MachineLimits;
use report::{CpuUsed, Report, Row};

#[derive(Parser)]
#[command(about = "tidelog benchmark runner")]
struct Cli {
    /// Which scenarios to run.
    #[arg(value_enum, default_value = "all")]
    suite: Suite,
    /// Records per 1 KiB scenario (the 100 B scenario sends 4x as many).
    #[arg(long, default_value_t = 500_000)]
    records: u64,
    /// Where the broker's data directory and the disk-limit files go.
    #[arg(long)]
    work_dir: Option<PathBuf>,
    /// Partition counts of the scale rows, one broker each.
    #[arg(long, value_delimiter = ',', default_value = "1000,10000")]
    scale_partitions: Vec<i32>,
    /// Client connections of the connection row.
    #[arg(long, default_value_t = 1000)]
    connections: usize,
    /// GiB produced before the restart rows (clean stop and kill -9).
    #[arg(long, default_value_t = 2.0)]
    restart_gib: f64,
    /// Where the JSON result is written.
    #[arg(long, default_value = "bench/results")]
    out: PathBuf,
}

#[derive(Clone, Copy, ValueEnum, PartialEq)]
enum Suite {
    All,
    /// The librdkafka rows: produce, consume from the page cache, produce under churn.
    Produce,
    /// The delivery-guarantee rows only: plain, idempotent and transactional produce.
    Guarantees,
    /// The Kinesis rows only: PutRecords and GetRecords from one client.
    Kinesis,
    /// The broker-alone rows only: pre-encoded produce and fetch requests over plain TCP.
    Broker,
    /// The latency rows only: produce and end-to-end latency at a fixed moderate rate.
    Latency,
    /// The scale rows only: many connections, many partitions.
    Scale,
    /// The retained-data rows only: fill `--restart-gib` GiB, then restart after a clean
    /// stop and after kill -9 (`scripts/bench-retained.sh` runs it for 100 GiB).
    Retained,
}

impl Cli {
    fn runs(&self, suite: Suite) -> bool {
        self.suite == Suite::All || self.suite == suite
    }
}

const PARTITIONS: i32 = 8;

/// Plain, idempotent and transactional (100 ms transactions) produce at acks=all, each
/// as a ratio to the plain row: the cost of each delivery guarantee.
async fn guarantee_rows(broker: &BrokerProcess, records: u64) -> anyhow::Result<Vec<Row>> {
    let bootstrap = broker.bootstrap.as_str();
    let modes = [
        // Idempotent clients keep at most 5 requests in flight; so does this baseline, so
        // that the ratios show the broker's cost of each guarantee, not the client's cap.
        ("produce 1 KiB, acks=all, plain, 5 in flight (guarantee baseline)", "g-plain", Delivery::Plain),
        ("produce 1 KiB, acks=all, idempotent", "g-idempotent", Delivery::Idempotent),
        (
            "produce 1 KiB, acks=all, transactional, 100 ms transactions",
            "g-txn",
            Delivery::Transactional { commit_every_ms: 100 },
        ),
    ];
    let mut rows: Vec<Row> = Vec::new();
    for (name, topic, delivery) in modes {
        eprintln!("running: {name}");
        kafka_load::create_topic(bootstrap, topic, PARTITIONS).await?;
        let spec = ProduceSpec {
            acks: "all",
            delivery,
            max_in_flight: Some(5),
            ..ProduceSpec::kib_records(topic, PARTITIONS, records)
        };
        let bs = bootstrap.to_string();
        let (result, cpu) = run_load(broker, move || kafka_load::produce(&bs, &spec)).await?;
        let mut row = Row::new(name, &result, broker.rss_mib(), None).with_cpu(cpu, result.payload_bytes);
        if let Some(plain) = rows.first().map(|r| r.mb_per_s) {
            row.limit = Some("the plain acks=all row".into());
            row.ratio_to_limit = Some(row.mb_per_s / plain);
        }
        rows.push(row);
    }
    // The same comparison without librdkafka: one connection, 5 requests in flight, the
    // idempotent one stamping producer id and sequences as a client would.
    let mut plain = None;
    for (name, topic, idempotent) in [
        ("broker alone: produce 1 KiB, acks=all, plain, 1 connection, 5 in flight", "g-raw-plain", false),
        ("broker alone: produce 1 KiB, acks=all, idempotent, 1 connection, 5 in flight", "g-raw-idempotent", true),
    ] {
        eprintln!("running: {name}");
        kafka_load::create_topic(bootstrap, topic, PARTITIONS).await?;
        let spec = raw_load::RawProduce {
            acks: -1,
            connections: 1,
            in_flight: 5,
            idempotent,
            ..raw_load::RawProduce::kib_records(topic, PARTITIONS, records)
        };
        let bs = bootstrap.to_string();
        let (result, cpu) = run_load(broker, move || raw_load::produce(&bs, &spec)).await?;
        let mut row = Row::new(name, &result, broker.rss_mib(), None).with_cpu(cpu, result.payload_bytes);
        if let Some(plain) = plain {
            row.limit = Some("the broker-alone plain row".into());
            row.ratio_to_limit = Some(row.mb_per_s / plain);
        }
        plain = Some(row.mb_per_s);
        rows.push(row);
    }
    Ok(rows)
}

/// PutRecords (500 × 1 KiB per call) then GetRecords of everything, one client each.
async fn kinesis_rows(broker: &BrokerProcess, records: u64) -> anyhow::Result<Vec<Row>> {
    const SHARDS: u32 = 4;
    let url = broker.kinesis_url.clone();
    let calls = (records / 500).max(1);
    let put_name = "kinesis PutRecords 500 × 1 KiB, 4 shards, one client";
    eprintln!("running: {put_name}");
    {
        let url = url.clone();
        tokio::task::spawn_blocking(move || kinesis_load::create_stream(&url, "k-bench", SHARDS)).await??;
    }
    let (put, put_cpu) = {
        let url = url.clone();
        run_load(broker, move || kinesis_load::put_records(&url, "k-bench", calls, 1024)).await?
    };
    let get_name = "kinesis GetRecords (Limit 10000), 4 shards, one client";
    eprintln!("running: {get_name}");
    let expected = put.records;
    let (get, get_cpu) = run_load(broker, move || kinesis_load::get_records(&url, "k-bench", SHARDS, expected)).await?;
    Ok(vec![
        Row::new(put_name, &put, broker.rss_mib(), None).with_cpu(put_cpu, put.payload_bytes),
        Row::new(get_name, &get, broker.rss_mib(), None).with_cpu(get_cpu, get.payload_bytes),
    ])
}

/// Runs one blocking load against `broker`, measuring the CPU both sides spend on it.
async fn run_load<F>(broker: &BrokerProcess, load: F) -> anyhow::Result<(LoadResult, CpuUsed)>
where
    F: FnOnce() -> anyhow::Result<LoadResult> + Send + 'static,
{
    let client_cpu = || broker_process::process_cpu_seconds("/proc/self/stat");
    let (broker_before, client_before) = (broker.cpu_seconds(), client_cpu());
    let result = tokio::task::spawn_blocking(load).await??;
    let cpu =
        CpuUsed { broker_seconds: broker.cpu_seconds() - broker_before, client_seconds: client_cpu() - client_before };
    Ok((result, cpu))
}

/// The librdkafka produce rows, consume from the page cache, and produce under churn.
async fn produce_rows(broker: &BrokerProcess, machine: &MachineLimits, cli: &Cli) -> anyhow::Result<Vec<Row>> {
    let bootstrap = broker.bootstrap.as_str();
    let mut rows = Vec::new();
    let scenarios: [(&str, &str, &str, usize, u64); 3] = [
        ("produce 1 KiB, 8 partitions, acks=1, linger 5 ms", "p-acks1", "1", 1024, cli.records),
        ("produce 1 KiB, 8 partitions, acks=all (fsync, group commit)", "p-acksall", "all", 1024, cli.records),
        ("produce 100 B, 8 partitions, acks=1 (per-record overhead)", "p-small", "1", 100, cli.records * 4),
    ];
    for (name, topic, acks, size, records) in scenarios {
        eprintln!("running: {name}");
        kafka_load::create_topic(bootstrap, topic, PARTITIONS).await?;
        let spec = ProduceSpec { record_bytes: size, acks, ..ProduceSpec::kib_records(topic, PARTITIONS, records) };
        let bs = bootstrap.to_string();
        let (result, cpu) = run_load(broker, move || kafka_load::produce(&bs, &spec)).await?;
        let limit = match acks {
            "all" => Some(("fdatasync-every-1-MiB", machine.fdatasync_1mib_mb_s)),
            _ if size >= 1024 => Some(("buffered disk write", machine.buffered_write_mb_s)),
            _ => None,
        };
        rows.push(Row::new(name, &result, broker.rss_mib(), limit).with_cpu(cpu, result.payload_bytes));
    }
    let name = "consume 1 KiB from page cache, 8 partitions";
    eprintln!("running: {name}");
    let (bs, records) = (bootstrap.to_string(), cli.records);
    let (result, cpu) = run_load(broker, move || kafka_load::consume(&bs, "p-acks1", PARTITIONS, records)).await?;
    let limit = Some(("loopback TCP", machine.loopback_tcp_mb_s));
    rows.push(Row::new(name, &result, broker.rss_mib(), limit).with_cpu(cpu, result.payload_bytes));

    let name = "produce 1 KiB, acks=1, while compaction and retention run";
    eprintln!("running: {name}");
    kafka_load::create_topic_with(
        bootstrap,
        "p-churn",
        PARTITIONS,
        &[("cleanup.policy", "compact,delete"), ("segment.bytes", "1048576"), ("retention.bytes", "33554432")],
    )
    .await?;
    let spec = ProduceSpec::kib_records("p-churn", PARTITIONS, cli.records);
    let bs = bootstrap.to_string();
    let (result, cpu) = run_load(broker, move || kafka_load::produce(&bs, &spec)).await?;
    let quiet = rows.first().map(|r| r.mb_per_s).unwrap_or(1.0);
    let mut row = Row::new(name, &result, broker.rss_mib(), None).with_cpu(cpu, result.payload_bytes);
    row.limit = Some("the quiet acks=1 row".into());
    row.ratio_to_limit = Some(row.mb_per_s / quiet);
    rows.push(row);
    Ok(rows)
}

/// The same produce and consume with pre-encoded requests: what the broker sustains
/// when the client costs next to nothing.
async fn broker_alone_rows(broker: &BrokerProcess, machine: &MachineLimits, records: u64) -> anyhow::Result<Vec<Row>> {
    let bootstrap = broker.bootstrap.as_str();
    let mut rows = Vec::new();
    let scenarios = [
        ("broker alone: produce 1 KiB, 8 partitions, acks=1, pre-encoded requests", "r-acks1", 1i16),
        ("broker alone: produce 1 KiB, 8 partitions, acks=all, pre-encoded requests", "r-acksall", -1),
    ];
    for (name, topic, acks) in scenarios {
        eprintln!("running: {name}");
        kafka_load::create_topic(bootstrap, topic, PARTITIONS).await?;
        let spec = raw_load::RawProduce { acks, ..raw_load::RawProduce::kib_records(topic, PARTITIONS, records) };
        let bs = bootstrap.to_string();
        let (result, cpu) = run_load(broker, move || raw_load::produce(&bs, &spec)).await?;
        let limit = match acks {
            -1 => ("fdatasync-every-1-MiB", machine.fdatasync_1mib_mb_s),
            _ => ("buffered disk write", machine.buffered_write_mb_s),
        };
        rows.push(Row::new(name, &result, broker.rss_mib(), Some(limit)).with_cpu(cpu, result.payload_bytes));
    }
    let name = "broker alone: fetch 1 KiB records from page cache, 8 partitions, one Fetch in flight";
    eprintln!("running: {name}");
    let bs = bootstrap.to_string();
    let (result, cpu) = run_load(broker, move || raw_load::fetch(&bs, "r-acks1", PARTITIONS, records, 1024)).await?;
    let limit = Some(("loopback TCP", machine.loopback_tcp_mb_s));
    rows.push(Row::new(name, &result, broker.rss_mib(), limit).with_cpu(cpu, result.payload_bytes));
    Ok(rows)
}

/// Produce and end-to-end latency at a fixed moderate rate (20 MB/s of 1 KiB records).
async fn latency_rows(broker: &BrokerProcess) -> anyhow::Result<Vec<Row>> {
    const RATE: u64 = 20_000;
    const SECONDS: u64 = 15;
    eprintln!("running: latency at 20 MB/s");
    // Moderate load means an otherwise quiet machine: the rows before leave gigabytes of
    // dirty pages whose writeback would otherwise run during this one.
    std::process::Command::new("sync").status()?;
    kafka_load::create_topic(&broker.bootstrap, "l-latency", PARTITIONS).await?;
    let bs = broker.bootstrap.clone();
    let result = tokio::task::spawn_blocking(move || {
        kafka_load::latency_at_rate(&bs, "l-latency", PARTITIONS, RATE, RATE * SECONDS, 1024)
    })
    .await??;
    let rss = broker.rss_mib();
    Ok(vec![
        Row::new("latency at 20 MB/s, 1 KiB, acks=1, linger 1 ms: produce (send → ack)", &result.produce, rss, None),
        Row::new(
            "latency at 20 MB/s, 1 KiB, acks=1, linger 1 ms: end to end (send → consumer)",
            &result.end_to_end,
            rss,
            None,
        ),
    ])
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    let work = match &cli.work_dir {
        Some(dir) => tempfile::tempdir_in(dir)?,
        None => tempfile::tempdir_in(".")?,
    };
    eprintln!("measuring machine limits in {}", work.path().display());
    let machine = limits::measure(work.path()).await?;
    let bin = broker_process::sibling_binary()?;
    // Retention and compaction run every second, so that the churn row exercises them.
    let broker = BrokerProcess::start(&bin, &work.path().join("data"), &["log.retention.check.interval.ms=1000"])?;
    let bootstrap = broker.bootstrap.clone();
    let mut rows = Vec::new();

    if cli.runs(Suite::Produce) {
        rows.extend(produce_rows(&broker, &machine, &cli).await?);
    }
    if cli.runs(Suite::Broker) {
        rows.extend(broker_alone_rows(&broker, &machine, cli.records).await?);
    }
    if cli.runs(Suite::Latency) {
        rows.extend(latency_rows(&broker).await?);
    }
    if cli.runs(Suite::Guarantees) {
        rows.extend(guarantee_rows(&broker, cli.records).await?);
    }
    if cli.runs(Suite::Kinesis) {
        rows.extend(kinesis_rows(&broker, cli.records).await?);
    }
    if cli.runs(Suite::Scale) {
        eprintln!("running: {} connections", cli.connections);
        kafka_load::create_topic(&bootstrap, "c-connections", PARTITIONS).await?;
        let count = cli.connections;
        let load = move |broker: &BrokerProcess| connections::rows(broker, "c-connections", PARTITIONS, count);
        rows.extend(tokio::task::block_in_place(|| load(&broker))?);
    }

    if cli.suite == Suite::All {
        let name = "consumer group: 3 members join, 6 partitions (default settings)";
        eprintln!("running: {name}");
        kafka_load::create_topic(&bootstrap, "g-rebalance", 6).await?;
        let bs = bootstrap.clone();
        let seconds =
            tokio::task::spawn_blocking(move || group_load::rebalance_seconds(&bs, "g-rebalance", "bench-group", 3, 6))
                .await??;
        rows.push(Row::timing(name, seconds, broker.rss_mib()));
    }
    let broker = if cli.runs(Suite::Retained) {
        let (restart_rows, restarted) = retained::rows(broker, &machine, PARTITIONS, cli.restart_gib).await?;
        rows.extend(restart_rows);
        restarted
    } else {
        broker
    };
    broker.stop()?;

    if cli.runs(Suite::Scale) {
        for &partitions in &cli.scale_partitions {
            eprintln!("running: {partitions} partitions");
            let dir = work.path().join(format!("scale-{partitions}"));
            rows.extend(scale::partitions_rows(&bin, &dir, partitions).await?);
        }
    }

    let report = Report { started_at: format!("{:?}", std::time::SystemTime::now()), machine, rows };
    println!("{}", report.table());
    std::fs::create_dir_all(&cli.out)?;
    let stamp = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH)?.as_secs();
    let path = cli.out.join(format!("run-{stamp}.json"));
    std::fs::write(&path, serde_json::to_string_pretty(&report)?)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}
