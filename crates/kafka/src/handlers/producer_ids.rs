//! InitProducerId: ids and epochs for idempotent producers.

use std::sync::Arc;

use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use crate::errors::{error_code, NONE};
use crate::server::Context;

pub(crate) fn init(ctx: &Arc<Context>, request: InitProducerIdRequest, version: i16) -> InitProducerIdResponse {
    let existing =
        (version >= 3 && request.producer_id.0 >= 0).then_some((request.producer_id.0, request.producer_epoch));
    let transactional_id = request.transactional_id.as_ref().map(|t| t.0.to_string());
    match ctx.broker.init_producer_id(transactional_id.as_deref(), existing) {
        Ok((id, epoch)) => InitProducerIdResponse::default()
            .with_error_code(NONE)
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(epoch),
        Err(e) => InitProducerIdResponse::default()
            .with_error_code(error_code(&e))
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1),
    }
}
