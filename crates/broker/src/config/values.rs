//! Validation of one setting's value against its kind, with Kafka's wording
//! (`Invalid value x for configuration retention.ms: Not a number of type LONG`), and the
//! typed reading of values that passed it.

use super::{Kind, Spec};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum ConfigError {
    /// A broker setting of the config file or `--set` that does not exist.
    #[error("unknown setting '{0}'")]
    UnknownKey(String),
    #[error("Unknown topic config name: {0}")]
    UnknownTopicKey(String),
    #[error("Unknown group config name: {0}")]
    UnknownGroupKey(String),
    #[error("Invalid value {value} for configuration {key}: {reason}")]
    InvalidValue { key: String, value: String, reason: String },
    /// Values valid one by one that do not fit together, or an operation the setting does
    /// not allow; the message is Kafka's.
    #[error("{0}")]
    Refused(String),
}

/// Checks `value` against the spec's kind; returns the canonical text.
pub(super) fn validate(spec: &Spec, value: &str) -> Result<String, ConfigError> {
    let bad = |reason: String| ConfigError::InvalidValue { key: spec.name.into(), value: value.into(), reason };
    let trimmed = value.trim();
    match spec.kind {
        Kind::Int { min, max } => {
            let v = trimmed.parse::<i32>().map_err(|_| bad("Not a number of type INT".into()))?;
            in_range(i64::from(v), min, max).map_err(bad)
        }
        Kind::Long { min, max } => {
            let v = trimmed.parse::<i64>().map_err(|_| bad("Not a number of type LONG".into()))?;
            in_range(v, min, max).map_err(bad)
        }
        Kind::GzipLevel => match trimmed.parse::<i32>() {
            Ok(v) if v == -1 || (1..=9).contains(&v) => Ok(v.to_string()),
            Ok(_) => Err(bad("Value must be between 1 and 9".into())),
            Err(_) => Err(bad("Not a number of type INT".into())),
        },
        Kind::Ratio => match trimmed.parse::<f64>() {
            Ok(v) if v < 0.0 => Err(bad("Value must be at least 0".into())),
            Ok(v) if v > 1.0 => Err(bad("Value must be no more than 1".into())),
            Ok(v) => Ok(v.to_string()),
            Err(_) => Err(bad("Not a number of type DOUBLE".into())),
        },
        Kind::Bool => match trimmed.to_ascii_lowercase().as_str() {
            "true" => Ok("true".into()),
            "false" => Ok("false".into()),
            _ => Err(bad("Expected value to be either true or false".into())),
        },
        Kind::Choice(options) => options
            .iter()
            .find(|o| o.eq_ignore_ascii_case(trimmed))
            .map(|o| o.to_string())
            .ok_or_else(|| bad(format!("String must be one of: {}", options.join(", ")))),
        Kind::List(options) => {
            let mut items = Vec::new();
            for item in list_items(trimmed) {
                let known = options.iter().find(|o| o.eq_ignore_ascii_case(item));
                let item = known.ok_or_else(|| bad(format!("String must be one of: {}", options.join(", "))))?;
                // Kafka keeps a repeated policy once in effect; so does the stored text.
                if !items.contains(item) {
                    items.push(*item);
                }
            }
            Ok(items.join(","))
        }
        Kind::ThrottledReplicas => {
            let items: Vec<&str> = list_items(trimmed).collect();
            let pair = |i: &&str| {
                i.split_once(':')
                    .is_some_and(|(p, b)| p.trim().parse::<u32>().is_ok() && b.trim().parse::<u32>().is_ok())
            };
            if items == ["*"] || items.iter().all(pair) {
                Ok(items.iter().map(|i| i.replace(' ', "")).collect::<Vec<_>>().join(","))
            } else {
                Err(bad("Value must be a list of [partitionId]:[brokerId] pairs or the wildcard '*'".into()))
            }
        }
        Kind::Text => Ok(value.to_string()),
        Kind::TextList => Ok(list_items(trimmed).collect::<Vec<_>>().join(",")),
    }
}

/// The items of a LIST value, as Kafka splits them: on commas, trimmed, empty ones dropped.
pub(crate) fn list_items(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|s| !s.is_empty())
}

fn in_range(v: i64, min: i64, max: i64) -> Result<String, String> {
    if v < min {
        Err(format!("Value must be at least {min}"))
    } else if v > max {
        Err(format!("Value must be no more than {max}"))
    } else {
        Ok(v.to_string())
    }
}

/// A value type a setting can have; parses what validation already accepted.
pub trait SettingValue: Sized {
    fn from_validated(spec: &Spec, value: &str) -> Self;
}

impl SettingValue for i64 {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value.parse().unwrap_or_default()
    }
}

impl SettingValue for f64 {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value.parse().unwrap_or_default()
    }
}

impl SettingValue for bool {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value == "true"
    }
}

impl SettingValue for String {
    fn from_validated(_spec: &Spec, value: &str) -> Self {
        value.to_string()
    }
}

impl SettingValue for &'static str {
    /// The option as the schema spells it.
    fn from_validated(spec: &Spec, value: &str) -> Self {
        match spec.kind {
            Kind::Choice(options) => {
                options.iter().find(|o| **o == value).copied().unwrap_or(spec.default.unwrap_or_default())
            }
            _ => spec.default.unwrap_or_default(),
        }
    }
}
