//! `tidelog`: the single binary. `tidelog` alone is `tidelog serve` with defaults.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tidelog_server::{Overrides, Settings};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "tidelog", version, about = "An event-streaming platform that speaks Kafka and Kinesis")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a single-node broker (the default).
    Serve(ServeArgs),
}

#[derive(Args, Clone, Default)]
struct ServeArgs {
    /// Where partition logs and metadata live [default: ./tidelog-data]
    #[arg(long, env = "TIDELOG_DATA_DIR")]
    data_dir: Option<PathBuf>,
    /// Kafka listener address [default: 127.0.0.1:9092]
    #[arg(long, env = "TIDELOG_KAFKA_ADDR")]
    kafka_addr: Option<String>,
    /// Address given to clients in Metadata responses [default: the listener address]
    #[arg(long, env = "TIDELOG_ADVERTISED_KAFKA_ADDR")]
    advertised_kafka_addr: Option<String>,
    /// Kinesis Data Streams (HTTP) listener address [default: 127.0.0.1:4567]
    #[arg(long, env = "TIDELOG_KINESIS_ADDR")]
    kinesis_addr: Option<String>,
    /// TOML file with server and broker settings
    #[arg(long, env = "TIDELOG_CONFIG")]
    config: Option<PathBuf>,
    /// Broker setting under its Kafka name, e.g. --set num.partitions=3 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        // A log that cannot be written (a full disk) must not stop the broker: the
        // default reports the failure on stderr, which fails again and ends the process.
        .log_internal_errors(false)
        .init();
    let cli = Cli::parse();
    let args = match cli.command {
        Some(Command::Serve(args)) => args,
        None => cli.serve,
    };
    let overrides = Overrides {
        config_file: args.config,
        data_dir: args.data_dir,
        kafka_addr: args.kafka_addr,
        advertised_kafka_addr: args.advertised_kafka_addr,
        kinesis_addr: args.kinesis_addr,
        set: args.set,
    };
    let settings = Settings::load(&overrides)?;
    tokio::runtime::Builder::new_multi_thread().enable_all().build()?.block_on(serve(settings))
}

async fn serve(settings: Settings) -> anyhow::Result<()> {
    let kafka = TcpListener::bind(&settings.kafka_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.kafka_addr))?;
    let kinesis = TcpListener::bind(&settings.kinesis_addr)
        .await
        .with_context(|| format!("cannot listen on {}", settings.kinesis_addr))?;
    let running = tidelog_server::start(&settings, kafka, Some(kinesis)).await?;
    // The one line scripts wait for.
    // Written, not println!: an unwritable stdout must not stop the broker.
    let kinesis_addr = running.kinesis_addr().map(|a| a.to_string()).unwrap_or_default();
    let ready = format!(
        "tidelog ready: kafka={} kinesis=http://{kinesis_addr} data-dir={}\n",
        running.kafka_addr(),
        settings.data_dir.display()
    );
    let _ = std::io::Write::write_all(&mut std::io::stdout(), ready.as_bytes())
        .and_then(|_| std::io::Write::flush(&mut std::io::stdout()));
    shutdown_signal().await?;
    running.shutdown().await
}

async fn shutdown_signal() -> anyhow::Result<()> {
    use tokio::signal::unix::{signal, SignalKind};
    let mut term = signal(SignalKind::terminate())?;
    tokio::select! {
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    tracing::info!("shutdown requested");
    Ok(())
}
