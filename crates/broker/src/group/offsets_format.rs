//! Records of the internal `__consumer_offsets` topic, in Kafka's own layout so that
//! Kafka's tools can read them:
//! - offset commit key v1: version i16 = 1, group, topic, partition i32
//! - offset commit value v3: version i16 = 3, offset i64, leader epoch i32, metadata, commit timestamp i64
//! - group metadata key v2: version i16 = 2, group (only ever written as a tombstone here)
//!
//! Strings are i16 length + UTF-8. A null value is a tombstone. Decoding never panics.

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CommittedOffset {
    pub offset: i64,
    pub leader_epoch: i32,
    pub metadata: String,
    pub commit_timestamp: i64,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OffsetsRecord {
    /// `None`: the commit was deleted.
    Commit { group: String, topic: String, partition: i32, value: Option<CommittedOffset> },
    /// `false`: the group was deleted.
    Group { group: String, present: bool },
}

fn put_str(out: &mut Vec<u8>, s: &str) {
    out.extend_from_slice(&(s.len() as i16).to_be_bytes());
    out.extend_from_slice(s.as_bytes());
}

pub fn offset_key(group: &str, topic: &str, partition: i32) -> Vec<u8> {
    let mut out = 1i16.to_be_bytes().to_vec();
    put_str(&mut out, group);
    put_str(&mut out, topic);
    out.extend_from_slice(&partition.to_be_bytes());
    out
}

pub fn offset_value(v: &CommittedOffset) -> Vec<u8> {
    let mut out = 3i16.to_be_bytes().to_vec();
    out.extend_from_slice(&v.offset.to_be_bytes());
    out.extend_from_slice(&v.leader_epoch.to_be_bytes());
    put_str(&mut out, &v.metadata);
    out.extend_from_slice(&v.commit_timestamp.to_be_bytes());
    out
}

pub fn group_key(group: &str) -> Vec<u8> {
    let mut out = 2i16.to_be_bytes().to_vec();
    put_str(&mut out, group);
    out
}

struct Reader<'a>(&'a [u8]);

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], String> {
        if self.0.len() < n {
            return Err(format!("record ends {} bytes early", n - self.0.len()));
        }
        let (head, tail) = self.0.split_at(n);
        self.0 = tail;
        Ok(head)
    }
    fn i16(&mut self) -> Result<i16, String> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into().map_err(|_| "i16")?))
    }
    fn i32(&mut self) -> Result<i32, String> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into().map_err(|_| "i32")?))
    }
    fn i64(&mut self) -> Result<i64, String> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into().map_err(|_| "i64")?))
    }
    fn string(&mut self) -> Result<String, String> {
        let len = self.i16()?;
        if len < 0 {
            return Err(format!("negative string length {len}"));
        }
        String::from_utf8(self.take(len as usize)?.to_vec()).map_err(|e| e.to_string())
    }
}

pub fn decode(key: &[u8], value: Option<&[u8]>) -> Result<OffsetsRecord, String> {
    let mut k = Reader(key);
    match k.i16()? {
        0 | 1 => {
            let (group, topic, partition) = (k.string()?, k.string()?, k.i32()?);
            let value = match value {
                None => None,
                Some(bytes) => {
                    let mut v = Reader(bytes);
                    let version = v.i16()?;
                    let offset = v.i64()?;
                    let leader_epoch = if version >= 3 { v.i32()? } else { -1 };
                    let metadata = v.string()?;
                    let commit_timestamp = v.i64()?;
                    Some(CommittedOffset { offset, leader_epoch, metadata, commit_timestamp })
                }
            };
            Ok(OffsetsRecord::Commit { group, topic, partition, value })
        }
        2 => Ok(OffsetsRecord::Group { group: k.string()?, present: value.is_some() }),
        other => Err(format!("unknown __consumer_offsets key version {other}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_rejects_garbage() {
        let v = CommittedOffset { offset: 42, leader_epoch: 3, metadata: "m".into(), commit_timestamp: 7 };
        let key = offset_key("g", "t", 5);
        assert_eq!(
            decode(&key, Some(&offset_value(&v))).unwrap(),
            OffsetsRecord::Commit { group: "g".into(), topic: "t".into(), partition: 5, value: Some(v) }
        );
        assert_eq!(decode(&group_key("g"), None).unwrap(), OffsetsRecord::Group { group: "g".into(), present: false });
        assert!(decode(&key[..5], None).is_err());
        assert!(decode(&[0, 9], None).is_err());
        assert!(decode(&key, Some(&[0, 3, 1])).is_err());
    }
}
