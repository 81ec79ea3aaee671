//! One row per scenario: rates, latency percentiles, broker memory and the ratio to
//! the machine limit that bounds the scenario. Printed as a table and saved as JSON.

use serde::Serialize;

use crate::kafka_load::LoadResult;
use crate::limits::MachineLimits;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub scenario: String,
    pub records_per_s: f64,
    pub mb_per_s: f64,
    pub p50_ms: Option<f64>,
    pub p99_ms: Option<f64>,
    pub p999_ms: Option<f64>,
    pub broker_rss_mib: f64,
    /// CPU milliseconds per MB of payload, broker and load-generating client: on a small
    /// machine the two share the cores, so a costlier client lowers the broker's figures.
    pub broker_cpu_ms_per_mb: Option<f64>,
    pub client_cpu_ms_per_mb: Option<f64>,
    /// The limit compared against, e.g. "buffered disk write".
    pub limit: Option<String>,
    pub ratio_to_limit: Option<f64>,
}

fn percentile(sorted: &[f64], p: f64) -> Option<f64> {
    if sorted.is_empty() {
        return None;
    }
    let idx = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    Some(sorted[idx])
}

impl Row {
    pub fn new(scenario: &str, result: &LoadResult, rss_mib: f64, limit: Option<(&str, f64)>) -> Row {
        let secs = result.elapsed.as_secs_f64();
        let mb_per_s = result.payload_bytes as f64 / 1e6 / secs;
        let mut sorted = result.latencies_ms.clone();
        sorted.sort_by(f64::total_cmp);
        Row {
            scenario: scenario.to_string(),
            records_per_s: result.records as f64 / secs,
            mb_per_s,
            p50_ms: percentile(&sorted, 0.50),
            p99_ms: percentile(&sorted, 0.99),
            p999_ms: percentile(&sorted, 0.999),
            broker_rss_mib: rss_mib,
            broker_cpu_ms_per_mb: None,
            client_cpu_ms_per_mb: None,
            limit: limit.map(|(name, _)| name.to_string()),
            ratio_to_limit: limit.map(|(_, value)| mb_per_s / value),
        }
    }

    /// Records the CPU both sides spent on this row's payload.
    pub fn with_cpu(mut self, cpu: CpuUsed, payload_bytes: u64) -> Row {
        let mb = payload_bytes as f64 / 1e6;
        if mb > 0.0 {
            self.broker_cpu_ms_per_mb = Some(cpu.broker_seconds * 1e3 / mb);
            self.client_cpu_ms_per_mb = Some(cpu.client_seconds * 1e3 / mb);
        }
        self
    }

    /// A row that measures one duration (reported as its p50, in milliseconds).
    pub fn timing(scenario: &str, seconds: f64, rss_mib: f64) -> Row {
        Row {
            scenario: scenario.to_string(),
            records_per_s: 0.0,
            mb_per_s: 0.0,
            p50_ms: Some(seconds * 1e3),
            p99_ms: None,
            p999_ms: None,
            broker_rss_mib: rss_mib,
            broker_cpu_ms_per_mb: None,
            client_cpu_ms_per_mb: None,
            limit: None,
            ratio_to_limit: None,
        }
    }
}

/// CPU seconds spent by the broker and by this benchmark process during one scenario.
#[derive(Debug, Clone, Copy)]
pub struct CpuUsed {
    pub broker_seconds: f64,
    pub client_seconds: f64,
}

#[derive(Debug, Serialize)]
pub struct Report {
    pub started_at: String,
    pub machine: MachineLimits,
    pub rows: Vec<Row>,
}

fn opt(v: Option<f64>) -> String {
    v.map_or("-".into(), |v| format!("{v:.2}"))
}

impl Report {
    pub fn table(&self) -> String {
        let m = &self.machine;
        let mut out = format!(
            "machine limits: buffered write {:.0} MB/s, fdatasync every 1 MiB {:.0} MB/s, loopback TCP {:.0} MB/s\n\n",
            m.buffered_write_mb_s, m.fdatasync_1mib_mb_s, m.loopback_tcp_mb_s
        );
        out += "| scenario | records/s | MB/s | p50 ms | p99 ms | p99.9 ms | broker RSS MiB | CPU ms/MB broker+client | ratio to limit |\n";
        out += "|---|---:|---:|---:|---:|---:|---:|---:|---|\n";
        for r in &self.rows {
            let ratio = match (&r.limit, r.ratio_to_limit) {
                (Some(name), Some(v)) => format!("{:.0}% of {name}", v * 100.0),
                _ => "-".into(),
            };
            let cpu = match (r.broker_cpu_ms_per_mb, r.client_cpu_ms_per_mb) {
                (Some(b), Some(c)) => format!("{b:.2}+{c:.2}"),
                _ => "-".into(),
            };
            out += &format!(
                "| {} | {:.0} | {:.1} | {} | {} | {} | {:.0} | {cpu} | {} |\n",
                r.scenario,
                r.records_per_s,
                r.mb_per_s,
                opt(r.p50_ms),
                opt(r.p99_ms),
                opt(r.p999_ms),
                r.broker_rss_mib,
                ratio
            );
        }
        out
    }
}
