//! InitProducerId: ids and epochs for idempotent producers, and for transactional ones
//! through the transaction coordinator.

use std::sync::Arc;

use kafka_protocol::messages::{ApiKey, InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::dispatch::Client;
use crate::errors::{error_code, for_version, NONE};
use crate::scope::Scope;

pub(crate) async fn init(
    ctx: &Arc<Scope>,
    _client: &Client,
    request: InitProducerIdRequest,
    version: i16,
) -> InitProducerIdResponse {
    let existing =
        (version >= 3 && request.producer_id.0 >= 0).then_some((request.producer_id.0, request.producer_epoch));
    let outcome = match &request.transactional_id {
        Some(id) => {
            ctx.broker.init_transactional_producer(&ctx.caller, id, request.transaction_timeout_ms, existing).await
        }
        None => ctx.broker.init_producer_id(&ctx.caller, existing),
    };
    match outcome {
        Ok((id, epoch)) => InitProducerIdResponse::default()
            .with_error_code(NONE)
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => InitProducerIdResponse::default()
            .with_error_code(for_version(ApiKey::InitProducerId, version, error_code(&e)))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}
