//! The tidelog server: opens the broker on its data directory, serves the listeners it
//! is given, and stops cleanly. Takes bound listeners so tests run it on port 0.

pub mod settings;

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::Context;
use tidelog_admin::Admin;
use tidelog_broker::Broker;
use tidelog_kafka::KafkaListener;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tracing::{info, warn};

pub use settings::{Overrides, Settings};

/// A started server. Dropping it without `shutdown` leaves an unclean stop behind,
/// which is what crash tests want.
pub struct Running {
    broker: Arc<Broker>,
    admin: Arc<Admin>,
    stop: watch::Sender<bool>,
    tasks: Vec<JoinHandle<()>>,
    kafka_addr: SocketAddr,
    kinesis_addr: Option<SocketAddr>,
    admin_addr: Option<SocketAddr>,
    registry_addr: Option<SocketAddr>,
}

/// The bound listeners a server serves: Kafka always, Kinesis, admin HTTP and the
/// schema registry if given.
pub struct Listeners {
    pub kafka: TcpListener,
    pub kinesis: Option<TcpListener>,
    pub admin: Option<TcpListener>,
    pub registry: Option<TcpListener>,
}

/// Serves the admin listener at once (health says "starting"), opens the broker, then
/// serves Kafka and Kinesis clients and turns ready.
pub async fn start(settings: &Settings, listeners: Listeners) -> anyhow::Result<Running> {
    let Listeners { kafka, kinesis, admin: admin_listener, registry } = listeners;
    let kafka_addr = kafka.local_addr()?;
    let kinesis_addr = kinesis.as_ref().map(|l| l.local_addr()).transpose()?;
    let admin_addr = admin_listener.as_ref().map(|l| l.local_addr()).transpose()?;
    let registry_addr = registry.as_ref().map(|l| l.local_addr()).transpose()?;
    let advertised = advertised_listener(settings.advertised_kafka_addr.as_deref(), kafka_addr)?;
    let shown = tidelog_admin::Listeners {
        kafka: format!("{}:{}", advertised.advertised_host, advertised.advertised_port),
        kinesis: kinesis_addr.map(|a| format!("http://{a}")),
        admin: admin_addr.map(|a| format!("http://{a}")),
    };
    let (stop, stopped) = watch::channel(false);
    let admin = Admin::new();
    let mut tasks = Vec::new();
    if let Some(listener) = admin_listener {
        tasks.push(tokio::spawn(tidelog_admin::serve(listener, admin.clone(), stopped.clone())));
    }
    let (config, dir) = (settings.broker.clone(), settings.data_dir.clone());
    let opened = tokio::task::spawn_blocking(move || Broker::open(config, &dir))
        .await?
        .with_context(|| format!("cannot open data directory {}", settings.data_dir.display()));
    let broker = match opened {
        Ok(broker) => broker,
        Err(e) => {
            stop.send_replace(true);
            return Err(e);
        }
    };
    tasks.push(tokio::spawn(tidelog_kafka::serve(kafka, broker.clone(), advertised, stopped.clone())));
    tasks.push(tokio::spawn(broker.clone().run_maintenance()));
    tasks.push(tokio::spawn(broker.clone().run_group_timers()));
    if let Some(listener) = registry {
        // Replays `_schemas` before serving, so the first answer already knows every id.
        let opening = broker.clone();
        let opened = tokio::task::spawn_blocking(move || tidelog_registry::Registry::open(opening)).await?;
        match opened {
            Ok(registry) => {
                // `confluent.*.schema.validation` topics ask this registry.
                broker.set_schema_validator(registry.clone());
                tasks.push(tokio::spawn(tidelog_registry::http::serve(listener, registry, stopped.clone())))
            }
            Err(e) => {
                stop.send_replace(true);
                return Err(anyhow::anyhow!("cannot open the schema registry: {e}"));
            }
        }
    }
    if let Some(listener) = kinesis {
        tasks.push(tokio::spawn(tidelog_kinesis::serve(listener, broker.clone(), stopped)));
    }
    admin.ready(broker.clone(), shown);
    Ok(Running { broker, admin, stop, tasks, kafka_addr, kinesis_addr, admin_addr, registry_addr })
}

fn advertised_listener(configured: Option<&str>, bound: SocketAddr) -> anyhow::Result<KafkaListener> {
    if let Some(addr) = configured {
        let (host, port) =
            addr.rsplit_once(':').with_context(|| format!("advertised address '{addr}' must be HOST:PORT"))?;
        let port = port.parse().with_context(|| format!("advertised address '{addr}' has a bad port"))?;
        return Ok(KafkaListener { advertised_host: host.trim_matches(['[', ']']).to_string(), advertised_port: port });
    }
    let host = if bound.ip().is_unspecified() {
        warn!("listening on all interfaces without --advertised-kafka-addr: advertising 127.0.0.1");
        "127.0.0.1".to_string()
    } else {
        bound.ip().to_string()
    };
    Ok(KafkaListener { advertised_host: host, advertised_port: bound.port() as i32 })
}

impl Running {
    pub fn kafka_addr(&self) -> SocketAddr {
        self.kafka_addr
    }

    pub fn kinesis_addr(&self) -> Option<SocketAddr> {
        self.kinesis_addr
    }

    pub fn admin_addr(&self) -> Option<SocketAddr> {
        self.admin_addr
    }

    pub fn registry_addr(&self) -> Option<SocketAddr> {
        self.registry_addr
    }

    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// Stops accepting, answers what connections already sent, flushes and fsyncs
    /// every partition and writes the clean-shutdown marker.
    pub async fn shutdown(self) -> anyhow::Result<()> {
        self.admin.stopping();
        self.broker.begin_shutdown();
        self.stop.send_replace(true);
        for task in self.tasks {
            if let Err(e) = task.await {
                warn!(error = %e, "task ended abnormally during shutdown");
            }
        }
        let broker = self.broker.clone();
        tokio::task::spawn_blocking(move || broker.shutdown()).await??;
        info!("tidelog stopped");
        Ok(())
    }
}
