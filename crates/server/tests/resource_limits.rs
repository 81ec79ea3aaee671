//! Bounded resources: `max.connections` and `max.connections.per.ip` close the extra
//! connections at once and leave the others working; `queued.max.request.bytes` keeps
//! clients that declare huge frames and stall from taking the broker's memory.
//!
//! Both tests run in one function: the memory figures are the whole process's (the
//! broker runs in it), and another test running beside them would move them.

mod common;

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::io::AsyncWriteExt;
use tokio::net::{TcpSocket, TcpStream};

use common::raw;

const WAIT: Duration = Duration::from_secs(5);
const MIB: usize = 1 << 20;

/// A connection to `server` from the loopback address `from` (127.0.0.x all reach it),
/// so one test can be several client hosts.
async fn connect_from(server: SocketAddr, from: [u8; 4]) -> TcpStream {
    let socket = TcpSocket::new_v4().unwrap();
    socket.bind(SocketAddr::new(IpAddr::from(from), 0)).unwrap();
    socket.connect(server).await.unwrap()
}

fn counter(metrics: &str, series: &str) -> u64 {
    common::metric(metrics, series).unwrap_or_else(|| panic!("no {series} in\n{metrics}")) as u64
}

/// Polls the admin listener until `series` reads `value`.
async fn wait_for_metric(server: &tidelog_server::Running, series: &str, value: u64) {
    let deadline = Instant::now() + WAIT;
    while counter(&common::scrape_metrics(server).await, series) != value {
        assert!(Instant::now() < deadline, "{series} never reached {value}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Retries connecting from `from` until the broker keeps the connection: a slot freed
/// by a closed connection comes back once the broker has seen the close.
async fn connect_once_a_slot_is_free(server: SocketAddr, from: [u8; 4]) -> TcpStream {
    let deadline = Instant::now() + WAIT;
    loop {
        let mut stream = connect_from(server, from).await;
        if raw::api_versions_answered(&mut stream, WAIT).await {
            return stream;
        }
        assert!(Instant::now() < deadline, "no slot came back after a connection closed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn connection_limits_close_only_the_extra_connections() {
    let dir = tempfile::tempdir().unwrap();
    let server = common::start(dir.path(), &["max.connections=4", "max.connections.per.ip=3"]).await;
    let addr = server.kafka_addr();

    let mut first_host = Vec::new();
    for _ in 0..3 {
        let mut stream = connect_from(addr, [127, 0, 0, 1]).await;
        assert!(raw::api_versions_answered(&mut stream, WAIT).await);
        first_host.push(stream);
    }
    let mut fourth_from_first = connect_from(addr, [127, 0, 0, 1]).await;
    assert!(raw::closed_by_server(&mut fourth_from_first, WAIT).await, "past max.connections.per.ip");

    let mut second_host = connect_from(addr, [127, 0, 0, 2]).await;
    assert!(raw::api_versions_answered(&mut second_host, WAIT).await, "another address has its own count");
    let mut fifth = connect_from(addr, [127, 0, 0, 3]).await;
    assert!(raw::closed_by_server(&mut fifth, WAIT).await, "past max.connections");

    for stream in first_host.iter_mut().chain([&mut second_host]) {
        assert!(raw::api_versions_answered(stream, WAIT).await, "the admitted connections keep working");
    }
    let text = common::scrape_metrics(&server).await;
    assert_eq!(counter(&text, "tidelog_kafka_connections_rejected_total{reason=\"max_connections_per_ip\"}"), 1);
    assert_eq!(counter(&text, "tidelog_kafka_connections_rejected_total{reason=\"max_connections\"}"), 1);

    // A closed connection gives its slot back.
    drop(first_host.pop());
    let mut again = connect_once_a_slot_is_free(addr, [127, 0, 0, 1]).await;
    assert!(raw::api_versions_answered(&mut again, WAIT).await);
    server.shutdown().await.unwrap();
}

fn rss_bytes() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: usize = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status");
    kib * 1024
}

/// Declared size of the stalled frames: `socket.request.max.bytes`, so the broker
/// accepts the declaration and waits for the body.
const DECLARED: usize = 100 * MIB;
/// What each stalled client sends of it before going quiet.
const SENT: usize = 8 * MIB;
const STALLED_CLIENTS: usize = 64;

/// Opens `STALLED_CLIENTS` connections that each send `body` (`SENT` bytes) of a frame
/// declaring `DECLARED` and then stall.
fn stall_clients(addr: SocketAddr, body: &Arc<Vec<u8>>) -> Vec<tokio::task::JoinHandle<TcpStream>> {
    (0..STALLED_CLIENTS)
        .map(|_| {
            let body = body.clone();
            tokio::spawn(async move {
                let mut stream = TcpStream::connect(addr).await.unwrap();
                stream.write_all(&(DECLARED as u32).to_be_bytes()).await.unwrap();
                // Never finishes on connections the broker does not read; that is the point.
                let _ = stream.write_all(&body).await;
                stream
            })
        })
        .collect()
}

/// The largest RSS seen over `window`: the broker reads what it will read of the
/// stalled frames within it (loopback moves 512 MiB in well under a second).
async fn peak_rss_over(window: Duration) -> usize {
    let end = Instant::now() + window;
    let mut peak = rss_bytes();
    while Instant::now() < end {
        tokio::time::sleep(Duration::from_millis(50)).await;
        peak = peak.max(rss_bytes());
    }
    peak
}

async fn stalled_huge_frames_take_no_more_memory_than_the_budget() {
    const BUDGET: usize = 128 * MIB;
    let dir = tempfile::tempdir().unwrap();
    let budget = format!("queued.max.request.bytes={BUDGET}");
    let server = common::start(dir.path(), &[&budget]).await;
    let addr = server.kafka_addr();
    let mut bystander = TcpStream::connect(addr).await.unwrap();
    assert!(raw::api_versions_answered(&mut bystander, WAIT).await);
    let body = Arc::new(vec![b'x'; SENT]);
    let before = rss_bytes();

    let clients = stall_clients(addr, &body);
    let grown = peak_rss_over(Duration::from_secs(3)).await.saturating_sub(before);
    eprintln!(
        "{STALLED_CLIENTS} clients each sent {} MiB of a declared {} MiB frame: RSS grew by {} MiB",
        SENT / MIB,
        DECLARED / MIB,
        grown / MIB
    );
    // Unbounded, the broker buffered everything sent: 64 × 8 MiB = 512 MiB. Bounded, only
    // the frames whose declared size fits the budget are read: one 100 MiB frame of
    // 128 MiB, of which 8 MiB arrived. The margin is for the allocator and the runtime.
    assert!(grown < BUDGET + 32 * MIB, "RSS grew by {} MiB", grown / MIB);
    assert!(grown < 64 * MIB, "RSS grew by {} MiB for one 8 MiB frame read", grown / MIB);
    // 28 MiB of the budget are left: small requests fit beside the stalled frame.
    assert!(raw::api_versions_answered(&mut bystander, WAIT).await, "a normal client is answered");
    let mut newcomer = TcpStream::connect(addr).await.unwrap();
    assert!(raw::api_versions_answered(&mut newcomer, WAIT).await, "so is a new one");
    for client in clients {
        client.abort();
    }
    server.shutdown().await.unwrap();
}

/// With a budget of one declared frame, a stalled client holds all of it: others wait,
/// and are answered once the stalled clients close.
async fn an_exhausted_budget_comes_back_when_the_stalled_clients_close() {
    let dir = tempfile::tempdir().unwrap();
    let budget = format!("queued.max.request.bytes={DECLARED}");
    let server = common::start(dir.path(), &[&budget]).await;
    let addr = server.kafka_addr();
    let mut bystander = TcpStream::connect(addr).await.unwrap();
    assert!(raw::api_versions_answered(&mut bystander, WAIT).await);

    let clients = stall_clients(addr, &Arc::new(vec![b'x'; SENT]));
    wait_for_metric(&server, "tidelog_kafka_request_bytes_reserved", DECLARED as u64).await;
    assert!(!raw::api_versions_answered(&mut bystander, Duration::from_millis(500)).await, "the budget is held");
    for client in clients {
        client.abort();
    }
    // The bystander's ApiVersions from above is still queued on the budget; its answer
    // comes first once the bytes are back.
    let mut recovered = TcpStream::connect(addr).await.unwrap();
    assert!(raw::api_versions_answered(&mut recovered, Duration::from_secs(10)).await, "answered once they closed");
    server.shutdown().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_and_request_memory_are_bounded() {
    connection_limits_close_only_the_extra_connections().await;
    stalled_huge_frames_take_no_more_memory_than_the_budget().await;
    an_exhausted_budget_comes_back_when_the_stalled_clients_close().await;
}
