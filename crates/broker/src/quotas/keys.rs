//! The quota keys each entity kind accepts and how values are checked, as Kafka's
//! `QuotaConfig` and `ClientQuotaControlManager` define them, with Kafka's messages.

use super::entity::{QuotaEntity, CLIENT_ID, IP, USER};

pub const PRODUCER_BYTE_RATE: &str = "producer_byte_rate";
pub const CONSUMER_BYTE_RATE: &str = "consumer_byte_rate";
pub const REQUEST_PERCENTAGE: &str = "request_percentage";
pub const CONTROLLER_MUTATION_RATE: &str = "controller_mutation_rate";
pub const CONNECTION_CREATION_RATE: &str = "connection_creation_rate";

/// The `ConfigDef` type of a key: it decides the range and fraction checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ValueType {
    Int,
    Long,
    Double,
}

/// `QuotaConfig.userAndClientQuotaConfigs()`.
const USER_AND_CLIENT_KEYS: &[(&str, ValueType)] = &[
    (PRODUCER_BYTE_RATE, ValueType::Long),
    (CONSUMER_BYTE_RATE, ValueType::Long),
    (REQUEST_PERCENTAGE, ValueType::Double),
    (CONTROLLER_MUTATION_RATE, ValueType::Double),
];

/// `QuotaConfig.ipConfigs()`.
const IP_KEYS: &[(&str, ValueType)] = &[(CONNECTION_CREATION_RATE, ValueType::Int)];

/// Checks the entity's types, names and combination; returns the keys it accepts.
pub(crate) fn keys_for(entity: &QuotaEntity) -> Result<&'static [(&'static str, ValueType)], String> {
    if entity.0.is_empty() {
        return Err("Invalid empty client quota entity".into());
    }
    for (entity_type, name) in &entity.0 {
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            return Err(format!("Unhandled client quota entity type: {entity_type}"));
        }
        if name.as_deref() == Some("") {
            return Err(format!("Empty {entity_type} not supported"));
        }
    }
    let (has_user, has_client, ip) = (entity.0.contains_key(USER), entity.0.contains_key(CLIENT_ID), entity.0.get(IP));
    match ip {
        // Kafka's message, missing space included.
        Some(_) if has_user || has_client => {
            Err("Invalid quota entity combination, IP entity shouldnot be combined with User or ClientId".into())
        }
        Some(Some(address)) if !is_valid_ip_entity(address) => {
            Err(format!("{address} is not a valid IP or resolvable host."))
        }
        Some(_) => Ok(IP_KEYS),
        None => Ok(USER_AND_CLIENT_KEYS),
    }
}

/// An IP literal, or a host name that resolves (Kafka's `InetAddress.getByName`).
fn is_valid_ip_entity(address: &str) -> bool {
    use std::net::ToSocketAddrs;
    address.parse::<std::net::IpAddr>().is_ok() || (address, 0).to_socket_addrs().is_ok_and(|mut a| a.next().is_some())
}

/// Checks one key and value against the keys the entity accepts.
pub(crate) fn validate_value(keys: &[(&str, ValueType)], key: &str, value: f64) -> Result<(), String> {
    let Some(&(_, value_type)) = keys.iter().find(|(k, _)| *k == key) else {
        return Err(format!("Invalid configuration key {key}"));
    };
    // Kafka admits NaN and infinite doubles; tidelog refuses them, since a rate compared
    // against them means nothing and JSON (the metadata log) cannot hold them.
    if !value.is_finite() {
        return Err(format!("Quota {key} must be a finite number"));
    }
    if value <= 0.0 {
        return Err(format!("Quota {key} must be greater than 0"));
    }
    let too_large = match value_type {
        ValueType::Double => return Ok(()),
        ValueType::Int => (value > i32::MAX as f64).then_some("an INT"),
        // Java widens Long.MAX_VALUE to 2^63 before comparing.
        ValueType::Long => (value > i64::MAX as f64).then_some("a LONG"),
    };
    if let Some(kind) = too_large {
        return Err(format!("Proposed value for {key} is too large for {kind}."));
    }
    if (value % 1.0).abs() > 1e-6 {
        return Err(format!("{key} cannot be a fractional value."));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(entity: &QuotaEntity, key: &str, value: f64) -> Result<(), String> {
        validate_value(keys_for(entity)?, key, value)
    }

    #[test]
    fn entities_accept_kafkas_keys_with_kafkas_messages() {
        let user = QuotaEntity::new([(USER, Some("alice"))]);
        let both = QuotaEntity::new([(USER, None), (CLIENT_ID, Some("app"))]);
        let ip = QuotaEntity::new([(IP, Some("10.0.0.1"))]);
        assert_eq!(check(&user, PRODUCER_BYTE_RATE, 1024.0), Ok(()));
        assert_eq!(check(&both, REQUEST_PERCENTAGE, 12.5), Ok(()));
        assert_eq!(check(&ip, CONNECTION_CREATION_RATE, 10.0), Ok(()));
        assert_eq!(check(&user, "bogus", 1.0).unwrap_err(), "Invalid configuration key bogus");
        assert_eq!(check(&ip, PRODUCER_BYTE_RATE, 1.0).unwrap_err(), "Invalid configuration key producer_byte_rate");
        assert_eq!(
            check(&user, PRODUCER_BYTE_RATE, 0.0).unwrap_err(),
            "Quota producer_byte_rate must be greater than 0"
        );
        assert_eq!(
            check(&user, CONSUMER_BYTE_RATE, 1.5).unwrap_err(),
            "consumer_byte_rate cannot be a fractional value."
        );
        assert_eq!(
            check(&ip, CONNECTION_CREATION_RATE, 3e9).unwrap_err(),
            "Proposed value for connection_creation_rate is too large for an INT."
        );
        assert!(check(&user, PRODUCER_BYTE_RATE, f64::NAN).is_err());
    }

    #[test]
    fn bad_entities_are_refused() {
        let err = |e: QuotaEntity| keys_for(&e).unwrap_err();
        assert_eq!(err(QuotaEntity::default()), "Invalid empty client quota entity");
        assert_eq!(err(QuotaEntity::new([("group", Some("g"))])), "Unhandled client quota entity type: group");
        assert_eq!(err(QuotaEntity::new([(USER, Some(""))])), "Empty user not supported");
        assert!(err(QuotaEntity::new([(IP, None), (USER, None)])).starts_with("Invalid quota entity combination"));
        assert_eq!(
            err(QuotaEntity::new([(IP, Some("not an ip!"))])),
            "not an ip! is not a valid IP or resolvable host."
        );
        assert!(keys_for(&QuotaEntity::new([(IP, None)])).is_ok(), "the default IP entity");
    }
}
