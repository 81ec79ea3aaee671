//! What the admin listener knows: the broker once it is open, the phase of the process,
//! and the addresses of the other listeners.

use std::sync::atomic::{AtomicU8, Ordering};
use std::sync::{Arc, OnceLock};

use tidelog_broker::Broker;

/// Where the process is in its life; `/health/ready` is 200 only when `Ready`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Phase {
    /// Opening the data directory (recovery may take a while after an unclean stop).
    Starting,
    Ready,
    /// Shutdown requested: draining connections.
    Stopping,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Starting => "starting",
            Phase::Ready => "ready",
            Phase::Stopping => "stopping",
        }
    }
}

#[derive(Default)]
pub struct Admin {
    broker: OnceLock<Arc<Broker>>,
    phase: AtomicU8,
    listeners: OnceLock<Listeners>,
}

/// Addresses clients use, shown by `/v1/cluster`.
#[derive(Debug, Clone, serde::Serialize)]
pub struct Listeners {
    pub kafka: String,
    pub kinesis: Option<String>,
    pub admin: Option<String>,
}

impl Admin {
    pub fn new() -> Arc<Admin> {
        tidelog_broker::metrics::register();
        tidelog_kafka::metrics::register();
        tidelog_kinesis::metrics::register();
        crate::exposition::register_process_metrics();
        Arc::new(Admin::default())
    }

    /// The broker is open and every listener accepts: ready.
    pub fn ready(&self, broker: Arc<Broker>, listeners: Listeners) {
        let _ = self.broker.set(broker);
        let _ = self.listeners.set(listeners);
        self.phase.store(1, Ordering::Release);
    }

    pub fn stopping(&self) {
        self.phase.store(2, Ordering::Release);
    }

    pub fn phase(&self) -> Phase {
        match self.phase.load(Ordering::Acquire) {
            0 => Phase::Starting,
            1 => Phase::Ready,
            _ => Phase::Stopping,
        }
    }

    pub fn broker(&self) -> Option<&Arc<Broker>> {
        self.broker.get()
    }

    pub fn listeners(&self) -> Option<&Listeners> {
        self.listeners.get()
    }
}
