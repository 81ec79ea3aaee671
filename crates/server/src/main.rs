//! `tidelog`: the single binary. `tidelog` alone is `tidelog serve` with defaults; the
//! other subcommands are the command-line tools (`tidelog-cli`).

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use tidelog_server::{Listeners, Overrides, Settings};
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

#[derive(Parser)]
#[command(name = "tidelog", version, about = "An event-streaming platform that speaks Kafka and Kinesis")]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    serve: ServeArgs,
    #[command(flatten)]
    client: tidelog_cli::ClientArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Run a single-node broker (the default).
    Serve(ServeArgs),
    #[command(flatten)]
    Tool(tidelog_cli::Command),
}

#[derive(clap::ValueEnum, Clone, Copy, Default, PartialEq, Eq)]
enum LogFormat {
    /// One human-readable line per event
    #[default]
    Human,
    /// One JSON object per event (for log shippers)
    Json,
}

#[derive(Args, Clone)]
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
    /// Admin HTTP listener: /metrics, /health, /v1 ("off" disables) [default: 127.0.0.1:9644]
    #[arg(long, env = "TIDELOG_ADMIN_ADDR")]
    admin_addr: Option<String>,
    /// Schema registry (Confluent REST API) listener ("off" disables) [default: 127.0.0.1:8081]
    #[arg(long, env = "TIDELOG_REGISTRY_ADDR")]
    registry_addr: Option<String>,
    /// Log line format; the level filter is RUST_LOG (default: info)
    #[arg(long, env = "TIDELOG_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    log_format: LogFormat,
    /// TOML file with server and broker settings
    #[arg(long, env = "TIDELOG_CONFIG")]
    config: Option<PathBuf>,
    /// Broker setting under its Kafka name, e.g. --set num.partitions=3 (repeatable)
    #[arg(long = "set", value_name = "KEY=VALUE")]
    set: Vec<String>,
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Some(Command::Tool(tool)) => tidelog_cli::run(tool, &cli.client),
        Some(Command::Serve(args)) => run_broker(args),
        None => run_broker(cli.serve),
    };
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // One clear line, as scripts and people both want.
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

fn init_logs(format: LogFormat) {
    let logs = tracing_subscriber::fmt()
        .with_env_filter(EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")))
        .with_writer(std::io::stderr)
        // A log that cannot be written (a full disk) must not stop the broker: the
        // default reports the failure on stderr, which fails again and ends the process.
        .log_internal_errors(false);
    match format {
        LogFormat::Human => logs.init(),
        LogFormat::Json => logs.json().flatten_event(true).init(),
    }
}

fn run_broker(args: ServeArgs) -> anyhow::Result<()> {
    init_logs(args.log_format);
    let overrides = Overrides {
        config_file: args.config,
        data_dir: args.data_dir,
        kafka_addr: args.kafka_addr,
        advertised_kafka_addr: args.advertised_kafka_addr,
        kinesis_addr: args.kinesis_addr,
        admin_addr: args.admin_addr,
        registry_addr: args.registry_addr,
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
    let admin = match &settings.admin_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?),
        None => None,
    };
    let registry = match &settings.registry_addr {
        Some(addr) => Some(TcpListener::bind(addr).await.with_context(|| format!("cannot listen on {addr}"))?),
        None => None,
    };
    let listeners = Listeners { kafka, kinesis: Some(kinesis), admin, registry };
    let running = tidelog_server::start(&settings, listeners).await?;
    // The one line scripts wait for.
    // Written, not println!: an unwritable stdout must not stop the broker.
    let kinesis_addr = running.kinesis_addr().map(|a| a.to_string()).unwrap_or_default();
    let admin_addr = running.admin_addr().map_or("off".to_string(), |a| format!("http://{a}"));
    let registry_addr = running.registry_addr().map_or("off".to_string(), |a| format!("http://{a}"));
    let ready = format!(
        "tidelog ready: kafka={} kinesis=http://{kinesis_addr} admin={admin_addr} registry={registry_addr} data-dir={}\n",
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
