//! ShareAcknowledge (79): acknowledgements outside a fetch (commitSync / commitAsync / close).
//! It cannot open a share session; epoch -1 applies the acknowledgements and then closes it,
//! releasing whatever the member still holds.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use shard_protocol::{
    LeaderIdAndEpoch, ShareAcknowledgePartitionResponse, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopicResponse,
    ShareCodecError,
};
use uuid::Uuid;

use super::share_common::{Refusal, ShareApi, apply_acks, identity, session_error};
use super::{Ctx, LaterReply, Reply, s};

impl ShareApi for ShareAcknowledgeRequest {
    const NAME: &'static str = "ShareAcknowledge";
    type Response = ShareAcknowledgeResponse;
    type Frame = Bytes;

    fn serve(self, ctx: &Ctx) -> impl Future<Output = Result<Self::Response, Refusal>> + Send {
        serve(ctx, self)
    }

    fn refused(r: Refusal) -> Self::Response {
        ShareAcknowledgeResponse {
            error_code: r.code,
            error_message: Some(s(r.message)),
            acquisition_lock_timeout_ms: r.lock_ms,
            ..Default::default()
        }
    }

    fn encode(response: &Self::Response, version: i16, correlation_id: i32) -> Result<Bytes, ShareCodecError> {
        response.encode_frame(version, correlation_id)
    }

    // Answered once the acknowledgements are durable.
    fn later(answer: LaterReply) -> Reply {
        Reply::Later(answer)
    }
}

async fn serve(ctx: &Ctx, req: ShareAcknowledgeRequest) -> Result<ShareAcknowledgeResponse, Refusal> {
    let b = &ctx.broker;
    let (group, member) = match identity(&req.group_id, &req.member_id) {
        Ok(ids) => ids,
        Err(e) => return Err(Refusal::new(0, e)),
    };
    let lock_ms = b.group_configs.share_settings(&group).record_lock_duration_ms;
    let key = (group.clone(), member.clone());
    let epoch = req.share_session_epoch;
    match epoch {
        0 => {
            let message = "ShareAcknowledge cannot open a share session (epoch 0)";
            return Err(Refusal::new(
                lock_ms,
                (ResponseError::InvalidShareSessionEpoch.code(), message.into()),
            ));
        }
        -1 => {
            if !b.shares.session_exists(&key) {
                return Err(Refusal::new(lock_ms, session_error(crate::share::sessions::SessionError::NotFound)));
            }
        }
        _ => {
            if let Err(e) = b.shares.advance_session(&key, epoch, Vec::new(), Vec::new()) {
                return Err(Refusal::new(lock_ms, session_error(e)));
            }
        }
    }
    let renew = ctx.version >= 2 && req.is_renew_ack;
    let max_type = if ctx.version >= 2 { 4 } else { 3 };
    let member_id = b.shares.member(&group, &member);
    let mut applied = apply_acks(
        ctx,
        &group,
        member_id,
        req.topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .map(move |p| (t.topic_id, p.partition_index, p.acknowledgement_batches.as_slice()))
        }),
        max_type,
        renew,
        crate::clock::now_ms(),
    );
    if epoch == -1
        && let Err(e) = b.shares.close_session(&key)
    {
        return Err(Refusal::new(lock_ms, session_error(e)));
    }
    applied.make_durable(ctx).await;
    let mut topics: BTreeMap<Uuid, Vec<ShareAcknowledgePartitionResponse>> = BTreeMap::new();
    for r in applied.results {
        topics.entry(r.topic_id).or_default().push(ShareAcknowledgePartitionResponse {
            partition_index: r.partition,
            error_code: r.error_code,
            error_message: r.error_message.map(s),
            current_leader: LeaderIdAndEpoch::default(),
        });
    }
    Ok(ShareAcknowledgeResponse {
        acquisition_lock_timeout_ms: lock_ms,
        responses: topics
            .into_iter()
            .map(|(topic_id, partitions)| ShareAcknowledgeTopicResponse { topic_id, partitions })
            .collect(),
        ..Default::default()
    })
}
