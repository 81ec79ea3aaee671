//! `tidelog topic|produce|consume|group|perf|cluster`: the tools Kafka users know
//! (kafka-topics, the console producer and consumer, kafka-consumer-groups, the perf
//! tests, kcat) as subcommands of the one binary. They talk to any broker over the Kafka
//! protocol through librdkafka, so they work against tidelog and Kafka alike.
//!
//! Tables for people by default, `--output json` for scripts; an error is one line on
//! stderr and a non-zero exit status.

mod client;
mod cluster;
mod consume;
mod group;
mod output;
mod perf;
mod produce;
mod topic;

use clap::{Args, Subcommand, ValueEnum};

pub use client::Client;

/// How to reach the broker and how to print; shared by every subcommand.
#[derive(Args, Debug, Clone)]
pub struct ClientArgs {
    /// Bootstrap broker(s), HOST:PORT[,HOST:PORT]
    #[arg(long, env = "TIDELOG_BROKERS", default_value = "127.0.0.1:9092", global = true)]
    pub brokers: String,
    /// Output format
    #[arg(long, value_enum, default_value_t = Output::Table, global = true)]
    pub output: Output,
    /// How long to wait for the broker, in milliseconds
    #[arg(long, default_value_t = 10_000, global = true)]
    pub timeout_ms: u64,
}

#[derive(ValueEnum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Output {
    Table,
    Json,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Create, list, describe, delete and configure topics
    #[command(subcommand)]
    Topic(topic::TopicCommand),
    /// Write records from stdin (one per line) or a file
    Produce(produce::ProduceArgs),
    /// Read records and print them
    Consume(consume::ConsumeArgs),
    /// List, describe, delete consumer groups and reset their offsets
    #[command(subcommand)]
    Group(group::GroupCommand),
    /// Measure produce or consume throughput and latency
    #[command(subcommand)]
    Perf(perf::PerfCommand),
    /// Show the cluster: id, brokers, controller
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
}

/// Runs one subcommand to completion.
pub fn run(command: Command, args: &ClientArgs) -> anyhow::Result<()> {
    let client = Client::new(args);
    match command {
        Command::Topic(c) => topic::run(c, &client),
        Command::Produce(a) => produce::run(a, &client),
        Command::Consume(a) => consume::run(a, &client),
        Command::Group(c) => group::run(c, &client),
        Command::Perf(c) => perf::run(c, &client),
        Command::Cluster(c) => cluster::run(c, &client),
    }
}
