//! `tidelog topic`: what kafka-topics and kafka-configs do for topics.

use std::collections::BTreeMap;

use anyhow::{bail, Context};
use clap::Subcommand;
use rdkafka::admin::{AlterConfig, ConfigSource, NewPartitions, NewTopic, ResourceSpecifier, TopicReplication};
use rdkafka::consumer::{BaseConsumer, Consumer};
use serde_json::json;

use crate::client::{wait, Client};
use crate::output::{self, Table};

#[derive(Subcommand, Debug)]
pub enum TopicCommand {
    /// Create a topic
    Create {
        name: String,
        #[arg(long, short = 'p')]
        partitions: Option<i32>,
        #[arg(long, short = 'r', default_value_t = 1)]
        replication_factor: i32,
        /// Topic setting under its Kafka name (repeatable), e.g. --config retention.ms=60000
        #[arg(long = "config", short = 'c', value_name = "KEY=VALUE")]
        configs: Vec<String>,
    },
    /// List topics
    List {
        /// Include internal topics (__consumer_offsets, __transaction_state)
        #[arg(long)]
        internal: bool,
    },
    /// Show partitions (offsets, leader, replicas) and settings of topics
    Describe {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Delete topics and their data
    Delete {
        #[arg(required = true)]
        names: Vec<String>,
    },
    /// Set or remove topic settings, keeping the others
    AlterConfig {
        name: String,
        #[arg(long = "set", value_name = "KEY=VALUE")]
        set: Vec<String>,
        #[arg(long = "delete", value_name = "KEY")]
        delete: Vec<String>,
    },
    /// Raise a topic's partition count
    AddPartitions {
        name: String,
        /// The new total number of partitions
        #[arg(long)]
        total: usize,
    },
}

pub fn run(command: TopicCommand, client: &Client) -> anyhow::Result<()> {
    match command {
        TopicCommand::Create { name, partitions, replication_factor, configs } => {
            create(client, &name, partitions, replication_factor, &configs)
        }
        TopicCommand::List { internal } => list(client, internal),
        TopicCommand::Describe { names } => describe(client, &names),
        TopicCommand::Delete { names } => delete(client, &names),
        TopicCommand::AlterConfig { name, set, delete } => alter_config(client, &name, &set, &delete),
        TopicCommand::AddPartitions { name, total } => add_partitions(client, &name, total),
    }
}

pub(crate) fn key_value(pair: &str) -> anyhow::Result<(&str, &str)> {
    pair.split_once('=').with_context(|| format!("expected KEY=VALUE, got '{pair}'"))
}

/// Prints what happened to each named object and fails if any failed.
fn report(
    client: &Client,
    verb: &str,
    results: Vec<Result<String, (String, rdkafka::types::RDKafkaErrorCode)>>,
) -> anyhow::Result<()> {
    let mut failed = Vec::new();
    let mut done = Vec::new();
    for r in results {
        match r {
            Ok(name) => done.push(name),
            Err((name, code)) => failed.push(format!("{name}: {code}")),
        }
    }
    if client.json() {
        output::json(&json!({ verb: done, "errors": failed }));
    } else {
        for name in &done {
            println!("{verb} topic \"{name}\".");
        }
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

fn create(client: &Client, name: &str, partitions: Option<i32>, rf: i32, configs: &[String]) -> anyhow::Result<()> {
    let pairs = configs.iter().map(|c| key_value(c)).collect::<anyhow::Result<Vec<_>>>()?;
    // -1 asks the broker for its num.partitions default.
    let mut topic = NewTopic::new(name, partitions.unwrap_or(-1), TopicReplication::Fixed(rf));
    for (k, v) in pairs {
        topic = topic.set(k, v);
    }
    let results =
        wait(client.admin()?.create_topics([&topic], &client.admin_options())).with_context(|| client.unreachable())?;
    report(client, "Created", results)
}

fn delete(client: &Client, names: &[String]) -> anyhow::Result<()> {
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    let results =
        wait(client.admin()?.delete_topics(&names, &client.admin_options())).with_context(|| client.unreachable())?;
    report(client, "Deleted", results)
}

fn list(client: &Client, internal: bool) -> anyhow::Result<()> {
    let consumer: BaseConsumer = client.consumer(None, &[])?;
    let metadata = consumer.fetch_metadata(None, client.timeout).with_context(|| client.unreachable())?;
    let mut topics: Vec<(String, usize)> = metadata
        .topics()
        .iter()
        .filter(|t| internal || !t.name().starts_with("__"))
        .map(|t| (t.name().to_string(), t.partitions().len()))
        .collect();
    topics.sort();
    if client.json() {
        let list: Vec<_> = topics.iter().map(|(n, p)| json!({ "name": n, "partitions": p })).collect();
        output::json(&json!(list));
    } else {
        let mut table = Table::new(&["TOPIC", "PARTITIONS"]);
        for (name, partitions) in topics {
            table.row(vec![name, partitions.to_string()]);
        }
        table.print();
    }
    Ok(())
}

/// The topic's settings that differ from the broker's: what AlterConfigs must resend.
fn overrides(client: &Client, name: &str) -> anyhow::Result<BTreeMap<String, (String, bool)>> {
    let spec = ResourceSpecifier::Topic(name);
    let results = wait(client.admin()?.describe_configs([&spec], &client.admin_options()))
        .with_context(|| client.unreachable())?;
    let resource = match results.into_iter().next() {
        Some(Ok(resource)) => resource,
        Some(Err(code)) => bail!("cannot describe the settings of '{name}': {code}"),
        None => bail!("no settings returned for '{name}'"),
    };
    Ok(resource
        .entries
        .into_iter()
        .map(|e| {
            let overridden = e.source == ConfigSource::DynamicTopic;
            (e.name, (e.value.unwrap_or_default(), overridden))
        })
        .collect())
}

fn describe(client: &Client, names: &[String]) -> anyhow::Result<()> {
    let consumer = client.consumer(None, &[])?;
    let committed = client.consumer(None, &[("isolation.level", "read_committed")])?;
    let mut described = Vec::new();
    for name in names {
        let metadata = consumer.fetch_metadata(Some(name), client.timeout).with_context(|| client.unreachable())?;
        let Some(topic) = metadata.topics().iter().find(|t| t.name() == name && t.error().is_none()) else {
            bail!("topic '{name}' does not exist");
        };
        let mut partitions = Vec::new();
        for p in topic.partitions() {
            let (start, high) = client.watermarks(&consumer, name, p.id())?;
            let (_, stable) = client.watermarks(&committed, name, p.id())?;
            partitions.push(json!({
                "partition": p.id(),
                "leader": p.leader(),
                "replicas": p.replicas(),
                "isr": p.isr(),
                "log_start_offset": start,
                "last_stable_offset": stable,
                "high_watermark": high,
            }));
        }
        partitions.sort_by_key(|p| p["partition"].as_i64());
        let configs = overrides(client, name)?;
        described.push(json!({
            "name": name,
            "partitions": partitions,
            "configs": configs.iter().filter(|(_, (_, o))| *o).map(|(k, (v, _))| (k.clone(), json!(v))).collect::<serde_json::Map<_, _>>(),
        }));
    }
    if client.json() {
        output::json(&json!(described));
        return Ok(());
    }
    for topic in described {
        let configs = topic["configs"].as_object().cloned().unwrap_or_default();
        let configs: Vec<String> =
            configs.iter().map(|(k, v)| format!("{k}={}", v.as_str().unwrap_or_default())).collect();
        println!(
            "Topic: {}\tPartitionCount: {}\tConfigs: {}",
            topic["name"].as_str().unwrap_or_default(),
            topic["partitions"].as_array().map_or(0, |p| p.len()),
            configs.join(",")
        );
        let mut table = Table::new(&[
            "PARTITION",
            "LEADER",
            "REPLICAS",
            "ISR",
            "LOG-START-OFFSET",
            "LAST-STABLE-OFFSET",
            "HIGH-WATERMARK",
        ]);
        for p in topic["partitions"].as_array().into_iter().flatten() {
            let list = |v: &serde_json::Value| {
                v.as_array().map(|a| a.iter().map(|x| x.to_string()).collect::<Vec<_>>().join(",")).unwrap_or_default()
            };
            table.row(vec![
                p["partition"].to_string(),
                p["leader"].to_string(),
                list(&p["replicas"]),
                list(&p["isr"]),
                p["log_start_offset"].to_string(),
                p["last_stable_offset"].to_string(),
                p["high_watermark"].to_string(),
            ]);
        }
        table.print();
    }
    Ok(())
}

fn alter_config(client: &Client, name: &str, set: &[String], delete: &[String]) -> anyhow::Result<()> {
    if set.is_empty() && delete.is_empty() {
        bail!("nothing to change: give --set KEY=VALUE or --delete KEY");
    }
    // AlterConfigs replaces a topic's whole set of overrides: resend the ones kept.
    let mut kept: BTreeMap<String, String> =
        overrides(client, name)?.into_iter().filter(|(_, (_, o))| *o).map(|(k, (v, _))| (k, v)).collect();
    for key in delete {
        kept.remove(key);
    }
    for pair in set {
        let (k, v) = key_value(pair)?;
        kept.insert(k.to_string(), v.to_string());
    }
    let mut change = AlterConfig::new(ResourceSpecifier::Topic(name));
    for (k, v) in &kept {
        change = change.set(k, v);
    }
    let results = wait(client.admin()?.alter_configs([&change], &client.admin_options()))
        .with_context(|| client.unreachable())?;
    if let Some(Err((_, code))) = results.into_iter().next() {
        bail!("cannot change the settings of '{name}': {code}");
    }
    if client.json() {
        output::json(&json!({ "topic": name, "configs": kept }));
    } else {
        println!("Updated settings of topic \"{name}\".");
    }
    Ok(())
}

fn add_partitions(client: &Client, name: &str, total: usize) -> anyhow::Result<()> {
    let change = NewPartitions::new(name, total);
    let results = wait(client.admin()?.create_partitions([&change], &client.admin_options()))
        .with_context(|| client.unreachable())?;
    if let Some(Err((_, code))) = results.into_iter().next() {
        bail!("cannot add partitions to '{name}': {code}");
    }
    if client.json() {
        output::json(&json!({ "topic": name, "partitions": total }));
    } else {
        println!("Topic \"{name}\" now has {total} partitions.");
    }
    Ok(())
}
