//! Each client's recent usage against its quotas (Kafka's quota sensors), and the
//! throttle time a use earns. In memory only: usage is not metadata and starts afresh.

use std::collections::HashMap;

use parking_lot::Mutex;

use super::image::ClientQuotaImage;
use super::keys::{CONSUMER_BYTE_RATE, PRODUCER_BYTE_RATE, REQUEST_PERCENTAGE};
use super::rate::{RateConfig, SampledRate};
use super::resolve::SensorKey;

/// What is measured: each has its own quota key and its own usage.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum QuotaKind {
    /// Produce request bytes per second (`producer_byte_rate`).
    Produce,
    /// Fetch response bytes per second (`consumer_byte_rate`).
    Fetch,
    /// Request handling time, in percent of one thread (`request_percentage`).
    Request,
}

impl QuotaKind {
    pub fn key(self) -> &'static str {
        match self {
            QuotaKind::Produce => PRODUCER_BYTE_RATE,
            QuotaKind::Fetch => CONSUMER_BYTE_RATE,
            QuotaKind::Request => REQUEST_PERCENTAGE,
        }
    }
}

/// Usage unrecorded this long is dropped (Kafka expires quota sensors after an hour).
const IDLE_EXPIRY_MS: i64 = 3_600_000;
/// How often idle usage is looked for.
const PURGE_EVERY_MS: i64 = 60_000;

#[derive(Debug, Default)]
pub struct QuotaUsage {
    config: RateConfig,
    state: Mutex<State>,
}

#[derive(Debug, Default)]
struct State {
    rates: HashMap<(QuotaKind, SensorKey), SampledRate>,
    purged_ms: i64,
}

impl QuotaUsage {
    pub fn new(config: RateConfig) -> Self {
        QuotaUsage { config, state: Mutex::default() }
    }

    /// With the broker's `quota.window.num` and `quota.window.size.seconds`.
    pub fn for_config(config: &crate::config::BrokerConfig) -> Self {
        use crate::config::keys;
        // Validated as at least 1: the fallbacks are never taken.
        let samples = usize::try_from(config.get(keys::QUOTA_WINDOW_NUM)).unwrap_or(11);
        let window_ms = config.get(keys::QUOTA_WINDOW_SIZE_SECONDS).saturating_mul(1000);
        QuotaUsage::new(RateConfig { samples, window_ms })
    }

    pub fn config(&self) -> RateConfig {
        self.config
    }

    /// Records `value` for the client and returns the throttle time in ms it earns
    /// (0 within quota, or when no quota applies: then nothing is recorded).
    pub fn record(
        &self,
        image: &ClientQuotaImage,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
        value: f64,
        now_ms: i64,
    ) -> u64 {
        let Some((sensor, limit)) = image.resolve(user, client_id, kind.key()) else { return 0 };
        let mut state = self.state.lock();
        state.purge_idle(now_ms);
        let rate = state.rates.entry((kind, sensor)).or_insert_with(|| SampledRate::new(now_ms));
        rate.record(self.config, value, now_ms);
        rate.throttle_ms(self.config, limit, now_ms)
    }

    /// Takes back a value recorded before (a throttled fetch returns no data).
    pub fn unrecord(
        &self,
        image: &ClientQuotaImage,
        kind: QuotaKind,
        user: &str,
        client_id: &str,
        value: f64,
        now_ms: i64,
    ) {
        let Some((sensor, _)) = image.resolve(user, client_id, kind.key()) else { return };
        if let Some(rate) = self.state.lock().rates.get_mut(&(kind, sensor)) {
            rate.record(self.config, -value, now_ms);
        }
    }

    /// The most the client may take in one go without a certain throttle; `None`
    /// without a quota.
    pub fn max_in_window(&self, image: &ClientQuotaImage, kind: QuotaKind, user: &str, client_id: &str) -> Option<f64> {
        image.resolve(user, client_id, kind.key()).map(|(_, limit)| self.config.max_value_in_window(limit))
    }
}

impl State {
    fn purge_idle(&mut self, now_ms: i64) {
        if now_ms - self.purged_ms < PURGE_EVERY_MS {
            return;
        }
        self.purged_ms = now_ms;
        self.rates.retain(|_, rate| now_ms - rate.last_started_ms() < IDLE_EXPIRY_MS);
    }
}

#[cfg(test)]
mod tests {
    use super::super::entity::{QuotaEntity, QuotaValue, CLIENT_ID};
    use super::super::image::QuotaChange;
    use super::*;

    #[test]
    fn usage_is_counted_per_client_and_throttled_past_the_quota() {
        let mut image = ClientQuotaImage::default();
        let usage = QuotaUsage::new(RateConfig::default());
        assert_eq!(usage.record(&image, QuotaKind::Produce, "ANONYMOUS", "app", 1e9, 0), 0, "no quota");
        image.apply(&QuotaChange {
            entity: QuotaEntity::new([(CLIENT_ID, None)]),
            key: PRODUCER_BYTE_RATE.into(),
            value: Some(QuotaValue(100.0)),
        });
        // Ten windows' worth at once is allowed; more is throttled by Kafka's formula.
        assert_eq!(usage.record(&image, QuotaKind::Produce, "ANONYMOUS", "app", 1000.0, 0), 0);
        assert_eq!(usage.record(&image, QuotaKind::Produce, "ANONYMOUS", "app", 500.0, 0), 5000);
        assert_eq!(usage.record(&image, QuotaKind::Produce, "ANONYMOUS", "other", 1000.0, 0), 0, "own usage");
        assert_eq!(usage.record(&image, QuotaKind::Fetch, "ANONYMOUS", "app", 1e9, 0), 0, "other key");
        usage.unrecord(&image, QuotaKind::Produce, "ANONYMOUS", "app", 500.0, 0);
        assert_eq!(usage.record(&image, QuotaKind::Produce, "ANONYMOUS", "app", 0.0, 0), 0);
        assert_eq!(usage.max_in_window(&image, QuotaKind::Produce, "ANONYMOUS", "app"), Some(1000.0));
        assert_eq!(usage.max_in_window(&image, QuotaKind::Fetch, "ANONYMOUS", "app"), None);
    }
}
