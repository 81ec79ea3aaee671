//! Shard iterators: opaque to clients, here the stream, shard, position and creation time
//! in URL-safe base64. They expire after 300 s (ExpiredIteratorException), as on AWS.

use base64_simd::URL_SAFE_NO_PAD;

use crate::error::KinesisError;

pub const LIFETIME_MS: i64 = 300_000;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardIterator {
    pub stream: String,
    pub shard: i32,
    pub offset: u64,
    pub created_ms: i64,
}

impl ShardIterator {
    pub fn encode(&self) -> String {
        URL_SAFE_NO_PAD
            .encode_to_string(format!("v1/{}/{}/{}/{}", self.shard, self.offset, self.created_ms, self.stream))
    }

    /// Parses an iterator; expired ones are refused.
    pub fn decode(text: &str, now_ms: i64) -> Result<ShardIterator, KinesisError> {
        let invalid = || KinesisError::invalid_argument("Invalid ShardIterator.");
        let raw = URL_SAFE_NO_PAD.decode_to_vec(text).map_err(|_| invalid())?;
        let raw = String::from_utf8(raw).map_err(|_| invalid())?;
        let mut parts = raw.splitn(5, '/');
        if parts.next() != Some("v1") {
            return Err(invalid());
        }
        let mut field = || parts.next().ok_or_else(invalid);
        let shard = field()?.parse().map_err(|_| invalid())?;
        let offset = field()?.parse().map_err(|_| invalid())?;
        let created_ms: i64 = field()?.parse().map_err(|_| invalid())?;
        let stream = field()?.to_string();
        if now_ms - created_ms > LIFETIME_MS {
            return Err(KinesisError::new(
                "ExpiredIteratorException",
                format!(
                    "Iterator expired. The iterator was created at time {} while right now it is {} which is further in the future than the tolerated delay of {LIFETIME_MS} milliseconds.",
                    java_date(created_ms),
                    java_date(now_ms)
                ),
            ));
        }
        Ok(ShardIterator { stream, shard, offset, created_ms })
    }
}

/// Epoch milliseconds as Java's `Date.toString()` writes them in UTC, which AWS's
/// messages quote: `Thu Dec 10 01:59:39 UTC 2015`.
pub fn java_date(ms: i64) -> String {
    const DAYS: [&str; 7] = ["Thu", "Fri", "Sat", "Sun", "Mon", "Tue", "Wed"];
    const MONTHS: [&str; 12] = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    let (days, secs) = (ms.div_euclid(86_400_000), ms.rem_euclid(86_400_000) / 1000);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{} {} {day:02} {:02}:{:02}:{:02} UTC {year}",
        DAYS[days.rem_euclid(7) as usize],
        MONTHS[(month - 1) as usize],
        secs / 3600,
        secs / 60 % 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_expires() {
        let it = ShardIterator { stream: "a/b".into(), shard: 2, offset: 7, created_ms: 1000 };
        assert_eq!(ShardIterator::decode(&it.encode(), 2000).unwrap(), it);
        let expired = ShardIterator::decode(&it.encode(), 1000 + LIFETIME_MS + 1).unwrap_err();
        assert_eq!(expired.kind, "ExpiredIteratorException");
        assert_eq!(ShardIterator::decode("not-an-iterator!", 0).unwrap_err().kind, "InvalidArgumentException");
        // The instant of an answer AWS gave (recorded in a public client's comments).
        assert_eq!(java_date(1_449_712_779_000), "Thu Dec 10 01:59:39 UTC 2015");
        assert_eq!(java_date(0), "Thu Jan 01 00:00:00 UTC 1970");
    }
}
