//! `tidelog group`: what kafka-consumer-groups does — list, describe with lag, delete,
//! and reset committed offsets (a dry run unless `--execute`).

use std::collections::{BTreeMap, BTreeSet};

use anyhow::{bail, Context};
use clap::{Args, Subcommand};
use rdkafka::consumer::{BaseConsumer, CommitMode, Consumer};
use rdkafka::groups::GroupInfo;
use rdkafka::{Offset, TopicPartitionList};
use serde_json::json;
use tidelog_broker::group::decode_consumer_assignment;

use crate::client::{parse_time, wait, Client};
use crate::output::{self, or_dash, Table};

#[derive(Subcommand, Debug)]
pub enum GroupCommand {
    /// List consumer groups with their state
    List,
    /// Show a group's members, committed offsets and lag per partition
    Describe { group: String },
    /// Delete groups (they must have no members)
    Delete {
        #[arg(required = true)]
        groups: Vec<String>,
    },
    /// Move a group's committed offsets (the group must have no members)
    ResetOffsets(ResetArgs),
}

#[derive(Args, Debug)]
pub struct ResetArgs {
    pub group: String,
    #[arg(long, short = 't')]
    pub topic: String,
    /// Only these partitions (repeatable; default: all)
    #[arg(long, short = 'p')]
    pub partition: Vec<i32>,
    #[arg(long, group = "to")]
    pub to_earliest: bool,
    #[arg(long, group = "to")]
    pub to_latest: bool,
    #[arg(long, group = "to", value_name = "OFFSET")]
    pub to_offset: Option<i64>,
    /// 2026-11-22T10:00:00Z or @MILLISECONDS
    #[arg(long, group = "to", value_name = "DATETIME")]
    pub to_datetime: Option<String>,
    #[arg(long, group = "to", value_name = "N", allow_hyphen_values = true)]
    pub shift_by: Option<i64>,
    /// Commit the new offsets (without it, only show them)
    #[arg(long)]
    pub execute: bool,
}

pub fn run(command: GroupCommand, client: &Client) -> anyhow::Result<()> {
    match command {
        GroupCommand::List => list(client),
        GroupCommand::Describe { group } => describe(client, &group),
        GroupCommand::Delete { groups } => delete(client, &groups),
        GroupCommand::ResetOffsets(args) => reset(client, &args),
    }
}

fn group_info(client: &Client, consumer: &BaseConsumer, group: Option<&str>) -> anyhow::Result<Vec<GroupInfoOwned>> {
    let list = consumer.fetch_group_list(group, client.timeout).with_context(|| client.unreachable())?;
    Ok(list.groups().iter().map(GroupInfoOwned::from).collect())
}

/// What the tools need of a group, copied out of librdkafka's borrowed list.
struct GroupInfoOwned {
    name: String,
    state: String,
    protocol_type: String,
    members: Vec<Member>,
}

#[derive(Clone)]
struct Member {
    id: String,
    client_id: String,
    host: String,
    assigned: Vec<(String, i32)>,
}

impl From<&GroupInfo> for GroupInfoOwned {
    fn from(g: &GroupInfo) -> Self {
        GroupInfoOwned {
            name: g.name().to_string(),
            state: g.state().to_string(),
            protocol_type: g.protocol_type().to_string(),
            members: g
                .members()
                .iter()
                .map(|m| Member {
                    id: m.id().to_string(),
                    client_id: m.client_id().to_string(),
                    host: m.client_host().to_string(),
                    assigned: m.assignment().map(decode_consumer_assignment).unwrap_or_default(),
                })
                .collect(),
        }
    }
}

fn list(client: &Client) -> anyhow::Result<()> {
    let consumer = client.consumer(None, &[])?;
    let mut groups = group_info(client, &consumer, None)?;
    groups.sort_by(|a, b| a.name.cmp(&b.name));
    if client.json() {
        let list: Vec<_> = groups
            .iter()
            .map(|g| json!({ "group": g.name, "state": g.state, "protocol_type": g.protocol_type, "members": g.members.len() }))
            .collect();
        output::json(&json!(list));
        return Ok(());
    }
    let mut table = Table::new(&["GROUP", "STATE", "PROTOCOL-TYPE", "MEMBERS"]);
    for g in groups {
        table.row(vec![g.name, g.state, g.protocol_type, g.members.len().to_string()]);
    }
    table.print();
    Ok(())
}

/// Committed offsets of `group` over every partition of `topics` (all topics if `None`).
fn committed(
    client: &Client,
    group: &str,
    topics: Option<&[String]>,
) -> anyhow::Result<BTreeMap<(String, i32), Option<i64>>> {
    let consumer = client.consumer(Some(group), &[])?;
    let metadata = consumer.fetch_metadata(None, client.timeout).with_context(|| client.unreachable())?;
    let mut tpl = TopicPartitionList::new();
    for t in metadata.topics() {
        let wanted = topics.map_or(!t.name().starts_with("__"), |list| list.iter().any(|n| n == t.name()));
        if wanted {
            for p in t.partitions() {
                tpl.add_partition(t.name(), p.id());
            }
        }
    }
    if tpl.count() == 0 {
        return Ok(BTreeMap::new());
    }
    let offsets = consumer.committed_offsets(tpl, client.timeout).context("cannot read committed offsets")?;
    Ok(offsets
        .elements()
        .iter()
        .map(|e| {
            let offset = match e.offset() {
                Offset::Offset(o) => Some(o),
                _ => None,
            };
            ((e.topic().to_string(), e.partition()), offset)
        })
        .collect())
}

fn describe(client: &Client, group: &str) -> anyhow::Result<()> {
    let consumer = client.consumer(None, &[])?;
    let info = group_info(client, &consumer, Some(group))?.into_iter().next();
    let committed = committed(client, group, None)?;
    let members = info.as_ref().map(|g| g.members.clone()).unwrap_or_default();
    let state = info.as_ref().map_or("Dead".to_string(), |g| g.state.clone());
    let mut owner: BTreeMap<(String, i32), (String, String, String)> = BTreeMap::new();
    for m in &members {
        for tp in &m.assigned {
            owner.insert(tp.clone(), (m.id.clone(), m.host.clone(), m.client_id.clone()));
        }
    }
    let partitions: BTreeSet<(String, i32)> =
        committed.iter().filter(|(_, o)| o.is_some()).map(|(tp, _)| tp.clone()).chain(owner.keys().cloned()).collect();
    if partitions.is_empty() && members.is_empty() && matches!(state.as_str(), "Dead" | "Empty") {
        bail!("Consumer group '{group}' does not exist.");
    }
    let mut rows = Vec::new();
    for (topic, partition) in &partitions {
        let (_, end) = client.watermarks(&consumer, topic, *partition)?;
        let current = committed.get(&(topic.clone(), *partition)).copied().flatten();
        let (member, host, client_id) = owner.get(&(topic.clone(), *partition)).cloned().unwrap_or_default();
        rows.push(json!({
            "group": group,
            "topic": topic,
            "partition": partition,
            "current_offset": current,
            "log_end_offset": end,
            "lag": current.map(|c| (end - c).max(0)),
            "consumer_id": (!member.is_empty()).then_some(member),
            "host": (!host.is_empty()).then_some(host),
            "client_id": (!client_id.is_empty()).then_some(client_id),
        }));
    }
    if client.json() {
        output::json(&json!({ "group": group, "state": state, "members": members.len(), "partitions": rows }));
        return Ok(());
    }
    if members.is_empty() {
        println!("\nConsumer group '{group}' has no active members.\n");
    } else {
        println!();
    }
    let mut table = Table::new(&[
        "GROUP",
        "TOPIC",
        "PARTITION",
        "CURRENT-OFFSET",
        "LOG-END-OFFSET",
        "LAG",
        "CONSUMER-ID",
        "HOST",
        "CLIENT-ID",
    ]);
    let dash = |v: &serde_json::Value| v.as_str().map_or("-".to_string(), str::to_string);
    for r in &rows {
        table.row(vec![
            group.to_string(),
            dash(&r["topic"]),
            r["partition"].to_string(),
            or_dash(r["current_offset"].as_i64()),
            r["log_end_offset"].to_string(),
            or_dash(r["lag"].as_i64()),
            dash(&r["consumer_id"]),
            dash(&r["host"]),
            dash(&r["client_id"]),
        ]);
    }
    table.print();
    Ok(())
}

fn delete(client: &Client, groups: &[String]) -> anyhow::Result<()> {
    let names: Vec<&str> = groups.iter().map(String::as_str).collect();
    let results =
        wait(client.admin()?.delete_groups(&names, &client.admin_options())).with_context(|| client.unreachable())?;
    let mut failed = Vec::new();
    for r in results {
        match r {
            Ok(name) if !client.json() => println!("Deleted consumer group '{name}'."),
            Ok(_) => {}
            Err((name, code)) => failed.push(format!("{name}: {code}")),
        }
    }
    if client.json() {
        output::json(&json!({ "deleted": groups, "errors": failed }));
    }
    if !failed.is_empty() {
        bail!("{}", failed.join("; "));
    }
    Ok(())
}

fn reset(client: &Client, args: &ResetArgs) -> anyhow::Result<()> {
    let consumer = client.consumer(Some(&args.group), &[])?;
    let state = group_info(client, &consumer, Some(&args.group))?.into_iter().next();
    if let Some(g) = &state {
        if !g.members.is_empty() {
            bail!(
                "Assignments can only be reset if the group '{}' is inactive, but the current state is {}.",
                args.group,
                g.state
            );
        }
    }
    let partitions =
        if args.partition.is_empty() { client.partitions(&consumer, &args.topic)? } else { args.partition.clone() };
    let current = committed(client, &args.group, Some(std::slice::from_ref(&args.topic)))?;
    let by_time = match &args.to_datetime {
        Some(text) => {
            let at = parse_time(text)?;
            let mut tpl = TopicPartitionList::new();
            for &p in &partitions {
                tpl.add_partition_offset(&args.topic, p, Offset::Offset(at))?;
            }
            let found = consumer.offsets_for_times(tpl, client.timeout).context("cannot look up offsets by time")?;
            found.elements().iter().map(|e| (e.partition(), e.offset())).collect()
        }
        None => BTreeMap::new(),
    };
    let mut planned = Vec::new();
    for &p in &partitions {
        let (low, high) = client.watermarks(&consumer, &args.topic, p)?;
        let now = current.get(&(args.topic.clone(), p)).copied().flatten();
        let target = if args.to_earliest {
            low
        } else if args.to_latest {
            high
        } else if let Some(o) = args.to_offset {
            o
        } else if let Some(n) = args.shift_by {
            now.unwrap_or(low) + n
        } else if args.to_datetime.is_some() {
            match by_time.get(&p) {
                Some(Offset::Offset(o)) => *o,
                _ => high, // No record at or after that time: the end.
            }
        } else {
            bail!("choose one of --to-earliest, --to-latest, --to-offset, --to-datetime, --shift-by");
        };
        planned.push((p, target.clamp(low, high)));
    }
    if args.execute {
        let mut tpl = TopicPartitionList::new();
        for (p, offset) in &planned {
            tpl.add_partition_offset(&args.topic, *p, Offset::Offset(*offset))?;
        }
        consumer.commit(&tpl, CommitMode::Sync).context("cannot commit the new offsets")?;
    }
    if client.json() {
        let rows: Vec<_> = planned
            .iter()
            .map(|(p, o)| json!({ "group": args.group, "topic": args.topic, "partition": p, "new_offset": o }))
            .collect();
        output::json(&json!({ "executed": args.execute, "offsets": rows }));
        return Ok(());
    }
    let mut table = Table::new(&["GROUP", "TOPIC", "PARTITION", "NEW-OFFSET"]);
    for (p, offset) in &planned {
        table.row(vec![args.group.clone(), args.topic.clone(), p.to_string(), offset.to_string()]);
    }
    table.print();
    if !args.execute {
        eprintln!("Dry run: nothing committed. Add --execute to commit these offsets.");
    }
    Ok(())
}
