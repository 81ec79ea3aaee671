//! This machine's limits, measured in the same run as the broker: buffered sequential
//! write bandwidth, write-and-fdatasync-every-1-MiB bandwidth (both on the data
//! directory's filesystem), and loopback TCP bandwidth.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::Path;
use std::time::Instant;

use serde::Serialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

const MIB: usize = 1 << 20;

#[derive(Debug, Clone, Copy, Serialize)]
pub struct MachineLimits {
    pub buffered_write_mb_s: f64,
    pub fdatasync_1mib_mb_s: f64,
    pub loopback_tcp_mb_s: f64,
}

fn mb_per_s(bytes: usize, started: Instant) -> f64 {
    bytes as f64 / 1e6 / started.elapsed().as_secs_f64()
}

/// Sequential 1 MiB writes on the data directory's filesystem: to the page cache only
/// (a broker's acks=1 path), or each followed by fdatasync (the acks=all ceiling).
pub fn sequential_write(dir: &Path, total_mib: usize, sync_each: bool) -> anyhow::Result<f64> {
    let path = dir.join("limits-write.bin");
    let chunk = vec![0x5au8; MIB];
    let mut f = OpenOptions::new().create(true).write(true).truncate(true).open(&path)?;
    let started = Instant::now();
    for _ in 0..total_mib {
        f.write_all(&chunk)?;
        if sync_each {
            f.sync_data()?;
        }
    }
    let rate = mb_per_s(total_mib * MIB, started);
    drop(f);
    std::fs::remove_file(&path)?;
    Ok(rate)
}

/// One TCP stream over 127.0.0.1, 256 KiB writes, the reader discarding.
pub async fn loopback_tcp(total_mib: usize) -> anyhow::Result<f64> {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let reader = tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await?;
        let mut buf = vec![0u8; 256 * 1024];
        let mut total = 0usize;
        loop {
            let n = socket.read(&mut buf).await?;
            if n == 0 {
                return Ok::<usize, std::io::Error>(total);
            }
            total += n;
        }
    });
    let mut socket = tokio::net::TcpStream::connect(addr).await?;
    let chunk = vec![1u8; 256 * 1024];
    let started = Instant::now();
    for _ in 0..total_mib * 4 {
        socket.write_all(&chunk).await?;
    }
    socket.shutdown().await?;
    let received = reader.await??;
    Ok(mb_per_s(received, started))
}

pub async fn measure(dir: &Path) -> anyhow::Result<MachineLimits> {
    Ok(MachineLimits {
        buffered_write_mb_s: sequential_write(dir, 1024, false)?,
        fdatasync_1mib_mb_s: sequential_write(dir, 256, true)?,
        loopback_tcp_mb_s: loopback_tcp(2048).await?,
    })
}
