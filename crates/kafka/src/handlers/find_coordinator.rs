//! FindCoordinator: this node coordinates every group and every transactional id. Share
//! groups (KIP-932, key type 2 from v6) are not served, so their keys get INVALID_REQUEST,
//! as a Kafka broker without a share coordinator answers. v5 only allows the answer
//! TRANSACTION_ABORTABLE, which tidelog never gives.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::find_coordinator_response::Coordinator;
use kafka_protocol::messages::{FindCoordinatorRequest, FindCoordinatorResponse};

use super::str_bytes;
use crate::errors::NONE;
use crate::scope::Scope;

const KEY_TYPE_GROUP: i8 = 0;
const KEY_TYPE_TRANSACTION: i8 = 1;
const KEY_TYPE_SHARE: i8 = 2;

/// Kafka's `Errors.message()`: what v1-3 carry as `error_message`, even on success.
fn default_message(code: i16) -> String {
    match ResponseError::try_from_code(code) {
        Some(e) => e.to_string(),
        None => "NONE".into(),
    }
}

pub(crate) fn find_coordinator(
    ctx: &Arc<Scope>,
    request: FindCoordinatorRequest,
    version: i16,
) -> FindCoordinatorResponse {
    // (error code, message): v4+ carry the message per key, v1-3 Kafka's default text.
    let answer = |key_type: i8| -> (i16, Option<String>) {
        match key_type {
            KEY_TYPE_GROUP | KEY_TYPE_TRANSACTION => (NONE, None),
            KEY_TYPE_SHARE => (ResponseError::InvalidRequest.code(), None),
            other => (ResponseError::InvalidRequest.code(), Some(format!("unknown coordinator key type {other}"))),
        }
    };
    let (host, port) = (str_bytes(ctx.listener.advertised_host.clone()), ctx.listener.advertised_port);
    let node = ctx.broker.node_id();
    // A refused key names no node, as Kafka's `Node.noNode()`.
    let located = |error: i16| if error == NONE { (node, host.clone(), port) } else { (-1, str_bytes(""), -1) };
    if version >= 4 {
        let coordinators = request
            .coordinator_keys
            .into_iter()
            .map(|key| {
                let (error, message) = answer(request.key_type);
                let (node_id, host, port) = located(error);
                Coordinator::default()
                    .with_key(key)
                    .with_node_id(node_id.into())
                    .with_host(host)
                    .with_port(port)
                    .with_error_code(error)
                    .with_error_message(message.map(str_bytes))
            })
            .collect();
        return FindCoordinatorResponse::default().with_coordinators(coordinators);
    }
    let (error, message) = answer(request.key_type);
    let (node_id, host, port) = located(error);
    let mut response = FindCoordinatorResponse::default()
        .with_error_code(error)
        .with_node_id(node_id.into())
        .with_host(host)
        .with_port(port);
    if version >= 1 {
        response.error_message = Some(str_bytes(message.unwrap_or_else(|| default_message(error))));
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;
    use kafka_protocol::protocol::StrBytes;
    use tidelog_broker::{Broker, BrokerConfig};

    fn ask(key_type: i8, version: i16) -> FindCoordinatorResponse {
        let ctx = Scope::for_tests(Broker::in_memory(BrokerConfig::default()));
        let request = FindCoordinatorRequest::default()
            .with_key_type(key_type)
            .with_key(StrBytes::from_static_str("k"))
            .with_coordinator_keys(vec![StrBytes::from_static_str("k")]);
        find_coordinator(&ctx, request, version)
    }

    #[test]
    fn groups_and_transactions_are_coordinated_here() {
        for version in [4, 5, 6] {
            let c = &ask(KEY_TYPE_GROUP, version).coordinators[0];
            assert_eq!((c.error_code, c.error_message.as_ref(), c.port), (NONE, None, 9092), "v{version}");
        }
        let old = ask(KEY_TYPE_TRANSACTION, 3);
        assert_eq!((old.error_code, old.error_message.as_deref()), (NONE, Some("NONE")));
    }

    #[test]
    fn share_keys_are_refused_without_naming_a_node() {
        let c = &ask(KEY_TYPE_SHARE, 6).coordinators[0];
        assert_eq!((c.error_code, c.node_id.0, c.port), (ResponseError::InvalidRequest.code(), -1, -1));
        assert_eq!(c.host.as_str(), "");
    }
}
