//! InitProducerId (22): ids for idempotent producers. Transactions are not supported.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::{InitProducerIdRequest, InitProducerIdResponse, ProducerId};

use super::Ctx;

/// Answers InitProducerId.
pub fn handle(ctx: &Ctx, req: InitProducerIdRequest) -> InitProducerIdResponse {
    let fail = |e: ResponseError| {
        InitProducerIdResponse::default()
            .with_error_code(e.code())
            .with_producer_id(ProducerId(-1))
            .with_producer_epoch(-1)
    };
    if req.transactional_id.is_some() {
        // Clients treat this as fatal with a clear message instead of retrying forever.
        return fail(ResponseError::TransactionalIdAuthorizationFailed);
    }
    // An idempotent producer re-initializing after an error (KIP-360) bumps its epoch; the
    // sequence state of the old epoch then no longer applies.
    if req.producer_id.0 >= 0 && req.producer_epoch >= 0 && req.producer_epoch < i16::MAX - 1 {
        return InitProducerIdResponse::default()
            .with_producer_id(req.producer_id)
            .with_producer_epoch(req.producer_epoch + 1);
    }
    match tokio::task::block_in_place(|| ctx.broker.producer_ids.allocate()) {
        Ok(id) => InitProducerIdResponse::default()
            .with_producer_id(ProducerId(id))
            .with_producer_epoch(0),
        Err(e) => {
            tracing::error!(error = %e, "cannot persist producer id block");
            fail(ResponseError::KafkaStorageError)
        }
    }
}
