//! Many client connections on one broker: memory held per idle connection, request
//! latency while they stay open, and one produce from each of them at once.

use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use anyhow::ensure;

use crate::broker_process::BrokerProcess;
use crate::kafka_load::LoadResult;
use crate::raw_load;
use crate::report::Row;

/// Opens `count` connections to `broker` (a topic `topic` with `partitions` must exist).
pub fn rows(broker: &BrokerProcess, topic: &str, partitions: i32, count: usize) -> anyhow::Result<Vec<Row>> {
    let rss_before = broker.rss_mib();
    let mut streams = Vec::with_capacity(count);
    for _ in 0..count {
        let stream = TcpStream::connect(&broker.bootstrap)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_secs(60)))?;
        streams.push(stream);
    }
    // Every connection makes one request first, so the broker has set each one up fully.
    let metadata = raw_load::metadata_frame(topic)?;
    let mut latencies = Vec::with_capacity(count);
    for stream in &mut streams {
        let sent = Instant::now();
        stream.write_all(&metadata)?;
        let response = raw_load::read_metadata(stream)?;
        latencies.push(sent.elapsed().as_secs_f64() * 1e3);
        ensure!(response.topics.iter().any(|t| t.partitions.len() == partitions as usize), "metadata lacks {topic}");
    }
    let idle_rss = broker.rss_mib();
    let metadata_row = Row::new(
        &format!(
            "{count} connections open: Metadata request on each in turn (RSS {rss_before:.0} MiB before they opened)"
        ),
        &LoadResult { records: 0, payload_bytes: 0, elapsed: Duration::from_secs(1), latencies_ms: latencies },
        idle_rss,
        None,
    );

    // All connections produce one 16 × 1 KiB batch to one partition each, at once.
    const BATCH_RECORDS: usize = 16;
    let batch = raw_load::record_batch(BATCH_RECORDS, 1024)?;
    let frames: Vec<Vec<u8>> = (0..partitions)
        .map(|p| {
            raw_load::frame(
                kafka_protocol::messages::ApiKey::Produce,
                raw_load::PRODUCE_VERSION,
                &one_partition(topic, p, &batch),
            )
        })
        .collect::<anyhow::Result<_>>()?;
    let started = Instant::now();
    for (i, stream) in streams.iter_mut().enumerate() {
        stream.write_all(&frames[i % frames.len()])?;
    }
    let mut latencies = Vec::with_capacity(count);
    for stream in &mut streams {
        raw_load::check_produced(&raw_load::read_produce(stream)?)?;
        latencies.push(started.elapsed().as_secs_f64() * 1e3);
    }
    let records = (count * BATCH_RECORDS) as u64;
    let burst =
        LoadResult { records, payload_bytes: records * 1024, elapsed: started.elapsed(), latencies_ms: latencies };
    let produce_row = Row::new(
        &format!("{count} connections: one 16 × 1 KiB produce from each at once (latency from the burst's start)"),
        &burst,
        broker.rss_mib(),
        None,
    );
    drop(streams);
    Ok(vec![metadata_row, produce_row])
}

fn one_partition(topic: &str, partition: i32, batch: &bytes::Bytes) -> kafka_protocol::messages::ProduceRequest {
    let mut request = raw_load::produce_request(topic, 1, 1, batch);
    request.topic_data[0].partition_data[0].index = partition;
    request
}
