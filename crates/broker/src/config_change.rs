//! Applies AlterConfigs / IncrementalAlterConfigs operations to one resource's stored
//! values (a topic's overrides, a dynamic broker layer, a group's configs) as Kafka's
//! `ConfigAdminManager.prepareIncrementalConfigs` does. Validation of the result is the
//! caller's: this only refuses operations the setting's kind does not allow.

use std::collections::BTreeMap;

use crate::admin::ConfigChange;
use crate::config::{ConfigError, Spec};

/// Applies `changes` in order. APPEND and SUBTRACT work on LIST settings only, starting
/// from the stored value or else the setting's default; a SUBTRACT may leave an empty list.
pub(crate) fn apply_changes(
    configs: &mut BTreeMap<String, String>,
    changes: &[ConfigChange],
    spec_of: impl Fn(&str) -> Option<&'static Spec>,
) -> Result<(), ConfigError> {
    for change in changes {
        match change {
            ConfigChange::ClearAll => configs.clear(),
            ConfigChange::Set(k, v) => {
                configs.insert(k.clone(), v.clone());
            }
            ConfigChange::Delete(k) => {
                configs.remove(k);
            }
            ConfigChange::Append(k, v) | ConfigChange::Subtract(k, v) => {
                let append = matches!(change, ConfigChange::Append(..));
                let Some(spec) = spec_of(k) else {
                    // Unknown: the validation of the result names it.
                    configs.insert(k.clone(), v.clone());
                    continue;
                };
                if !spec.kind.is_list() {
                    let op = if append { "append" } else { "subtract" };
                    return Err(ConfigError::Refused(format!("Config value {op} is not allowed for config key: {k}")));
                }
                let current = configs.get(k).cloned().or_else(|| spec.default.map(str::to_string)).unwrap_or_default();
                let mut items: Vec<String> = crate::config::values_list(&current);
                let given = crate::config::values_list(v);
                if append {
                    items.extend(given.into_iter().filter(|g| !items.contains(g)).collect::<Vec<_>>());
                } else {
                    items.retain(|i| !given.contains(i));
                }
                configs.insert(k.clone(), items.join(","));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::TOPIC_SPECS;

    fn spec(name: &str) -> Option<&'static Spec> {
        TOPIC_SPECS.iter().find(|t| t.spec.name == name).map(|t| &t.spec)
    }

    #[test]
    fn lists_append_and_subtract_down_to_empty() {
        let mut configs = BTreeMap::new();
        let policy = "cleanup.policy".to_string();
        apply_changes(&mut configs, &[ConfigChange::Append(policy.clone(), "compact".into())], spec).unwrap();
        assert_eq!(configs[&policy], "delete,compact");
        let both = [
            ConfigChange::Subtract(policy.clone(), "delete".into()),
            ConfigChange::Subtract(policy.clone(), "compact".into()),
        ];
        apply_changes(&mut configs, &both, spec).unwrap();
        assert_eq!(configs[&policy], "", "an empty cleanup.policy is kept, not refused");
        let err =
            apply_changes(&mut configs, &[ConfigChange::Append("retention.ms".into(), "5".into())], spec).unwrap_err();
        assert_eq!(err.to_string(), "Config value append is not allowed for config key: retention.ms");
    }
}
