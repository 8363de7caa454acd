//! ShareGroupHeartbeat (76): join, heartbeat and leave a share group; the answer carries the
//! member's epoch and, when it changed, its assignment.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::share_group_heartbeat_response::{Assignment, TopicPartitions};
use kafka_protocol::messages::{ShareGroupHeartbeatRequest, ShareGroupHeartbeatResponse};

use super::{Ctx, s};
use shard_group::share::group::Heartbeat;

/// Serves ShareGroupHeartbeat.
pub fn handle(ctx: &Ctx, req: ShareGroupHeartbeatRequest) -> ShareGroupHeartbeatResponse {
    let b = &ctx.broker;
    let group = req.group_id.to_string();
    let settings = b.group_configs.share_settings(&group);
    let resp = ShareGroupHeartbeatResponse::default().with_heartbeat_interval_ms(settings.heartbeat_interval_ms);
    if group.is_empty() {
        return resp
            .with_error_code(ResponseError::InvalidRequest.code())
            .with_error_message(Some(s("GroupId can't be empty.")));
    }
    let hb = Heartbeat {
        member_id: req.member_id.to_string(),
        member_epoch: req.member_epoch,
        rack_id: req.rack_id.map(|r| r.to_string()),
        subscribed_topic_names: req
            .subscribed_topic_names
            .map(|names| names.into_iter().map(|n| n.to_string()).collect()),
        client_id: ctx.client_id.clone(),
        client_host: format!("/{}", ctx.conn.peer.ip()),
    };
    let member_id = hb.member_id.clone();
    match b.shares.heartbeat(&group, hb, &b.topics, crate::clock::now_ms()) {
        Ok(reply) => {
            let assignment = reply.assignment.map(|a| {
                Assignment::default().with_topic_partitions(
                    a.into_iter()
                        .map(|(topic_id, partitions)| TopicPartitions::default().with_topic_id(topic_id).with_partitions(partitions))
                        .collect(),
                )
            });
            resp.with_member_id(Some(s(member_id)))
                .with_member_epoch(reply.member_epoch)
                .with_assignment(assignment)
        }
        Err(e) => {
            tracing::debug!(%group, member = %member_id, error = %e, "share group heartbeat refused");
            resp.with_error_code(e.kafka_code()).with_error_message(Some(s(e.to_string())))
        }
    }
}
