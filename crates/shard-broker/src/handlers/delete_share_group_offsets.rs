//! DeleteShareGroupOffsets (92): drops an empty share group's state for whole topics
//! (Admin.deleteShareGroupOffsets, kafka-share-groups.sh --delete-offsets). The next fetch of
//! such a partition starts again from `share.auto.offset.reset`.

use std::collections::HashSet;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_share_group_offsets_response::DeleteShareGroupOffsetsResponseTopic;
use kafka_protocol::messages::{DeleteShareGroupOffsetsRequest, DeleteShareGroupOffsetsResponse};
use uuid::Uuid;

use super::{Ctx, s};
use crate::share::manager::kafka_message;

/// Kafka's message for a known topic the group has no state for.
const NO_OFFSETS: &str = "There is no offset information to delete.";

fn top_error(error: ResponseError, message: String) -> DeleteShareGroupOffsetsResponse {
    DeleteShareGroupOffsetsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(s(message)))
}

/// Serves DeleteShareGroupOffsets.
pub fn handle(ctx: &Ctx, req: DeleteShareGroupOffsetsRequest) -> DeleteShareGroupOffsetsResponse {
    let b = &ctx.broker;
    let group = req.group_id.to_string();
    if group.is_empty() {
        return top_error(ResponseError::InvalidGroupId, kafka_message(ResponseError::InvalidGroupId));
    }
    match b.shares.check_empty_group(&group) {
        Ok(()) => {}
        Err(ResponseError::GroupIdNotFound) => {
            return top_error(ResponseError::GroupIdNotFound, format!("Group {group} not found."));
        }
        Err(e) => return top_error(e, kafka_message(e)),
    }
    // A topic named twice is answered twice, as deleted both times (as Kafka does).
    let mut deleted = HashSet::new();
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let out = DeleteShareGroupOffsetsResponseTopic::default().with_topic_id(Uuid::nil());
            let unknown = ResponseError::UnknownTopicOrPartition;
            let Some(topic) = b.topics.get(&t.topic_name) else {
                return out
                    .with_topic_name(t.topic_name)
                    .with_error_code(unknown.code())
                    .with_error_message(Some(s(kafka_message(unknown))));
            };
            let dropped = match b.shares.delete_topic_state(&group, topic.id) {
                Ok((dropped, end)) => b.shares.block_durable(end).map(|()| dropped),
                Err(e) => Err(e),
            };
            let dropped = match dropped {
                Ok(n) => n,
                Err(e) => {
                    tracing::error!(%group, topic = %topic.name, error = %e, "share group offsets deletion not persisted");
                    let code = ResponseError::UnknownServerError;
                    return out
                        .with_topic_name(t.topic_name)
                        .with_error_code(code.code())
                        .with_error_message(Some(s(e.to_string())));
                }
            };
            if dropped == 0 && !deleted.contains(&topic.id) {
                return out
                    .with_topic_name(t.topic_name)
                    .with_error_code(unknown.code())
                    .with_error_message(Some(s(NO_OFFSETS)));
            }
            deleted.insert(topic.id);
            tracing::info!(%group, topic = %topic.name, "share group offsets deleted");
            out.with_topic_name(t.topic_name).with_topic_id(topic.id)
        })
        .collect();
    DeleteShareGroupOffsetsResponse::default().with_responses(responses)
}
