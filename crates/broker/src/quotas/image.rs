//! The client quotas the committed metadata holds, and DescribeClientQuotas' filtering
//! of them (Kafka's `ClientQuotasImage`). Changed only by applying committed events.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::entity::{EntityFilter, QuotaEntity, QuotaValue};

/// One key of one entity set (`value`) or removed (`None`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct QuotaChange {
    pub entity: QuotaEntity,
    pub key: String,
    pub value: Option<QuotaValue>,
}

#[derive(Debug, Clone, Default)]
pub struct ClientQuotaImage {
    entities: BTreeMap<QuotaEntity, BTreeMap<String, f64>>,
}

impl ClientQuotaImage {
    pub fn apply(&mut self, change: &QuotaChange) {
        match change.value {
            Some(QuotaValue(value)) => {
                self.entities.entry(change.entity.clone()).or_default().insert(change.key.clone(), value);
            }
            None => {
                if let Some(quotas) = self.entities.get_mut(&change.entity) {
                    quotas.remove(&change.key);
                    if quotas.is_empty() {
                        self.entities.remove(&change.entity);
                    }
                }
            }
        }
    }

    pub fn is_empty(&self) -> bool {
        self.entities.is_empty()
    }

    /// The quotas of exactly `entity`.
    pub fn quotas_of(&self, entity: &QuotaEntity) -> Option<&BTreeMap<String, f64>> {
        self.entities.get(entity)
    }

    /// The entities matching every component of `filter` (entity type → match), and
    /// with `strict` no component besides them, as Kafka's `ClientQuotasImage.describe`.
    pub fn describe(
        &self,
        filter: &BTreeMap<String, EntityFilter>,
        strict: bool,
    ) -> Vec<(&QuotaEntity, &BTreeMap<String, f64>)> {
        self.entities
            .iter()
            .filter(|(entity, _)| !strict || entity.0.len() == filter.len())
            .filter(|(entity, _)| {
                filter.iter().all(|(entity_type, wanted)| match (entity.component(entity_type), wanted) {
                    (None, _) => false,
                    (Some(name), EntityFilter::Exact(wanted)) => name == Some(wanted.as_str()),
                    (Some(name), EntityFilter::Default) => name.is_none(),
                    (Some(_), EntityFilter::Any) => true,
                })
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::super::entity::{CLIENT_ID, USER};
    use super::*;

    fn set(image: &mut ClientQuotaImage, entity: &QuotaEntity, key: &str, value: Option<f64>) {
        image.apply(&QuotaChange { entity: entity.clone(), key: key.into(), value: value.map(QuotaValue) });
    }

    #[test]
    fn describe_filters_by_exact_default_and_any_with_and_without_strict() {
        let mut image = ClientQuotaImage::default();
        let alice = QuotaEntity::new([(USER, Some("alice"))]);
        let alice_app = QuotaEntity::new([(USER, Some("alice")), (CLIENT_ID, Some("app"))]);
        let default_user = QuotaEntity::new([(USER, None)]);
        let app = QuotaEntity::new([(CLIENT_ID, Some("app"))]);
        for e in [&alice, &alice_app, &default_user, &app] {
            set(&mut image, e, "producer_byte_rate", Some(100.0));
        }
        let names = |filter: &[(&str, EntityFilter)], strict| {
            let filter = filter.iter().map(|(t, f)| (t.to_string(), f.clone())).collect();
            image
                .describe(&filter, strict)
                .into_iter()
                .map(|(e, _)| e.clone())
                .collect::<std::collections::BTreeSet<_>>()
        };
        let exact_alice = [(USER, EntityFilter::Exact("alice".into()))];
        assert_eq!(names(&exact_alice, false), [alice.clone(), alice_app.clone()].into());
        assert_eq!(names(&exact_alice, true), [alice.clone()].into());
        assert_eq!(names(&[(USER, EntityFilter::Default)], false), [default_user.clone()].into());
        assert_eq!(names(&[(USER, EntityFilter::Any)], true), [alice.clone(), default_user.clone()].into());
        assert_eq!(names(&[(CLIENT_ID, EntityFilter::Any)], false), [alice_app.clone(), app.clone()].into());
        assert_eq!(names(&[], false).len(), 4);
        assert!(names(&[], true).is_empty());

        set(&mut image, &app, "producer_byte_rate", None);
        assert!(image.quotas_of(&app).is_none(), "an entity without quotas is gone");
    }
}
