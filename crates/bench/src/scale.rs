//! Scale rows: many partitions on one broker — creation time, idle memory, Metadata
//! latency, and time to ready after a clean and an unclean stop.

use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::broker_process::BrokerProcess;
use crate::report::Row;

/// Runs on its own broker and data directory so the other rows are unaffected.
pub async fn partitions_rows(
    bin: &std::path::Path,
    dir: &std::path::Path,
    partitions: i32,
) -> anyhow::Result<Vec<Row>> {
    let broker = BrokerProcess::start(bin, dir, &[])?;
    let started = Instant::now();
    crate::kafka_load::create_topic(&broker.bootstrap, "p-scale", partitions).await?;
    let created = started.elapsed().as_secs_f64();
    let mut rows = vec![Row::timing(&format!("{partitions} partitions: create topic"), created, broker.rss_mib())];

    let client: BaseConsumer = ClientConfig::new().set("bootstrap.servers", &broker.bootstrap).create()?;
    let mut latencies = Vec::new();
    for _ in 0..20 {
        let t = Instant::now();
        let metadata = client.fetch_metadata(None, Duration::from_secs(30))?;
        latencies.push(t.elapsed().as_secs_f64());
        anyhow::ensure!(metadata.topics().iter().any(|t| t.partitions().len() == partitions as usize));
    }
    latencies.sort_by(f64::total_cmp);
    drop(client);
    rows.push(Row::timing(
        &format!("{partitions} partitions: Metadata request (p50 of 20)"),
        latencies[10],
        broker.rss_mib(),
    ));

    let (broker, unclean) = broker.kill_and_restart()?;
    rows.push(Row::timing(&format!("{partitions} partitions: ready after kill -9"), unclean, broker.rss_mib()));
    let (broker, clean) = broker.stop_and_restart()?;
    rows.push(Row::timing(
        &format!("{partitions} partitions: ready after a clean stop (idle RSS)"),
        clean,
        broker.rss_mib(),
    ));
    broker.stop()?;
    Ok(rows)
}
