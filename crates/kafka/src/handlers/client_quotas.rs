//! DescribeClientQuotas (48) and AlterClientQuotas (49): the wire forms of quota entities,
//! filters and alterations, mapped onto the broker's quota calls. The filter is checked
//! here, with Kafka's errors and messages (`ClientQuotasImage.describe`).

use std::collections::BTreeMap;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_client_quotas_response::{EntityData as AlteredEntity, EntryData as AlteredEntry};
use kafka_protocol::messages::describe_client_quotas_response::{EntityData, EntryData, ValueData};
use kafka_protocol::messages::{
    AlterClientQuotasRequest, AlterClientQuotasResponse, DescribeClientQuotasRequest, DescribeClientQuotasResponse,
};
use tidelog_broker::quotas::{EntityFilter, QuotaAlteration, QuotaEntity, CLIENT_ID, IP, USER};

use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

const MATCH_EXACT: i8 = 0;
const MATCH_DEFAULT: i8 = 1;
const MATCH_ANY: i8 = 2;

pub(crate) fn describe(
    ctx: &Arc<Scope>,
    request: DescribeClientQuotasRequest,
    _version: i16,
) -> DescribeClientQuotasResponse {
    let refused = |error: ResponseError, message: String| {
        DescribeClientQuotasResponse::default()
            .with_error_code(error.code())
            .with_error_message(Some(str_bytes(message)))
            .with_entries(None)
    };
    let filter = match filter(&request) {
        Ok(filter) => filter,
        Err((error, message)) => return refused(error, message),
    };
    match ctx.broker.describe_client_quotas(&ctx.caller, &filter, request.strict) {
        Ok(found) => {
            let entries = found
                .into_iter()
                .map(|(entity, quotas)| {
                    EntryData::default()
                        .with_entity(
                            entity
                                .0
                                .into_iter()
                                .map(|(t, n)| {
                                    EntityData::default()
                                        .with_entity_type(str_bytes(t))
                                        .with_entity_name(n.map(str_bytes))
                                })
                                .collect(),
                        )
                        .with_values(
                            quotas
                                .into_iter()
                                .map(|(k, v)| ValueData::default().with_key(str_bytes(k)).with_value(v))
                                .collect(),
                        )
                })
                .collect();
            DescribeClientQuotasResponse::default().with_error_code(NONE).with_entries(Some(entries))
        }
        Err(e) => DescribeClientQuotasResponse::default()
            .with_error_code(error_code(&e))
            .with_error_message(Some(str_bytes(e.to_string())))
            .with_entries(None),
    }
}

/// The request's components as entity type → match, or Kafka's error for them.
fn filter(request: &DescribeClientQuotasRequest) -> Result<BTreeMap<String, EntityFilter>, (ResponseError, String)> {
    let invalid = |message: String| (ResponseError::InvalidRequest, message);
    let mut filter = BTreeMap::new();
    for component in &request.components {
        let entity_type = component.entity_type.to_string();
        if entity_type.is_empty() {
            return Err(invalid("Invalid empty entity type.".into()));
        }
        if filter.contains_key(&entity_type) {
            return Err(invalid(format!("Entity type {entity_type} cannot appear more than once in the filter.")));
        }
        if ![USER, CLIENT_ID, IP].contains(&entity_type.as_str()) {
            return Err((ResponseError::UnsupportedVersion, format!("Unsupported entity type {entity_type}")));
        }
        let wanted = match (component.match_type, &component._match) {
            (MATCH_EXACT, Some(name)) => EntityFilter::Exact(name.to_string()),
            (MATCH_EXACT, None) => {
                return Err(invalid("Request specified MATCH_TYPE_EXACT, but set match string to null.".into()))
            }
            (MATCH_DEFAULT, None) => EntityFilter::Default,
            (MATCH_DEFAULT, Some(_)) => {
                return Err(invalid("Request specified MATCH_TYPE_DEFAULT, but also specified a match string.".into()))
            }
            (MATCH_ANY, None) => EntityFilter::Any,
            (MATCH_ANY, Some(_)) => {
                return Err(invalid(
                    "Request specified MATCH_TYPE_SPECIFIED, but also specified a match string.".into(),
                ))
            }
            (other, _) => return Err(invalid(format!("Unknown match type {other}"))),
        };
        filter.insert(entity_type, wanted);
    }
    if filter.contains_key(IP) && (filter.contains_key(USER) || filter.contains_key(CLIENT_ID)) {
        return Err(invalid(
            "Invalid entity filter component combination. IP filter component should not be used with user or \
             clientId filter component."
                .into(),
        ));
    }
    Ok(filter)
}

pub(crate) fn alter(ctx: &Arc<Scope>, request: AlterClientQuotasRequest, _version: i16) -> AlterClientQuotasResponse {
    let alterations: Vec<QuotaAlteration> = request
        .entries
        .iter()
        .map(|entry| QuotaAlteration {
            // A type given twice keeps its last name, as Kafka's request parsing does.
            entity: QuotaEntity(
                entry
                    .entity
                    .iter()
                    .map(|e| (e.entity_type.to_string(), e.entity_name.as_ref().map(|n| n.to_string())))
                    .collect(),
            ),
            ops: entry.ops.iter().map(|op| (op.key.to_string(), (!op.remove).then_some(op.value))).collect(),
        })
        .collect();
    let outcome = ctx.broker.alter_client_quotas(&ctx.caller, &alterations, request.validate_only);
    let entries = request
        .entries
        .into_iter()
        .enumerate()
        .map(|(i, entry)| {
            let error = match &outcome {
                Ok(results) => results.get(i).and_then(|r| r.as_ref().err()),
                Err(e) => Some(e),
            };
            AlteredEntry::default()
                .with_error_code(error.map_or(NONE, error_code))
                .with_error_message(error.map(|e| str_bytes(e.to_string())))
                .with_entity(
                    entry
                        .entity
                        .into_iter()
                        .map(|e| {
                            AlteredEntity::default().with_entity_type(e.entity_type).with_entity_name(e.entity_name)
                        })
                        .collect(),
                )
        })
        .collect();
    AlterClientQuotasResponse::default().with_entries(entries)
}

#[cfg(test)]
mod tests {
    use kafka_protocol::messages::alter_client_quotas_request::{EntityData as Entity, EntryData as Entry, OpData};
    use kafka_protocol::messages::describe_client_quotas_request::ComponentData;
    use tidelog_broker::{Broker, BrokerConfig};

    use super::*;

    fn set(entity: &[(&str, Option<&str>)], ops: &[(&str, f64, bool)]) -> Entry {
        Entry::default()
            .with_entity(
                entity
                    .iter()
                    .map(|(t, n)| Entity::default().with_entity_type(str_bytes(*t)).with_entity_name(n.map(str_bytes)))
                    .collect(),
            )
            .with_ops(
                ops.iter()
                    .map(|(k, v, remove)| OpData::default().with_key(str_bytes(*k)).with_value(*v).with_remove(*remove))
                    .collect(),
            )
    }

    fn component(entity_type: &str, match_type: i8, name: Option<&str>) -> ComponentData {
        ComponentData::default()
            .with_entity_type(str_bytes(entity_type))
            .with_match_type(match_type)
            .with_match(name.map(str_bytes))
    }

    #[test]
    fn alter_then_describe_round_trips_with_kafkas_errors() {
        let ctx = Scope::for_tests(Broker::in_memory(BrokerConfig::default()));
        let request = AlterClientQuotasRequest::default().with_entries(vec![
            set(&[(USER, None), (CLIENT_ID, Some("app"))], &[("producer_byte_rate", 1024.0, false)]),
            set(&[(USER, Some("alice"))], &[("not_a_quota", 1.0, false)]),
        ]);
        let response = alter(&ctx, request, 1);
        assert_eq!(response.entries[0].error_code, NONE);
        assert_eq!(response.entries[1].error_code, ResponseError::InvalidRequest.code());
        assert_eq!(response.entries[1].error_message.as_deref(), Some("Invalid configuration key not_a_quota"));

        let describe_with = |components: Vec<ComponentData>, strict: bool| {
            describe(&ctx, DescribeClientQuotasRequest::default().with_components(components).with_strict(strict), 1)
        };
        let found = describe_with(vec![component(CLIENT_ID, MATCH_EXACT, Some("app"))], false);
        let entries = found.entries.unwrap();
        assert_eq!(entries.len(), 1);
        assert_eq!(entries[0].values[0].key.as_str(), "producer_byte_rate");
        assert_eq!(entries[0].values[0].value, 1024.0);
        assert_eq!(entries[0].entity.len(), 2);
        assert!(describe_with(vec![component(CLIENT_ID, MATCH_EXACT, Some("app"))], true).entries.unwrap().is_empty());
        assert_eq!(describe_with(vec![component(USER, MATCH_DEFAULT, None)], false).entries.unwrap().len(), 1);

        let bad = describe_with(vec![component("group", MATCH_ANY, None)], false);
        assert_eq!(bad.error_code, ResponseError::UnsupportedVersion.code());
        let bad = describe_with(vec![component(USER, MATCH_EXACT, None)], false);
        assert_eq!(bad.error_code, ResponseError::InvalidRequest.code());
        assert!(bad.entries.is_none());
        let bad = describe_with(vec![component(IP, MATCH_ANY, None), component(USER, MATCH_ANY, None)], false);
        assert_eq!(bad.error_code, ResponseError::InvalidRequest.code());

        // Removing the quota leaves nothing to describe.
        let remove = AlterClientQuotasRequest::default()
            .with_entries(vec![set(&[(USER, None), (CLIENT_ID, Some("app"))], &[("producer_byte_rate", 0.0, true)])]);
        assert_eq!(alter(&ctx, remove, 1).entries[0].error_code, NONE);
        assert!(describe_with(vec![], false).entries.unwrap().is_empty());
    }
}
