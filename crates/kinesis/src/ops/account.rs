//! Account settings: the minimum throughput billing commitment (Describe- and
//! UpdateAccountSettings). A commitment lasts at least 24 hours: disabling it sooner
//! schedules its end at the earliest allowed time, and enabling it again before then
//! cancels that, as AWS documents. Kept in memory for the process's one account (lost on
//! restart: there is no billing here to keep it for).

use parking_lot::Mutex;
use serde::Deserialize;
use serde_json::{json, Map, Value};
use tidelog_broker::now_ms;

use super::{seconds, Output};
use crate::error::KinesisError;
use crate::server::Call;

/// The shortest a commitment lasts.
const MINIMUM_COMMITMENT_MS: i64 = 24 * 3_600_000;

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
struct Commitment {
    started_ms: Option<i64>,
    /// Disabling was asked for: the commitment ends at `started + 24 h`, or ended then.
    ending_ms: Option<i64>,
}

impl Commitment {
    fn status(&self, now: i64) -> &'static str {
        match (self.started_ms, self.ending_ms) {
            (None, _) => "DISABLED",
            (Some(_), None) => "ENABLED",
            (Some(_), Some(end)) if now < end => "ENABLED_UNTIL_EARLIEST_ALLOWED_END",
            (Some(_), Some(_)) => "DISABLED",
        }
    }

    fn enabled(&self, now: i64) -> bool {
        self.status(now) != "DISABLED"
    }

    fn update(&mut self, enable: bool, now: i64) {
        match (enable, self.enabled(now)) {
            (true, true) => self.ending_ms = None,
            (true, false) => *self = Commitment { started_ms: Some(now), ending_ms: None },
            (false, true) if self.ending_ms.is_none() => {
                let earliest = self.started_ms.unwrap_or(now) + MINIMUM_COMMITMENT_MS;
                self.ending_ms = Some(earliest.max(now));
            }
            (false, _) => {}
        }
    }

    fn describe(&self, now: i64) -> Value {
        let mut out = Map::new();
        out.insert("Status".into(), json!(self.status(now)));
        if let Some(started) = self.started_ms {
            out.insert("StartedAt".into(), seconds(started));
            out.insert("EarliestAllowedEndAt".into(), seconds(started + MINIMUM_COMMITMENT_MS));
        }
        if let Some(end) = self.ending_ms.filter(|&end| end <= now) {
            out.insert("EndedAt".into(), seconds(end));
        }
        Value::Object(out)
    }
}

static COMMITMENT: Mutex<Commitment> = Mutex::new(Commitment { started_ms: None, ending_ms: None });

/// Whether the account has a minimum throughput billing commitment now (warm throughput
/// needs one).
pub fn committed() -> bool {
    COMMITMENT.lock().enabled(now_ms())
}

pub fn describe(_call: &Call) -> Output {
    Ok(json!({ "MinimumThroughputBillingCommitment": COMMITMENT.lock().describe(now_ms()) }))
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct CommitmentInput {
    status: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct UpdateInput {
    minimum_throughput_billing_commitment: CommitmentInput,
}

pub fn update(_call: &Call, input: UpdateInput) -> Output {
    let now = now_ms();
    let mut commitment = COMMITMENT.lock();
    match input.minimum_throughput_billing_commitment.status.as_str() {
        "ENABLED" => commitment.update(true, now),
        "DISABLED" => commitment.update(false, now),
        // `spec` has checked the enum already.
        other => return Err(KinesisError::invalid_argument(format!("Unknown commitment status {other}"))),
    }
    Ok(json!({ "MinimumThroughputBillingCommitment": commitment.describe(now) }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_commitment_lasts_its_minimum_and_can_be_resumed() {
        let mut c = Commitment::default();
        assert_eq!(c.status(0), "DISABLED");
        c.update(true, 1000);
        assert_eq!(c.status(2000), "ENABLED");
        c.update(false, 2000);
        assert_eq!(c.status(2000), "ENABLED_UNTIL_EARLIEST_ALLOWED_END");
        c.update(true, 3000);
        assert_eq!((c.status(3000), c.started_ms), ("ENABLED", Some(1000)), "resumed, not restarted");
        c.update(false, 4000);
        let end = 1000 + MINIMUM_COMMITMENT_MS;
        assert_eq!(c.status(end), "DISABLED");
        assert_eq!(c.describe(end)["EndedAt"], seconds(end));
        c.update(true, end + 1);
        assert_eq!((c.status(end + 1), c.started_ms), ("ENABLED", Some(end + 1)));
    }
}
