//! Connection limits: `max.connections` across the listener and `max.connections.per.ip`
//! per client address. A connection past either is closed as soon as it is accepted, as
//! Kafka closes it; the ones already open are untouched.
//!
//! Counting happens in the accept loop and the slot is given back when the connection's
//! task ends (its [`Admitted`] is dropped), so the counts never drift from the tasks.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

/// Which limit refused a connection; also the `reason` label of the metric.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Refused {
    MaxConnections,
    MaxConnectionsPerIp,
}

impl Refused {
    pub(crate) fn reason(self) -> &'static str {
        match self {
            Refused::MaxConnections => "max_connections",
            Refused::MaxConnectionsPerIp => "max_connections_per_ip",
        }
    }

    pub(crate) fn setting(self) -> &'static str {
        match self {
            Refused::MaxConnections => "max.connections",
            Refused::MaxConnectionsPerIp => "max.connections.per.ip",
        }
    }
}

#[derive(Debug, Default)]
struct Counts {
    total: usize,
    per_ip: HashMap<IpAddr, usize>,
}

#[derive(Debug)]
pub(crate) struct ConnectionLimits {
    max_total: usize,
    max_per_ip: usize,
    counts: Mutex<Counts>,
}

impl ConnectionLimits {
    pub(crate) fn new(max_total: usize, max_per_ip: usize) -> Arc<Self> {
        Arc::new(ConnectionLimits { max_total, max_per_ip, counts: Mutex::default() })
    }

    /// Takes a slot for a connection from `ip`, or says which limit is reached.
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Admitted, Refused> {
        let mut counts = self.counts.lock();
        if counts.total >= self.max_total {
            return Err(Refused::MaxConnections);
        }
        let from_ip = counts.per_ip.entry(ip).or_default();
        if *from_ip >= self.max_per_ip {
            if *from_ip == 0 {
                counts.per_ip.remove(&ip);
            }
            return Err(Refused::MaxConnectionsPerIp);
        }
        *from_ip += 1;
        counts.total += 1;
        Ok(Admitted { limits: self.clone(), ip })
    }
}

/// One open connection's slot, given back on drop.
#[derive(Debug)]
pub(crate) struct Admitted {
    limits: Arc<ConnectionLimits>,
    ip: IpAddr,
}

impl Drop for Admitted {
    fn drop(&mut self) {
        let mut counts = self.limits.counts.lock();
        counts.total = counts.total.saturating_sub(1);
        if let Some(n) = counts.per_ip.get_mut(&self.ip) {
            *n = n.saturating_sub(1);
            // Forget addresses with nothing open, so the map does not grow with every client seen.
            if *n == 0 {
                counts.per_ip.remove(&self.ip);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(last: u8) -> IpAddr {
        IpAddr::from([10, 0, 0, last])
    }

    #[test]
    fn per_ip_and_total_limits_refuse_and_slots_come_back() {
        let limits = ConnectionLimits::new(3, 2);
        let a1 = limits.admit(ip(1)).unwrap();
        let _a2 = limits.admit(ip(1)).unwrap();
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refused::MaxConnectionsPerIp);
        let _b1 = limits.admit(ip(2)).unwrap();
        assert_eq!(limits.admit(ip(3)).unwrap_err(), Refused::MaxConnections);
        drop(a1);
        let _a3 = limits.admit(ip(1)).unwrap();
        assert_eq!(limits.counts.lock().total, 3);
    }

    #[test]
    fn addresses_with_nothing_open_are_forgotten() {
        let limits = ConnectionLimits::new(10, 0);
        assert_eq!(limits.admit(ip(1)).unwrap_err(), Refused::MaxConnectionsPerIp);
        assert!(limits.counts.lock().per_ip.is_empty(), "a refused address leaves no entry");
        let limits = ConnectionLimits::new(10, 5);
        drop(limits.admit(ip(1)).unwrap());
        assert!(limits.counts.lock().per_ip.is_empty());
        assert_eq!(limits.counts.lock().total, 0);
    }
}
