//! AlterClientQuotas and DescribeClientQuotas on the broker, and the usage calls the
//! front-ends make per request. Alterations are validated as Kafka's
//! `ClientQuotaControlManager` does, entity by entity, and what passes is committed as one
//! metadata event (Kafka's atomic batch of quota records).

use std::collections::{BTreeMap, BTreeSet};

use super::entity::{EntityFilter, QuotaEntity, QuotaValue};
use super::image::QuotaChange;
use super::keys::{keys_for, validate_value};
use super::usage::QuotaKind;
use crate::access::{Operation, RequestContext, Resource};
use crate::broker::Broker;
use crate::error::{BrokerError, Result};
use crate::metadata::MetadataEvent;

/// One entity's changes: each key set to a value or removed (`None`).
#[derive(Debug, Clone, PartialEq)]
pub struct QuotaAlteration {
    pub entity: QuotaEntity,
    pub ops: Vec<(String, Option<f64>)>,
}

impl Broker {
    /// Applies `alterations` (nothing with `validate_only`); one result per alteration.
    pub fn alter_client_quotas(
        &self,
        ctx: &RequestContext,
        alterations: &[QuotaAlteration],
        validate_only: bool,
    ) -> Result<Vec<Result<()>>> {
        self.authorize(ctx, Operation::AlterConfigs, Resource::Cluster)?;
        let _guard = self.admin_lock.lock();
        let mut seen = BTreeSet::new();
        let mut changes = Vec::new();
        let results = alterations
            .iter()
            .map(|alteration| {
                if !seen.insert(&alteration.entity) {
                    return Err(BrokerError::InvalidRequest(format!(
                        "Ignoring duplicate entity {}",
                        alteration.entity
                    )));
                }
                let entity_changes = self.validate_alteration(alteration)?;
                changes.extend(entity_changes);
                Ok(())
            })
            .collect();
        if !validate_only && !changes.is_empty() {
            self.commit_event(MetadataEvent::ClientQuotasAltered { changes })?;
        }
        Ok(results)
    }

    /// The changes `alteration` makes to the current quotas, or why it is refused.
    fn validate_alteration(&self, alteration: &QuotaAlteration) -> Result<Vec<QuotaChange>> {
        let invalid = BrokerError::InvalidRequest;
        let entity = &alteration.entity;
        let mut keys = BTreeSet::new();
        for (key, _) in &alteration.ops {
            if !keys.insert(key) {
                return Err(invalid(format!("Duplicate quota key {key} not updating quota for this entity {entity}")));
            }
        }
        let accepted = keys_for(entity).map_err(invalid)?;
        let metadata = self.metadata.read();
        let current = metadata.client_quotas.quotas_of(entity);
        let mut changes = Vec::new();
        for (key, value) in &alteration.ops {
            let now = current.and_then(|q| q.get(key)).copied();
            match value {
                None if now.is_some() => {
                    changes.push(QuotaChange { entity: entity.clone(), key: key.clone(), value: None })
                }
                None => {}
                Some(value) => {
                    validate_value(accepted, key, *value).map_err(invalid)?;
                    if now != Some(*value) {
                        let value = Some(QuotaValue(*value));
                        changes.push(QuotaChange { entity: entity.clone(), key: key.clone(), value });
                    }
                }
            }
        }
        Ok(changes)
    }

    /// The entities whose components all match `filter` (validated by the caller) and,
    /// with `strict`, have no others; with their quotas.
    pub fn describe_client_quotas(
        &self,
        ctx: &RequestContext,
        filter: &BTreeMap<String, EntityFilter>,
        strict: bool,
    ) -> Result<Vec<(QuotaEntity, BTreeMap<String, f64>)>> {
        self.authorize(ctx, Operation::DescribeConfigs, Resource::Cluster)?;
        let metadata = self.metadata.read();
        Ok(metadata.client_quotas.describe(filter, strict).into_iter().map(|(e, q)| (e.clone(), q.clone())).collect())
    }

    /// Records `value` against the caller's `kind` quota; returns the throttle time in ms.
    pub fn record_quota_usage(&self, ctx: &RequestContext, kind: QuotaKind, value: f64, now_ms: i64) -> u64 {
        let metadata = self.metadata.read();
        let client_id = ctx.client_id.as_deref().unwrap_or_default();
        self.quota_usage.record(&metadata.client_quotas, kind, &ctx.principal.name, client_id, value, now_ms)
    }

    /// Takes back a value recorded with [`Broker::record_quota_usage`].
    pub fn unrecord_quota_usage(&self, ctx: &RequestContext, kind: QuotaKind, value: f64, now_ms: i64) {
        let metadata = self.metadata.read();
        let client_id = ctx.client_id.as_deref().unwrap_or_default();
        self.quota_usage.unrecord(&metadata.client_quotas, kind, &ctx.principal.name, client_id, value, now_ms)
    }

    /// The most the caller may take at once without a certain throttle (`None`: no quota).
    pub fn quota_window_max(&self, ctx: &RequestContext, kind: QuotaKind) -> Option<f64> {
        let metadata = self.metadata.read();
        let client_id = ctx.client_id.as_deref().unwrap_or_default();
        self.quota_usage.max_in_window(&metadata.client_quotas, kind, &ctx.principal.name, client_id)
    }

    /// The longest throttle request-time quotas give: one quota window (Kafka's
    /// `ClientRequestQuotaManager.maxThrottleTimeMs`).
    pub fn max_request_throttle_ms(&self) -> u64 {
        self.quota_usage.config().window_ms.max(0) as u64
    }
}

#[cfg(test)]
mod tests {
    use super::super::entity::{CLIENT_ID, USER};
    use super::*;
    use crate::BrokerConfig;

    fn alter(entity: QuotaEntity, ops: &[(&str, Option<f64>)]) -> QuotaAlteration {
        QuotaAlteration { entity, ops: ops.iter().map(|(k, v)| (k.to_string(), *v)).collect() }
    }

    fn quotas(broker: &Broker, entity: &QuotaEntity) -> Option<BTreeMap<String, f64>> {
        broker.metadata.read().client_quotas.quotas_of(entity).cloned()
    }

    #[test]
    fn alterations_validate_apply_and_survive_a_restart() {
        let dir = tempfile::tempdir().unwrap();
        let ctx = RequestContext::local();
        let app = QuotaEntity::new([(CLIENT_ID, Some("app"))]);
        let alice = QuotaEntity::new([(USER, Some("alice"))]);
        {
            let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
            let results = broker
                .alter_client_quotas(
                    &ctx,
                    &[
                        alter(app.clone(), &[("producer_byte_rate", Some(1024.0)), ("request_percentage", Some(50.0))]),
                        alter(alice.clone(), &[("bogus", Some(1.0))]),
                    ],
                    false,
                )
                .unwrap();
            assert!(results[0].is_ok());
            assert_eq!(results[1].as_ref().unwrap_err().to_string(), "Invalid configuration key bogus");
            assert_eq!(quotas(&broker, &alice), None, "a refused entity changes nothing");

            let dry = broker.alter_client_quotas(&ctx, &[alter(app.clone(), &[("producer_byte_rate", None)])], true);
            assert!(dry.unwrap()[0].is_ok());
            assert_eq!(quotas(&broker, &app).unwrap()["producer_byte_rate"], 1024.0, "validate_only stores nothing");

            let removed =
                broker.alter_client_quotas(&ctx, &[alter(app.clone(), &[("request_percentage", None)])], false);
            assert!(removed.unwrap()[0].is_ok());
            broker.shutdown().unwrap();
        }
        let broker = Broker::open(BrokerConfig::default(), dir.path()).unwrap();
        let replayed = quotas(&broker, &app).unwrap();
        assert_eq!(replayed.into_iter().collect::<Vec<_>>(), vec![("producer_byte_rate".to_string(), 1024.0)]);
    }

    #[test]
    fn duplicates_are_refused_with_kafkas_messages() {
        let broker = Broker::in_memory(BrokerConfig::default());
        let ctx = RequestContext::local();
        let app = QuotaEntity::new([(CLIENT_ID, Some("app"))]);
        let results = broker
            .alter_client_quotas(
                &ctx,
                &[
                    alter(app.clone(), &[("producer_byte_rate", Some(1.0)), ("producer_byte_rate", Some(2.0))]),
                    alter(app.clone(), &[("consumer_byte_rate", Some(1.0))]),
                ],
                false,
            )
            .unwrap();
        let message = |i: usize| results[i].as_ref().unwrap_err().to_string();
        assert!(message(0).starts_with("Duplicate quota key producer_byte_rate"), "{}", message(0));
        assert_eq!(message(1), "Ignoring duplicate entity ClientQuotaEntity(entries={client-id=app})");
    }
}
