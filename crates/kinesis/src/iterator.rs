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
        let invalid = || KinesisError::invalid_argument(format!("Invalid ShardIterator: {text}"));
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
                format!("Iterator expired. The iterator was created at time {created_ms} while right now it is {now_ms} which is further in the future than the tolerated delay of {LIFETIME_MS} milliseconds."),
            ));
        }
        Ok(ShardIterator { stream, shard, offset, created_ms })
    }
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
    }
}
