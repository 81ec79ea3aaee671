//! DescribeCluster: the one node, as controller and broker.

use std::sync::Arc;

use kafka_protocol::messages::describe_cluster_response::DescribeClusterBroker;
use kafka_protocol::messages::{DescribeClusterRequest, DescribeClusterResponse};

use super::str_bytes;
use crate::errors::NONE;
use crate::scope::Scope;

/// Kafka's "authorized operations not requested" marker.
const OPERATIONS_NOT_REQUESTED: i32 = i32::MIN;

pub(crate) fn describe(ctx: &Arc<Scope>, _request: DescribeClusterRequest, _version: i16) -> DescribeClusterResponse {
    let node = ctx.broker.node_id().into();
    DescribeClusterResponse::default()
        .with_error_code(NONE)
        .with_endpoint_type(1)
        .with_cluster_id(str_bytes(ctx.broker.cluster_id()))
        .with_controller_id(node)
        .with_brokers(vec![DescribeClusterBroker::default()
            .with_broker_id(node)
            .with_host(str_bytes(ctx.listener.advertised_host.clone()))
            .with_port(ctx.listener.advertised_port)])
        .with_cluster_authorized_operations(OPERATIONS_NOT_REQUESTED)
}
