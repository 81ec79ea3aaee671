//! Power loss under load, against the real binary on a file system that drops whatever
//! was not fsynced (tidelog-testfs). Each round runs an acks=all producer, a group
//! consumer committing synchronously and a Kinesis PutRecords writer; kills the broker
//! with SIGKILL mid-traffic; unmounts (clearing the kernel's page cache), cuts the power
//! and remounts; restarts the broker on what survived and checks it against everything
//! that was acknowledged:
//!
//! - every acks=all record is at its offset with its value;
//! - every offset from the log start to the high watermark holds a record;
//! - no acknowledged offset is handed out again after the restart;
//! - committed group offsets are at least what was acknowledged as committed;
//! - every answered PutRecords entry is returned by GetRecords with its sequence number
//!   and data.
//!
//! Skipped, with the reason printed, only where FUSE cannot be mounted.

#[path = "power_loss/broker.rs"]
mod broker;
#[path = "power_loss/checks.rs"]
mod checks;
#[path = "power_loss/history.rs"]
mod history;
#[path = "power_loss/kinesis.rs"]
mod kinesis;
#[path = "power_loss/traffic.rs"]
mod traffic;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::producer::{BaseRecord, Producer};
use tidelog_testfs::{Mount, TestFs};

use broker::{Addrs, Broker};
use history::History;
use traffic::Traffic;

const TOPIC: &str = "power-loss";
const PARTITIONS: i32 = 3;
const STREAM: &str = "power-loss-stream";
const SHARDS: i32 = 2;
const GROUP: &str = "power-loss-group";
const ROUNDS: usize = 4;

#[test]
fn acknowledged_writes_survive_power_loss_under_load() {
    if let Err(reason) = tidelog_testfs::fuse_available() {
        eprintln!("skipped: the power-loss test needs FUSE, which is not available here: {reason}");
        return;
    }
    let started = Instant::now();
    let dir = tempfile::tempdir().expect("temp dir");
    let data = dir.path().join("data");
    std::fs::create_dir(&data).expect("mount point");
    let log = broker::log_path(dir.path());
    let fs = TestFs::new();
    let mut mount = fs.mount(&data).expect("mount the test fs");
    let history = Arc::new(History::default());
    let mut broker = Broker::start(&data, &log, &Addrs::free()).unwrap_or_else(|e| panic!("{e}"));
    create_topic_and_stream(&broker);

    let mut findings = Vec::new();
    for round in 0..ROUNDS {
        let round_started = Instant::now();
        let traffic = Traffic::start(&broker.kafka, &broker.kinesis, &history, round);
        // Kill only once every kind of write has been acknowledged in this round; later
        // rounds run longer before the kill, so it lands at other points of the segment
        // roll cycle.
        let (want_records, want_commits, want_puts) = (400 + 300 * round, 3 + 2 * round, 50 + 50 * round);
        let progressed = history.wait_until(Duration::from_secs(15), |a| {
            a.records_in(round) >= want_records && a.commits_in(round) >= want_commits && a.puts_in(round) >= want_puts
        });
        let addrs = broker.kill();
        traffic.stop();
        mount = power_cut(&fs, mount, &data);
        broker = match Broker::start(&data, &log, &addrs) {
            Ok(b) => b,
            Err(e) => {
                findings.push(format!("round {round}: the broker did not restart after the power cut: {e}"));
                panic!("after power loss:\n{}", findings.join("\n"));
            }
        };
        // Only now can a commit caught by the kill be answered (or refused) and end.
        traffic.join();
        let (records, commits, puts, errors) = history
            .with(|a| (a.records_in(round), a.commits_in(round), a.puts_in(round), format!("{:?}", a.last_error)));
        eprintln!(
            "round {round}: killed after {records} acknowledged records, {commits} acknowledged commits, \
             {puts} answered PutRecords entries"
        );
        if !progressed {
            findings.push(format!(
                "round {round}: the traffic stalled before the kill ({records} records, {commits} commits, {puts} \
                 puts acknowledged); last errors: {errors}"
            ));
        }
        let round_findings = check(&broker, &history, round);
        for finding in &round_findings {
            eprintln!("round {round}: {finding}");
        }
        eprintln!("round {round}: {} findings, {:.1} s", round_findings.len(), round_started.elapsed().as_secs_f64());
        findings.extend(round_findings.into_iter().map(|f| format!("round {round}: {f}")));
    }
    broker.kill();
    mount.unmount().expect("unmount");
    eprintln!("power-loss test took {:.1} s", started.elapsed().as_secs_f64());
    assert!(
        findings.is_empty(),
        "after power loss:\n{}\nthe broker's log ends:\n{}",
        findings.join("\n"),
        broker::tail(&log)
    );
}

fn create_topic_and_stream(broker: &Broker) {
    let admin: AdminClient<DefaultClientContext> = traffic::kafka_config(&broker.kafka).create().expect("admin client");
    let topic = NewTopic::new(TOPIC, PARTITIONS, TopicReplication::Fixed(1));
    let created = futures::executor::block_on(admin.create_topics([&topic], &AdminOptions::new()))
        .expect("CreateTopics answered");
    for result in created {
        result.unwrap_or_else(|(name, e)| panic!("cannot create {name}: {e}"));
    }
    kinesis::Kinesis::new(&broker.kinesis).create_stream(STREAM, SHARDS as u32).expect("CreateStream");
}

/// Unmount (the kernel forgets its cached pages), cut the power, mount what is left.
fn power_cut(fs: &TestFs, mount: Mount, data: &Path) -> Mount {
    mount.unmount().expect("unmount after the kill");
    fs.power_cut();
    fs.mount(data).expect("remount after the power cut")
}

/// Everything that must hold after restart number `round`.
fn check(broker: &Broker, history: &Arc<History>, round: usize) -> Vec<String> {
    let mut findings = Vec::new();
    let acked = history.with(|a| a.clone());
    let logs = checks::read_topic(&broker.kafka, TOPIC, PARTITIONS, &mut findings);
    checks::acknowledged_records_survive(TOPIC, &acked, &logs, &mut findings);
    checks::no_offset_acknowledged_twice(TOPIC, &acked, &mut findings);
    checks::commits_survive(&broker.kafka, TOPIC, &acked, &mut findings);
    // A stream is a topic: its shards must be as gap-free as any partition.
    checks::read_topic(&broker.kafka, STREAM, SHARDS, &mut findings);
    checks::puts_survive(&broker.kinesis, STREAM, &acked, &mut findings);
    probe_new_offsets(broker, history, round, &logs, &mut findings);
    let watermarks: Vec<String> = logs.iter().map(|l| l.high_watermark.to_string()).collect();
    eprintln!("round {round}: {TOPIC} high watermarks after the restart: [{}]", watermarks.join(", "));
    findings
}

/// A record produced after the restart gets an offset after every offset acknowledged
/// before it, and lands at the high watermark the broker reported.
fn probe_new_offsets(
    broker: &Broker,
    history: &Arc<History>,
    round: usize,
    logs: &[checks::PartitionLog],
    findings: &mut Vec<String>,
) {
    let before = history.with(|a| a.records.len());
    let producer = traffic::acks_all_producer(&broker.kafka, history, round + 1);
    for partition in 0..PARTITIONS {
        let value = format!("probe after restart {round}, partition {partition}");
        let record = BaseRecord::to(TOPIC).partition(partition).key("probe").payload(&value);
        if let Err((e, _)) = producer.send(record) {
            findings.push(format!("{TOPIC}/{partition}: cannot send the probe record: {e}"));
        }
    }
    if let Err(e) = producer.flush(Duration::from_secs(10)) {
        findings.push(format!("probe records not acknowledged in 10 s: {e}"));
    }
    history.with(|a| {
        for probe in &a.records[before..] {
            let p = probe.partition;
            let max_earlier = a.records[..before].iter().filter(|r| r.partition == p).map(|r| r.offset).max();
            if let Some(max) = max_earlier.filter(|max| probe.offset <= *max) {
                findings.push(format!(
                    "{TOPIC}/{p}: the first record after the restart got offset {}, reusing acknowledged offsets \
                     (the highest acknowledged before was {max})",
                    probe.offset
                ));
            }
            let high_watermark = logs.get(p as usize).map_or(-1, |l| l.high_watermark);
            if probe.offset != high_watermark {
                findings.push(format!(
                    "{TOPIC}/{p}: the first record after the restart got offset {}, not the high watermark {high_watermark}",
                    probe.offset
                ));
            }
        }
    });
}
