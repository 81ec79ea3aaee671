//! The records of the `_schemas` topic, keyed and valued as Confluent's registry writes
//! them (JSON keys with a `keytype`), so the topic reads the same to tools that know it.
//! A later record with the same key replaces an earlier one; a tombstone removes it.

use serde::{Deserialize, Serialize};

use crate::schema::Reference;

/// The key of one `_schemas` record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "keytype", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RecordKey {
    /// One version of a subject.
    Schema { subject: String, version: i32, magic: i32 },
    /// A compatibility level: of a subject, or the global one (`subject` absent).
    Config {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        magic: i32,
    },
    /// A mode: of a subject, or the global one.
    Mode {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        subject: Option<String>,
        magic: i32,
    },
    /// Keys Confluent also writes (DELETE_SUBJECT, CLEAR_SUBJECT, NOOP, ...): what they
    /// say is also in the SCHEMA records this registry writes, so they are read and skipped.
    #[serde(other)]
    Other,
}

impl RecordKey {
    pub fn schema(subject: &str, version: i32) -> RecordKey {
        RecordKey::Schema { subject: subject.to_string(), version, magic: 1 }
    }

    pub fn config(subject: Option<&str>) -> RecordKey {
        RecordKey::Config { subject: subject.map(str::to_string), magic: 0 }
    }

    pub fn mode(subject: Option<&str>) -> RecordKey {
        RecordKey::Mode { subject: subject.map(str::to_string), magic: 0 }
    }
}

/// The value of a SCHEMA record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SchemaValue {
    pub subject: String,
    pub version: i32,
    pub id: i32,
    /// Absent for Avro, as Confluent writes it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema_type: Option<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub references: Vec<Reference>,
    pub schema: String,
    #[serde(default)]
    pub deleted: bool,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ConfigValue {
    pub compatibility_level: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModeValue {
    pub mode: String,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_written_as_confluent_writes_them() {
        let key = serde_json::to_string(&RecordKey::schema("orders-value", 3)).unwrap();
        assert_eq!(key, r#"{"keytype":"SCHEMA","subject":"orders-value","version":3,"magic":1}"#);
        assert_eq!(serde_json::to_string(&RecordKey::config(None)).unwrap(), r#"{"keytype":"CONFIG","magic":0}"#);
        let other: RecordKey = serde_json::from_str(r#"{"keytype":"NOOP","magic":0}"#).unwrap();
        assert_eq!(other, RecordKey::Other);
        let subject: RecordKey = serde_json::from_str(r#"{"keytype":"MODE","subject":"s","magic":0}"#).unwrap();
        assert_eq!(subject, RecordKey::mode(Some("s")));
    }
}
