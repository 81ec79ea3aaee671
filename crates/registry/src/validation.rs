//! The registry's answer to broker-side schema validation: a payload is valid for a
//! subject when it starts with Confluent's wire format (magic byte 0, a 4-byte big-endian
//! schema id) and that id is a live version of the subject.

use crate::store::Registry;

impl tidelog_broker::SchemaValidator for Registry {
    fn validate(&self, subject: &str, payload: &[u8]) -> Result<(), String> {
        let [0, a, b, c, d, ..] = *payload else {
            return Err(format!(
                "does not start with magic byte 0 and a 4-byte schema id (it is {} bytes, first byte {:?})",
                payload.len(),
                payload.first()
            ));
        };
        let id = i32::from_be_bytes([a, b, c, d]);
        if self.is_live_in(id, subject) {
            Ok(())
        } else {
            Err(format!("names schema id {id}, which is not registered under subject {subject}"))
        }
    }
}

#[cfg(test)]
mod tests {
    use tidelog_broker::{Broker, BrokerConfig, SchemaValidator};

    use crate::store::Registry;
    use crate::subjects::SchemaRequest;

    #[tokio::test]
    async fn payloads_name_a_schema_of_the_subject() {
        let registry = Registry::open(Broker::in_memory(BrokerConfig::default())).unwrap();
        let request = SchemaRequest { schema: r#""string""#.into(), ..Default::default() };
        let id = registry.register("t-value", request).await.unwrap();
        let mut payload = vec![0];
        payload.extend_from_slice(&id.to_be_bytes());
        payload.extend_from_slice(b"\x06abc");
        assert_eq!(registry.validate("t-value", &payload), Ok(()));
        assert!(registry.validate("t-key", &payload).unwrap_err().contains("not registered under subject t-key"));
        assert!(registry.validate("t-value", b"\x01\x00\x00\x00\x01").unwrap_err().contains("magic byte 0"));
        assert!(registry.validate("t-value", &[0, 0]).unwrap_err().contains("2 bytes"));
        let other = [0, 0, 0, 0x7f, 0];
        assert!(registry.validate("t-value", &other).unwrap_err().contains("schema id 32512"));
    }
}
