//! Consumer-group rebalance time: librdkafka consumers with default settings subscribe
//! together; measured from the first subscribe until every partition is owned once.

use std::time::{Duration, Instant};

use anyhow::bail;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

/// Seconds until `members` consumers of `group` jointly own all `partitions` of `topic`.
pub fn rebalance_seconds(
    bootstrap: &str,
    topic: &str,
    group: &str,
    members: usize,
    partitions: usize,
) -> anyhow::Result<f64> {
    let consumers: Vec<BaseConsumer> = (0..members)
        .map(|_| ClientConfig::new().set("bootstrap.servers", bootstrap).set("group.id", group).create())
        .collect::<Result<_, _>>()?;
    let started = Instant::now();
    for c in &consumers {
        c.subscribe(&[topic])?;
    }
    while started.elapsed() < Duration::from_secs(120) {
        for c in &consumers {
            let _ = c.poll(Duration::from_millis(10));
        }
        let owned: usize = consumers.iter().map(|c| c.assignment().map_or(0, |a| a.count())).sum();
        let everyone = consumers.iter().all(|c| c.assignment().is_ok_and(|a| a.count() > 0));
        if owned == partitions && everyone {
            return Ok(started.elapsed().as_secs_f64());
        }
    }
    bail!("group {group} did not settle within 120 s")
}
