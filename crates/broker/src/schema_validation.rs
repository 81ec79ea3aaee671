//! Broker-side schema validation, under Confluent Server's topic settings
//! `confluent.key.schema.validation` and `confluent.value.schema.validation`: every record
//! key (value) of a produced batch must carry Confluent's wire format (magic byte 0, a
//! 4-byte schema id) with an id registered under the topic's subject (`<topic>-key`,
//! `<topic>-value`: TopicNameStrategy). The broker only asks; the schema registry (a
//! crate above this one) answers through [`SchemaValidator`]. Null keys and values
//! (keyless records, tombstones) carry no schema and pass.

use std::sync::Arc;

use bytes::Bytes;
use kafka_protocol::records::RecordBatchDecoder;

use crate::broker::Broker;
use crate::error::{BrokerError, Result};

/// Answers whether a payload names a schema registered for a subject.
pub trait SchemaValidator: Send + Sync {
    /// `Err` says why `payload` is not valid for `subject`.
    fn validate(&self, subject: &str, payload: &[u8]) -> std::result::Result<(), String>;
}

/// Which parts of a topic's records are validated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct SchemaValidation {
    pub key: bool,
    pub value: bool,
}

impl SchemaValidation {
    pub fn any(self) -> bool {
        self.key || self.value
    }
}

impl Broker {
    /// Installs what answers schema validation (the schema registry, when it runs).
    pub fn set_schema_validator(&self, validator: Arc<dyn SchemaValidator>) {
        *self.schema_validator.write() = Some(validator);
    }

    /// Checks every record of `batch` (a validated record batch) as `validation` asks.
    pub(crate) fn validate_schemas(&self, topic: &str, validation: SchemaValidation, batch: &[u8]) -> Result<()> {
        let validator = self.schema_validator.read().clone();
        let mut bytes = Bytes::copy_from_slice(batch);
        let set = RecordBatchDecoder::decode(&mut bytes)
            .map_err(|e| BrokerError::CorruptMessage(format!("record batch for {topic} does not decode: {e}")))?;
        let mut record_errors = Vec::new();
        for (index, record) in set.records.iter().enumerate() {
            let parts = [(validation.key, "key", &record.key), (validation.value, "value", &record.value)];
            for (_, part, payload) in parts.into_iter().filter(|(enabled, _, _)| *enabled) {
                let Some(payload) = payload else { continue };
                let subject = format!("{topic}-{part}");
                let outcome = match &validator {
                    Some(v) => v.validate(&subject, payload),
                    None => Err("cannot be checked: the schema registry is off".to_string()),
                };
                if let Err(reason) = outcome {
                    record_errors.push((index as i32, format!("record {part} {reason}")));
                    break;
                }
            }
        }
        if record_errors.is_empty() {
            return Ok(());
        }
        let message = format!(
            "{} of {} records refused by schema validation on topic {topic}: {}",
            record_errors.len(),
            set.records.len(),
            record_errors[0].1
        );
        Err(BrokerError::RecordsRejected { message, record_errors })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::access::RequestContext;
    use crate::admin::NewTopic;
    use crate::config::BrokerConfig;
    use kafka_protocol::records::Compression;

    /// Accepts id 7 for `t-value` only.
    struct Seven;

    impl SchemaValidator for Seven {
        fn validate(&self, subject: &str, payload: &[u8]) -> std::result::Result<(), String> {
            match payload {
                [0, 0, 0, 0, 7, ..] if subject == "t-value" => Ok(()),
                _ => Err(format!("has no schema id registered under {subject}")),
            }
        }
    }

    fn topic(broker: &Broker, key: &str, value: &str) {
        let configs = [
            ("confluent.key.schema.validation".to_string(), key.to_string()),
            ("confluent.value.schema.validation".to_string(), value.to_string()),
        ]
        .into();
        let topic = NewTopic { name: "t".into(), partitions: Some(1), replication_factor: None, configs };
        broker.create_topic(&RequestContext::local(), topic, false).unwrap();
    }

    /// A test record: key and value, either may be null.
    type KeyValue = (Option<&'static [u8]>, Option<&'static [u8]>);

    fn batch(records: &[KeyValue], compression: Compression) -> Vec<u8> {
        let records: Vec<_> =
            records.iter().map(|(k, v)| (k.map(Bytes::from_static), v.map(Bytes::from_static))).collect();
        crate::records::encode_batch(&records, crate::broker::now_ms(), compression).unwrap()
    }

    #[test]
    fn values_need_a_registered_id() {
        let broker = Broker::in_memory(BrokerConfig::default());
        topic(&broker, "false", "true");
        broker.set_schema_validator(Arc::new(Seven));
        let ctx = RequestContext::local();
        let good: &[u8] = &[0, 0, 0, 0, 7, 42];
        broker.append(&ctx, "t", 0, &batch(&[(None, Some(good)), (Some(b"k"), None)], Compression::Lz4)).unwrap();
        let err = broker.append(&ctx, "t", 0, &batch(&[(None, Some(good)), (None, Some(b"plain"))], Compression::None));
        let Err(BrokerError::RecordsRejected { message, record_errors }) = err else { panic!("{err:?}") };
        assert_eq!(record_errors, vec![(1, "record value has no schema id registered under t-value".to_string())]);
        assert!(message.contains("1 of 2 records"), "{message}");
        assert_eq!(broker.partition("t", 0).unwrap().offsets().log_end_offset, 2, "nothing of the refused batch");
    }

    #[test]
    fn keys_are_checked_under_their_own_subject_and_no_validator_refuses() {
        let broker = Broker::in_memory(BrokerConfig::default());
        topic(&broker, "true", "false");
        let ctx = RequestContext::local();
        let id7: &[u8] = &[0, 0, 0, 0, 7];
        let without = broker.append(&ctx, "t", 0, &batch(&[(Some(id7), None)], Compression::None));
        assert!(
            matches!(&without, Err(BrokerError::RecordsRejected { message, .. }) if message.contains("registry is off"))
        );
        broker.set_schema_validator(Arc::new(Seven));
        let err = broker.append(&ctx, "t", 0, &batch(&[(Some(id7), None)], Compression::None));
        assert!(
            matches!(&err, Err(BrokerError::RecordsRejected { message, .. }) if message.contains("t-key")),
            "{err:?}"
        );
        broker.append(&ctx, "t", 0, &batch(&[(None, Some(b"free"))], Compression::None)).unwrap();
    }
}
