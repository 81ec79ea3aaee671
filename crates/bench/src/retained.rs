//! The retained-data rows: time to ready after a clean stop and after `kill -9` with many
//! GiB stored. Startup may grow with the number of segments, never with the bytes in them;
//! every restart is checked to bring back the same log end offsets.

use std::path::Path;
use std::time::Duration;

use anyhow::ensure;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::broker_process::BrokerProcess;
use crate::limits::MachineLimits;
use crate::report::Row;
use crate::{kafka_load, raw_load};

const TOPIC: &str = "p-retained";

/// Bytes in all files below `dir`.
fn dir_bytes(dir: &Path) -> u64 {
    std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| match e.file_type() {
            Ok(t) if t.is_dir() => dir_bytes(&e.path()),
            _ => e.metadata().map_or(0, |m| m.len()),
        })
        .sum()
}

/// Each partition's log end offset, as a client sees it.
fn log_end_offsets(bootstrap: &str, partitions: i32) -> anyhow::Result<Vec<i64>> {
    let consumer: BaseConsumer = ClientConfig::new().set("bootstrap.servers", bootstrap).create()?;
    (0..partitions).map(|p| Ok(consumer.fetch_watermarks(TOPIC, p, Duration::from_secs(30))?.1)).collect()
}

/// Adds `gib` GiB of 1 KiB records to `broker` (pre-encoded requests, acks=1), then stops
/// it cleanly and with `kill -9`, timing each restart. Returns the rows and the broker
/// still running.
pub async fn rows(
    broker: BrokerProcess,
    machine: &MachineLimits,
    partitions: i32,
    gib: f64,
) -> anyhow::Result<(Vec<Row>, BrokerProcess)> {
    eprintln!("running: fill with {gib} GiB, then restart after a clean stop and after kill -9");
    kafka_load::create_topic(&broker.bootstrap, TOPIC, partitions).await?;
    let records = (gib * 1024.0 * 1024.0) as u64;
    let bootstrap = broker.bootstrap.clone();
    let fill = tokio::task::spawn_blocking(move || {
        raw_load::produce(&bootstrap, &raw_load::RawProduce::kib_records(TOPIC, partitions, records))
    })
    .await??;
    let limit = Some(("buffered disk write", machine.buffered_write_mb_s));
    let mut rows = vec![Row::new(
        &format!("broker alone: fill {gib} GiB, 1 KiB, {partitions} partitions, acks=1"),
        &fill,
        broker.rss_mib(),
        limit,
    )];

    let offsets = |bootstrap: String| tokio::task::spawn_blocking(move || log_end_offsets(&bootstrap, partitions));
    let expected = offsets(broker.bootstrap.clone()).await??;
    let stored_gib = dir_bytes(broker.data_dir()) as f64 / (1u64 << 30) as f64;

    let (broker, seconds) = broker.stop_and_restart()?;
    rows.push(Row::timing(
        &format!("ready after clean stop with {stored_gib:.1} GiB stored"),
        seconds,
        broker.rss_mib(),
    ));
    let found = offsets(broker.bootstrap.clone()).await??;
    ensure!(found == expected, "after a clean stop the log end offsets are {found:?}, not {expected:?}");

    let (broker, seconds) = broker.kill_and_restart()?;
    rows.push(Row::timing(&format!("ready after kill -9 with {stored_gib:.1} GiB stored"), seconds, broker.rss_mib()));
    let found = offsets(broker.bootstrap.clone()).await??;
    ensure!(found == expected, "after kill -9 the log end offsets are {found:?}, not {expected:?}");
    Ok((rows, broker))
}
