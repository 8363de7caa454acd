//! DeleteTopics (20): by name, or by id (v6).

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_topics_response::DeletableTopicResult;
use kafka_protocol::messages::{DeleteTopicsRequest, DeleteTopicsResponse, TopicName};
use uuid::Uuid;

use super::{Ctx, s, topic_error_code};
use crate::topics::is_internal;

/// Answers DeleteTopics.
pub fn handle(ctx: &Ctx, req: DeleteTopicsRequest) -> DeleteTopicsResponse {
    let topics = &ctx.broker.topics;
    let targets: Vec<(Option<TopicName>, Uuid)> = if ctx.version >= 6 {
        req.topics.into_iter().map(|t| (t.name, t.topic_id)).collect()
    } else {
        req.topic_names.into_iter().map(|n| (Some(n), Uuid::nil())).collect()
    };
    let responses = targets
        .into_iter()
        .map(|(name, id)| {
            let result = DeletableTopicResult::default().with_name(name.clone()).with_topic_id(id);
            if name.as_deref().is_some_and(|n| is_internal(n)) {
                // Shard's own state; never a client's to delete.
                return result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(s("Internal topics cannot be deleted")));
            }
            let resolved = match &name {
                Some(n) => topics.get(n),
                None => topics.get_by_id(&id),
            };
            let Some(topic) = resolved else {
                let code = if name.is_none() {
                    ResponseError::UnknownTopicId
                } else {
                    ResponseError::UnknownTopicOrPartition
                };
                return result
                    .with_error_code(code.code())
                    .with_error_message(Some(s("This server does not host this topic.")));
            };
            if topic.name.starts_with("__") {
                return result
                    .with_error_code(ResponseError::InvalidRequest.code())
                    .with_error_message(Some(s("Internal topics cannot be deleted")));
            }
            match tokio::task::block_in_place(|| topics.delete(&topic.name)) {
                Ok(t) => {
                    // Share groups' state of the topic goes with it. If this cannot be written,
                    // the next start-up drops the state of the missing topic.
                    let shares = &ctx.broker.shares;
                    if let Err(e) = shares.delete_topic(t.id).and_then(|end| shares.block_durable(end)) {
                        tracing::error!(topic = %t.name, error = %e, "cannot persist the deletion of the topic's share state");
                    }
                    result.with_name(Some(TopicName(s(t.name.clone())))).with_topic_id(t.id)
                }
                Err(e) => result
                    .with_error_code(topic_error_code(&e))
                    .with_error_message(Some(s(e.to_string()))),
            }
        })
        .collect();
    DeleteTopicsResponse::default().with_responses(responses)
}
