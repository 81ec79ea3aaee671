//! Kafka's sampled rate (`Rate` over a `WindowedSum`) and the throttle time derived from
//! it (`QuotaUtils.throttleTime`), so that clients see the throttling a Kafka broker gives.
//!
//! Values are summed into `samples` windows of `window_ms` each; a window starts with the
//! first value recorded after the previous one ended, and windows older than
//! `samples × window_ms` are reset. The rate divides the sum by the time since the oldest
//! window began, but never by less than `samples − 1` full windows: a new client may use
//! that many windows' worth of quota at once, as in Kafka.

/// `quota.window.num` and `quota.window.size.seconds` (in ms).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateConfig {
    pub samples: usize,
    pub window_ms: i64,
}

impl Default for RateConfig {
    /// Kafka's defaults: 11 windows of one second.
    fn default() -> Self {
        RateConfig { samples: 11, window_ms: 1000 }
    }
}

impl RateConfig {
    /// The most that can be recorded at once without a certain throttle, as Kafka's
    /// `maxValueInQuotaWindow`: the fetch size is capped to it.
    pub fn max_value_in_window(&self, limit: f64) -> f64 {
        limit * (self.samples.saturating_sub(1)) as f64 * self.window_ms as f64 / 1000.0
    }
}

#[derive(Debug, Clone, Copy)]
struct Sample {
    value: f64,
    started_ms: i64,
}

impl Sample {
    fn new(now_ms: i64) -> Self {
        Sample { value: 0.0, started_ms: now_ms }
    }
}

/// A rate per second over sampled windows.
#[derive(Debug, Clone)]
pub struct SampledRate {
    samples: Vec<Sample>,
    current: usize,
}

impl SampledRate {
    pub fn new(now_ms: i64) -> Self {
        SampledRate { samples: vec![Sample::new(now_ms)], current: 0 }
    }

    /// Adds `value` (negative to take back a value recorded before) at `now_ms`.
    pub fn record(&mut self, config: RateConfig, value: f64, now_ms: i64) {
        if now_ms - self.samples[self.current].started_ms >= config.window_ms {
            self.advance(config, now_ms);
        }
        self.samples[self.current].value += value;
    }

    fn advance(&mut self, config: RateConfig, now_ms: i64) {
        self.current = (self.current + 1) % config.samples.max(1);
        if self.current >= self.samples.len() {
            self.samples.push(Sample::new(now_ms));
        } else {
            self.samples[self.current] = Sample::new(now_ms);
        }
    }

    fn purge_obsolete(&mut self, config: RateConfig, now_ms: i64) {
        let expire_age = config.samples as i64 * config.window_ms;
        for sample in &mut self.samples {
            if now_ms - sample.started_ms >= expire_age {
                *sample = Sample::new(now_ms);
            }
        }
    }

    /// The time the rate is taken over, in ms (Kafka's `Rate.windowSize`).
    pub fn window_size_ms(&mut self, config: RateConfig, now_ms: i64) -> i64 {
        self.purge_obsolete(config, now_ms);
        let oldest = self.samples.iter().map(|s| s.started_ms).min().unwrap_or(now_ms);
        let mut elapsed = now_ms - oldest;
        let full_windows = elapsed / config.window_ms;
        let min_full_windows = config.samples as i64 - 1;
        if full_windows < min_full_windows {
            elapsed += (min_full_windows - full_windows) * config.window_ms;
        }
        elapsed.max(1)
    }

    /// The rate per second at `now_ms`.
    pub fn measure(&mut self, config: RateConfig, now_ms: i64) -> f64 {
        let window_ms = self.window_size_ms(config, now_ms);
        let total: f64 = self.samples.iter().map(|s| s.value).sum();
        total / (window_ms as f64 / 1000.0)
    }

    /// How long to wait, in ms, until the rate is back within `limit` if nothing more is
    /// recorded: 0 when within it. Kafka's `(observed − quota) / quota × window`.
    pub fn throttle_ms(&mut self, config: RateConfig, limit: f64, now_ms: i64) -> u64 {
        let observed = self.measure(config, now_ms);
        if observed <= limit {
            return 0;
        }
        let window_ms = self.window_size_ms(config, now_ms) as f64;
        ((observed - limit) / limit * window_ms).round() as u64
    }

    /// When the last value was recorded into a window that is still counted.
    pub fn last_started_ms(&self) -> i64 {
        self.samples[self.current].started_ms
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE_SECOND: RateConfig = RateConfig { samples: 11, window_ms: 1000 };

    #[test]
    fn a_new_rate_is_taken_over_samples_minus_one_windows() {
        let mut rate = SampledRate::new(0);
        rate.record(ONE_SECOND, 1000.0, 0);
        assert_eq!(rate.window_size_ms(ONE_SECOND, 0), 10_000);
        assert_eq!(rate.measure(ONE_SECOND, 0), 100.0);
        // 2.5 s later: two full windows elapsed, still padded to ten.
        assert_eq!(rate.window_size_ms(ONE_SECOND, 2_500), 10_500);
        assert_eq!(ONE_SECOND.max_value_in_window(100.0), 1000.0);
    }

    #[test]
    fn throttle_time_is_kafkas_formula() {
        let mut rate = SampledRate::new(0);
        // 2,000 bytes against 100 B/s over a 10 s window: observed 200, (200-100)/100 × 10 s.
        rate.record(ONE_SECOND, 2000.0, 0);
        assert_eq!(rate.throttle_ms(ONE_SECOND, 100.0, 0), 10_000);
        assert_eq!(rate.throttle_ms(ONE_SECOND, 200.0, 0), 0, "exactly at the quota is within it");
        // 1,500 bytes: observed 150, half the window.
        let mut rate = SampledRate::new(0);
        rate.record(ONE_SECOND, 1500.0, 0);
        assert_eq!(rate.throttle_ms(ONE_SECOND, 100.0, 0), 5_000);
    }

    #[test]
    fn windows_roll_and_expire() {
        let config = RateConfig { samples: 2, window_ms: 1000 };
        let mut rate = SampledRate::new(0);
        rate.record(config, 100.0, 0);
        rate.record(config, 100.0, 1_200);
        // Both windows count: 200 over 1.5 s (oldest began at 0).
        assert!((rate.measure(config, 1_500) - 200.0 / 1.5).abs() < 1e-9);
        // The first window (started 0) expires at 2 s: only the second remains, over
        // the time since it began padded to one full window.
        assert!((rate.measure(config, 2_000) - 100.0 / 1.8).abs() < 1e-9);
        rate.record(config, -100.0, 2_000);
        assert_eq!(rate.measure(config, 2_000), 0.0, "unrecording takes a value back");
        // Everything expires after samples × window.
        rate.record(config, 500.0, 2_300);
        assert_eq!(rate.measure(config, 10_000), 0.0);
    }
}
