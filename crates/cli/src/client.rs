//! Building librdkafka clients from the shared flags, and the small lookups several
//! subcommands make (partitions of a topic, watermarks).

use std::time::Duration;

use anyhow::{bail, Context};
use rdkafka::admin::{AdminClient, AdminOptions};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::RDKafkaLogLevel;
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::ClientConfig;

use crate::{ClientArgs, Output};

pub struct Client {
    pub brokers: String,
    pub output: Output,
    pub timeout: Duration,
}

impl Client {
    pub fn new(args: &ClientArgs) -> Self {
        Client { brokers: args.brokers.clone(), output: args.output, timeout: Duration::from_millis(args.timeout_ms) }
    }

    /// The context of any failed call to the broker.
    pub fn unreachable(&self) -> String {
        format!("cannot reach the broker at {}", self.brokers)
    }

    pub fn json(&self) -> bool {
        self.output == Output::Json
    }

    /// A librdkafka configuration for this broker. librdkafka's own log lines are kept
    /// to errors: the tools report failures themselves, in one line.
    pub fn config(&self) -> ClientConfig {
        let mut config = ClientConfig::new();
        config
            .set("bootstrap.servers", &self.brokers)
            .set("client.id", "tidelog-cli")
            .set("socket.timeout.ms", self.timeout.as_millis().to_string())
            .set_log_level(RDKafkaLogLevel::Emerg);
        config
    }

    pub fn admin(&self) -> anyhow::Result<AdminClient<DefaultClientContext>> {
        self.config().create().context("cannot create an admin client")
    }

    pub fn admin_options(&self) -> AdminOptions {
        AdminOptions::new().request_timeout(Some(self.timeout)).operation_timeout(Some(self.timeout))
    }

    /// A consumer that never joins a group unless `group` is given.
    pub fn consumer(&self, group: Option<&str>, extra: &[(&str, &str)]) -> anyhow::Result<BaseConsumer> {
        let mut config = self.config();
        config.set("enable.auto.commit", "false").set("group.id", group.unwrap_or("tidelog-cli"));
        for (k, v) in extra {
            config.set(*k, *v);
        }
        config.create().context("cannot create a consumer")
    }

    /// The partition ids of `topic`, or a clear error if it does not exist.
    pub fn partitions(&self, consumer: &BaseConsumer, topic: &str) -> anyhow::Result<Vec<i32>> {
        let metadata = consumer.fetch_metadata(Some(topic), self.timeout).with_context(|| self.unreachable())?;
        let Some(t) = metadata.topics().iter().find(|t| t.name() == topic) else {
            bail!("topic '{topic}' does not exist");
        };
        if t.error().is_some() || t.partitions().is_empty() {
            bail!("topic '{topic}' does not exist");
        }
        let mut ids: Vec<i32> = t.partitions().iter().map(|p| p.id()).collect();
        ids.sort();
        Ok(ids)
    }

    /// (log start offset, high watermark) of one partition.
    pub fn watermarks(&self, consumer: &BaseConsumer, topic: &str, partition: i32) -> anyhow::Result<(i64, i64)> {
        consumer
            .fetch_watermarks(topic, partition, self.timeout)
            .with_context(|| format!("cannot read the offsets of {topic}-{partition}"))
    }
}

/// Runs an admin future to completion (librdkafka drives it from its own thread).
pub fn wait<F: std::future::Future>(future: F) -> F::Output {
    futures::executor::block_on(future)
}

/// Milliseconds since the epoch from `@1700000000000` or an RFC 3339 date
/// (`2026-11-22T10:00:00Z`; without a zone it is read as UTC).
pub fn parse_time(text: &str) -> anyhow::Result<i64> {
    if let Some(ms) = text.strip_prefix('@') {
        return ms.parse().with_context(|| format!("'{text}' is not @MILLISECONDS"));
    }
    let time = humantime::parse_rfc3339_weak(text)
        .with_context(|| format!("'{text}' is not a date like 2026-11-22T10:00:00Z or @MILLISECONDS"))?;
    let since = time.duration_since(std::time::UNIX_EPOCH).context("dates before 1970 are not offsets")?;
    Ok(since.as_millis() as i64)
}
