//! ListConfigResources (API 74, KIP-1142; v0 was ListClientMetricsResources): the resources
//! DescribeConfigs can be asked about. Topics, this broker, and groups (those that exist and
//! those with configs of their own); tidelog has no client-metrics subscriptions and no
//! BROKER_LOGGER resources, so those lists are empty.

use std::collections::BTreeSet;
use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_config_resources_response::ConfigResource;
use kafka_protocol::messages::{ListConfigResourcesRequest, ListConfigResourcesResponse};
use tidelog_broker::access::{Operation, Resource};

use super::configs::{RESOURCE_BROKER, RESOURCE_GROUP, RESOURCE_TOPIC};
use super::str_bytes;
use crate::errors::{error_code, NONE};
use crate::scope::Scope;

const RESOURCE_BROKER_LOGGER: i8 = 8;
const RESOURCE_CLIENT_METRICS: i8 = 16;
const KNOWN_TYPES: [i8; 5] =
    [RESOURCE_TOPIC, RESOURCE_BROKER, RESOURCE_BROKER_LOGGER, RESOURCE_CLIENT_METRICS, RESOURCE_GROUP];

pub(crate) fn list(ctx: &Arc<Scope>, request: ListConfigResourcesRequest, version: i16) -> ListConfigResourcesResponse {
    let response = ListConfigResourcesResponse::default();
    if let Err(e) = ctx.broker.authorize(&ctx.caller, Operation::DescribeConfigs, Resource::Cluster) {
        return response.with_error_code(error_code(&e));
    }
    // v0 lists client-metrics subscriptions only; v1 the asked types, or all of them.
    let wanted: BTreeSet<i8> = match version {
        0 => [RESOURCE_CLIENT_METRICS].into(),
        _ if request.resource_types.is_empty() => KNOWN_TYPES.into(),
        _ => request.resource_types.iter().copied().collect(),
    };
    if wanted.iter().any(|t| !KNOWN_TYPES.contains(t)) {
        return response.with_error_code(ResponseError::UnsupportedVersion.code());
    }
    let mut resources: Vec<(i8, String)> = Vec::new();
    if wanted.contains(&RESOURCE_TOPIC) {
        resources
            .extend(ctx.broker.describable_topics(&ctx.caller).iter().map(|t| (RESOURCE_TOPIC, t.meta.name.clone())));
    }
    if wanted.contains(&RESOURCE_BROKER) {
        resources.push((RESOURCE_BROKER, ctx.broker.node_id().to_string()));
    }
    if wanted.contains(&RESOURCE_GROUP) {
        let mut groups: BTreeSet<String> = ctx.broker.groups_with_configs().into_iter().collect();
        if let Ok(listed) = ctx.broker.list_groups(&ctx.caller) {
            groups.extend(listed.into_iter().map(|g| g.group_id));
        }
        resources.extend(groups.into_iter().map(|g| (RESOURCE_GROUP, g)));
    }
    let config_resources = resources
        .into_iter()
        .map(|(resource_type, name)| {
            ConfigResource::default().with_resource_name(str_bytes(name)).with_resource_type(resource_type)
        })
        .collect();
    response.with_error_code(NONE).with_config_resources(config_resources)
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::messages::ListConfigResourcesRequest;

    #[test]
    fn v0_lists_no_client_metrics_and_unknown_types_are_refused() {
        let scope = Scope::for_tests(tidelog_broker::Broker::in_memory(Default::default()));
        let answer = list(&scope, ListConfigResourcesRequest::default(), 0);
        assert_eq!((answer.error_code, answer.config_resources.len()), (NONE, 0));
        let answer = list(&scope, ListConfigResourcesRequest::default().with_resource_types(vec![64]), 1);
        assert_eq!(answer.error_code, ResponseError::UnsupportedVersion.code());
        let answer = list(&scope, ListConfigResourcesRequest::default(), 1);
        assert!(answer
            .config_resources
            .iter()
            .any(|r| r.resource_type == RESOURCE_BROKER && r.resource_name.as_str() == "1"));
    }
}
