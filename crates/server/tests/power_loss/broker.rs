//! The real `tidelog` binary as a child process: started on free ports, killed with
//! SIGKILL, restarted on the same ports. Its logs go to a file outside the test file
//! system.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

/// Small segments, so that traffic rolls them often: the cases of a closed segment
/// never fsynced and of a new segment whose directory entry was never fsynced.
const SEGMENT_BYTES: &str = "16384";
const READY_TIMEOUT: Duration = Duration::from_secs(60);

/// Listener addresses, host:port each.
#[derive(Clone, Debug)]
pub struct Addrs {
    pub kafka: String,
    pub kinesis: String,
}

impl Addrs {
    /// Two free ports below the ephemeral range. The broker comes back on the same ports
    /// after each kill; a port the kernel hands out for outgoing connections could be
    /// taken meanwhile by a client's reconnect attempt, one outside that range cannot.
    pub fn free() -> Addrs {
        let mut ports = (0..10_000u16).map(|i| 20_000 + (std::process::id() as u16 % 10_000 + i) % 10_000);
        let mut next_free =
            || ports.find_map(|p| TcpListener::bind(("127.0.0.1", p)).ok().map(|_| format!("127.0.0.1:{p}")));
        let (kafka, kinesis) = (next_free(), next_free());
        Addrs { kafka: kafka.expect("a free port below 30000"), kinesis: kinesis.expect("a free port below 30000") }
    }
}

pub struct Broker {
    child: Child,
    /// host:port of the Kafka listener.
    pub kafka: String,
    /// http://host:port of the Kinesis listener.
    pub kinesis: String,
}

impl Broker {
    /// Starts the broker on `data_dir` listening on `addrs` and waits for its ready
    /// line. An error carries the end of its log: a broker that cannot recover is
    /// itself a finding.
    pub fn start(data_dir: &Path, log: &Path, addrs: &Addrs) -> Result<Broker, String> {
        let stderr = OpenOptions::new().create(true).append(true).open(log).map_err(|e| e.to_string())?;
        let mut child = Command::new(env!("CARGO_BIN_EXE_tidelog"))
            .arg("serve")
            .arg("--data-dir")
            .arg(data_dir)
            .args(["--kafka-addr", &addrs.kafka, "--kinesis-addr", &addrs.kinesis, "--admin-addr", "off"])
            .args(["--set", &format!("log.segment.bytes={SEGMENT_BYTES}")])
            .args(["--set", "num.partitions=3", "--set", "group.initial.rebalance.delay.ms=0"])
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::from(stderr))
            .spawn()
            .map_err(|e| format!("cannot start tidelog: {e}"))?;
        let stdout = child.stdout.take().ok_or("no stdout")?;
        let (ready_tx, ready_rx) = mpsc::channel();
        std::thread::spawn(move || {
            // Reads until the process exits, so the broker never writes into a full pipe.
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if line.starts_with("tidelog ready:") {
                    let _ = ready_tx.send(line);
                }
            }
        });
        let Ok(line) = ready_rx.recv_timeout(READY_TIMEOUT) else {
            let _ = child.kill();
            let status = child.wait().map(|s| s.to_string()).unwrap_or_default();
            return Err(format!("tidelog did not become ready ({status}); its log ends:\n{}", tail(log)));
        };
        let field = |name: &str| {
            line.split_whitespace().find_map(|f| f.strip_prefix(name)).map(str::to_string).unwrap_or_default()
        };
        Ok(Broker { kafka: field("kafka="), kinesis: field("kinesis="), child })
    }

    /// kill -9, then reap it so that none of its files is still open on the mount.
    /// Returns where it listened, to restart it there: clients that outlive the crash
    /// reconnect, as they would to a real broker coming back.
    pub fn kill(mut self) -> Addrs {
        self.stop();
        let kinesis = self.kinesis.strip_prefix("http://").unwrap_or(&self.kinesis).to_string();
        Addrs { kafka: self.kafka.clone(), kinesis }
    }

    fn stop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Broker {
    fn drop(&mut self) {
        self.stop();
    }
}

/// The last lines of a log file.
pub fn tail(log: &Path) -> String {
    let Ok(file) = File::open(log) else { return String::new() };
    let lines: Vec<String> = BufReader::new(file).lines().map_while(Result::ok).collect();
    lines[lines.len().saturating_sub(30)..].join("\n")
}

/// Where the broker's logs of one test go.
pub fn log_path(dir: &Path) -> PathBuf {
    dir.join("tidelog.log")
}
