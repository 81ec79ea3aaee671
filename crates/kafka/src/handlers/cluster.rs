//! DescribeCluster: the one node, as controller and broker, never fenced; the cluster's
//! authorized operations when asked. The Kafka listener is a broker endpoint (KIP-919):
//! a request meant for a controller endpoint is refused, as Kafka's brokers refuse it.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};

use super::{authorized_operations, str_bytes};
use crate::errors::NONE;
use crate::scope::Scope;

/// KIP-919's endpoint types, by Kafka's `EndpointType` ids and names.
const ENDPOINT_BROKER: i8 = 1;
const ENDPOINT_CONTROLLER: i8 = 2;

pub(crate) fn describe(ctx: &Arc<Scope>, request: DescribeClusterRequest, version: i16) -> DescribeClusterResponse {
    if let Some(refusal) = refuse_endpoint_type(request.endpoint_type, version) {
        return refusal;
    }
    let node = ctx.broker.node_id().into();
    let cluster_authorized_operations = if request.include_cluster_authorized_operations {
        authorized_operations::cluster(ctx)
    } else {
        authorized_operations::NOT_REQUESTED
    };
    // `include_fenced_brokers` (v2) changes nothing: the only broker is never fenced.
    DescribeClusterResponse::default()
        .with_error_code(NONE)
        .with_endpoint_type(ENDPOINT_BROKER)
        .with_cluster_id(str_bytes(ctx.broker.cluster_id()))
        .with_controller_id(node)
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(node)
            .with_host(str_bytes(ctx.listener.advertised_host.clone()))
            .with_port(ctx.listener.advertised_port)
            .with_is_fenced(false)])
        .with_cluster_authorized_operations(cluster_authorized_operations)
}

/// Kafka's answers to a request for another kind of endpoint (v0 has no codes for it).
fn refuse_endpoint_type(requested: i8, version: i16) -> Option<DescribeClusterResponse> {
    let (code, message) = match requested {
        ENDPOINT_BROKER => return None,
        ENDPOINT_CONTROLLER => (
            ResponseError::MismatchedEndpointType,
            "The request was sent to an endpoint of type BROKER, but we wanted an endpoint of type CONTROLLER"
                .to_string(),
        ),
        other => (ResponseError::UnsupportedEndpointType, format!("Unsupported endpoint type {other}")),
    };
    let code = if version == 0 { ResponseError::InvalidRequest.code() } else { code.code() };
    Some(DescribeClusterResponse::default().with_error_code(code).with_error_message(Some(str_bytes(message))))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tidelog_broker::{Broker, BrokerConfig};

    #[test]
    fn authorized_operations_only_when_asked_and_null_message_on_success() {
        let ctx = Scope::for_tests(Broker::in_memory(BrokerConfig::default()));
        let asked =
            describe(&ctx, DescribeClusterRequest::default().with_include_cluster_authorized_operations(true), 2);
        assert_eq!((asked.error_code, asked.error_message.as_ref()), (NONE, None));
        assert_eq!(asked.cluster_authorized_operations, 8096);
        let not_asked = describe(&ctx, DescribeClusterRequest::default(), 2);
        assert_eq!(not_asked.cluster_authorized_operations, i32::MIN);
        assert!(!not_asked.brokers[0].is_fenced);
    }

    #[test]
    fn controller_and_unknown_endpoint_types_are_refused_by_version() {
        let ctx = Scope::for_tests(Broker::in_memory(BrokerConfig::default()));
        let for_controller = DescribeClusterRequest::default().with_endpoint_type(ENDPOINT_CONTROLLER);
        assert_eq!(describe(&ctx, for_controller.clone(), 1).error_code, ResponseError::MismatchedEndpointType.code());
        assert_eq!(describe(&ctx, for_controller, 0).error_code, ResponseError::InvalidRequest.code());
        let unknown = describe(&ctx, DescribeClusterRequest::default().with_endpoint_type(7), 2);
        assert_eq!(unknown.error_code, ResponseError::UnsupportedEndpointType.code());
        assert_eq!(unknown.error_message.as_deref(), Some("Unsupported endpoint type 7"));
        assert!(unknown.brokers.is_empty());
    }
}
