//! A release `tidelog` started as its own process on a fresh data directory, as a user
//! would run it; stopped with SIGTERM.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use anyhow::{bail, Context};

pub struct BrokerProcess {
    child: Child,
    pub bootstrap: String,
    /// `http://host:port` of the Kinesis listener.
    pub kinesis_url: String,
    bin: PathBuf,
    data_dir: PathBuf,
    settings: Vec<String>,
}

/// `tidelog` next to this benchmark binary (both built by `cargo run --release`).
pub fn sibling_binary() -> anyhow::Result<PathBuf> {
    let exe = std::env::current_exe()?;
    let bin = exe.parent().context("benchmark binary has no directory")?.join("tidelog");
    if !bin.exists() {
        bail!("{} not found: build it with `cargo build --release -p tidelog-server`", bin.display());
    }
    Ok(bin)
}

impl BrokerProcess {
    pub fn start(bin: &Path, data_dir: &Path, settings: &[&str]) -> anyhow::Result<Self> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")?.local_addr()?.port();
        Self::start_on(bin, data_dir, settings, format!("127.0.0.1:{port}"))
    }

    fn start_on(bin: &Path, data_dir: &Path, settings: &[&str], bootstrap: String) -> anyhow::Result<Self> {
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--data-dir"]).arg(data_dir).args([
            "--kafka-addr",
            &bootstrap,
            "--kinesis-addr",
            "127.0.0.1:0",
            "--admin-addr",
            "127.0.0.1:0",
        ]);
        for s in settings {
            cmd.args(["--set", s]);
        }
        let mut child = cmd.stdout(Stdio::piped()).stderr(Stdio::null()).spawn().context("starting tidelog")?;
        let mut line = String::new();
        BufReader::new(child.stdout.take().context("stdout")?).read_line(&mut line)?;
        if !line.starts_with("tidelog ready") {
            bail!("tidelog did not start: {line:?}");
        }
        let kinesis_url = line
            .split_whitespace()
            .find_map(|w| w.strip_prefix("kinesis="))
            .context("the ready line names no kinesis listener")?
            .to_string();
        Ok(BrokerProcess {
            child,
            bootstrap,
            kinesis_url,
            bin: bin.to_path_buf(),
            data_dir: data_dir.to_path_buf(),
            settings: settings.iter().map(|s| s.to_string()).collect(),
        })
    }

    pub fn data_dir(&self) -> &Path {
        &self.data_dir
    }

    /// CPU time (user + system) the broker process has used so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        process_cpu_seconds(&format!("/proc/{}/stat", self.child.id()))
    }

    /// Resident set size of the broker process, in MiB.
    pub fn rss_mib(&self) -> f64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap_or_default();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.split_whitespace().next()?.parse::<f64>().ok())
            .map_or(0.0, |kib| kib / 1024.0)
    }

    /// `kill -9`, then a new process on the same data directory and port; returns it and
    /// the seconds from exec to its ready line (recovery included).
    pub fn kill_and_restart(mut self) -> anyhow::Result<(BrokerProcess, f64)> {
        self.child.kill()?;
        self.child.wait()?;
        let settings: Vec<&str> = self.settings.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let restarted = Self::start_on(&self.bin, &self.data_dir, &settings, self.bootstrap.clone())?;
        Ok((restarted, started.elapsed().as_secs_f64()))
    }

    /// SIGTERM, then a new process on the same data directory and port; returns it and the
    /// seconds from exec to its ready line.
    pub fn stop_and_restart(self) -> anyhow::Result<(BrokerProcess, f64)> {
        let (bin, data_dir, settings, bootstrap) =
            (self.bin.clone(), self.data_dir.clone(), self.settings.clone(), self.bootstrap.clone());
        self.stop()?;
        let settings: Vec<&str> = settings.iter().map(String::as_str).collect();
        let started = std::time::Instant::now();
        let restarted = Self::start_on(&bin, &data_dir, &settings, bootstrap)?;
        Ok((restarted, started.elapsed().as_secs_f64()))
    }

    pub fn stop(mut self) -> anyhow::Result<()> {
        let pid = self.child.id().to_string();
        Command::new("kill").args(["-TERM", &pid]).status()?;
        self.child.wait()?;
        Ok(())
    }
}

/// A run that fails part-way must not leave a broker running: it would hold the data
/// directory and skew every later measurement on the machine.
impl Drop for BrokerProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// CPU time (user + system) of the process whose `/proc/<pid>/stat` is `stat_path`, in
/// seconds; 0 when it cannot be read.
pub fn process_cpu_seconds(stat_path: &str) -> f64 {
    // Linux reports these in USER_HZ, which is 100 on every architecture it supports.
    const TICKS_PER_SECOND: f64 = 100.0;
    let stat = std::fs::read_to_string(stat_path).unwrap_or_default();
    // The command name (field 2) may hold spaces; fields are counted after its ')'.
    let Some((_, rest)) = stat.rsplit_once(')') else { return 0.0 };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let ticks = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok()).unwrap_or(0.0);
    // utime and stime are fields 14 and 15 of the whole line: 12 and 13 after the name.
    (ticks(11) + ticks(12)) / TICKS_PER_SECOND
}
