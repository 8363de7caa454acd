//! ShareAcknowledge (79): acknowledgements outside a fetch (commitSync / commitAsync / close).
//! It cannot open a share session; epoch -1 applies the acknowledgements and then closes it,
//! releasing whatever the member still holds.

use std::collections::BTreeMap;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use shard_protocol::{
    LeaderIdAndEpoch, ShareAcknowledgePartitionResponse, ShareAcknowledgeRequest, ShareAcknowledgeResponse, ShareAcknowledgeTopicResponse,
};
use uuid::Uuid;

use super::share_common::{TopError, apply_acks, identity, session_error};
use super::{Ctx, Reply, s};

/// Decodes and serves ShareAcknowledge.
pub fn handle(ctx: &Ctx, mut body: Bytes) -> Reply {
    let req = match ShareAcknowledgeRequest::decode(&mut body, ctx.version) {
        Ok(req) => req,
        Err(e) => return Reply::Close(format!("cannot decode ShareAcknowledge: {e}")),
    };
    let ctx = ctx.clone();
    // Answered once the acknowledgements are durable.
    Reply::Later(Box::pin(async move {
        let resp = serve(&ctx, req).await;
        match resp.encode_frame(ctx.version, ctx.correlation_id) {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode ShareAcknowledge response");
                None
            }
        }
    }))
}

fn top_error(lock_ms: i32, (code, message): TopError) -> ShareAcknowledgeResponse {
    ShareAcknowledgeResponse {
        error_code: code,
        error_message: Some(s(message)),
        acquisition_lock_timeout_ms: lock_ms,
        ..Default::default()
    }
}

async fn serve(ctx: &Ctx, req: ShareAcknowledgeRequest) -> ShareAcknowledgeResponse {
    let b = &ctx.broker;
    let (group, member) = match identity(&req.group_id, &req.member_id) {
        Ok(ids) => ids,
        Err(e) => return top_error(0, e),
    };
    let lock_ms = b.group_configs.share_settings(&group).record_lock_duration_ms;
    let key = (group.clone(), member.clone());
    let epoch = req.share_session_epoch;
    match epoch {
        0 => {
            let message = "ShareAcknowledge cannot open a share session (epoch 0)";
            return top_error(lock_ms, (ResponseError::InvalidShareSessionEpoch.code(), message.into()));
        }
        -1 => {
            if !b.shares.session_exists(&key) {
                return top_error(lock_ms, session_error(crate::share::sessions::SessionError::NotFound));
            }
        }
        _ => {
            if let Err(e) = b.shares.advance_session(&key, epoch, Vec::new(), Vec::new()) {
                return top_error(lock_ms, session_error(e));
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
        return top_error(lock_ms, session_error(e));
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
    ShareAcknowledgeResponse {
        acquisition_lock_timeout_ms: lock_ms,
        responses: topics
            .into_iter()
            .map(|(topic_id, partitions)| ShareAcknowledgeTopicResponse { topic_id, partitions })
            .collect(),
        ..Default::default()
    }
}
