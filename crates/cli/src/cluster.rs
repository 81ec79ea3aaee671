//! `tidelog cluster info`: the cluster id, its brokers, and how many topics and
//! partitions it holds.

use anyhow::Context;
use clap::Subcommand;
use rdkafka::consumer::Consumer;
use serde_json::json;

use crate::client::Client;
use crate::output::{self, Table};

#[derive(Subcommand, Debug)]
pub enum ClusterCommand {
    /// Cluster id, brokers, topic and partition counts
    Info,
}

pub fn run(command: ClusterCommand, client: &Client) -> anyhow::Result<()> {
    match command {
        ClusterCommand::Info => info(client),
    }
}

fn info(client: &Client) -> anyhow::Result<()> {
    let consumer = client.consumer(None, &[])?;
    let metadata = consumer.fetch_metadata(None, client.timeout).with_context(|| client.unreachable())?;
    let cluster_id = consumer.client().fetch_cluster_id(client.timeout).unwrap_or_default();
    let brokers: Vec<_> = metadata.brokers().iter().map(|b| (b.id(), b.host().to_string(), b.port())).collect();
    let topics = metadata.topics().iter().filter(|t| !t.name().starts_with("__")).count();
    let partitions: usize = metadata.topics().iter().map(|t| t.partitions().len()).sum();
    if client.json() {
        let list: Vec<_> =
            brokers.iter().map(|(id, host, port)| json!({ "id": id, "host": host, "port": port })).collect();
        output::json(&json!({ "cluster_id": cluster_id, "brokers": list, "topics": topics, "partitions": partitions }));
        return Ok(());
    }
    println!("Cluster ID: {cluster_id}");
    println!("Topics: {topics}  Partitions: {partitions} (internal topics included)");
    let mut table = Table::new(&["BROKER", "HOST", "PORT"]);
    for (id, host, port) in brokers {
        table.row(vec![id.to_string(), host, port.to_string()]);
    }
    table.print();
    Ok(())
}
