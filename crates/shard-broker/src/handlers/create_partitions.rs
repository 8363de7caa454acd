//! CreatePartitions (37): grow a topic.

use kafka_protocol::messages::create_partitions_response::CreatePartitionsTopicResult;
use kafka_protocol::messages::{CreatePartitionsRequest, CreatePartitionsResponse};

use super::{Ctx, s, topic_error_code};
use crate::topics::TopicError;

/// Answers CreatePartitions.
pub fn handle(ctx: &Ctx, req: CreatePartitionsRequest) -> CreatePartitionsResponse {
    let b = &ctx.broker;
    let node = b.node_id();
    let results = req
        .topics
        .into_iter()
        .map(|t| {
            let result = CreatePartitionsTopicResult::default().with_name(t.name.clone());
            if let Some(assignments) = &t.assignments
                && assignments.iter().any(|a| a.broker_ids.iter().any(|id| id.0 != node))
            {
                let e = TopicError::InvalidReplicationFactor(format!("Assignments may only name broker {node}"));
                return result
                    .with_error_code(topic_error_code(&e))
                    .with_error_message(Some(s(e.to_string())));
            }
            let outcome = if req.validate_only {
                b.topics.check_add_partitions(&t.name, t.count).map(|_| ())
            } else {
                tokio::task::block_in_place(|| b.topics.add_partitions(&t.name, t.count))
            };
            match outcome {
                Ok(()) => result,
                Err(e) => result
                    .with_error_code(topic_error_code(&e))
                    .with_error_message(Some(s(e.to_string()))),
            }
        })
        .collect();
    CreatePartitionsResponse::default().with_results(results)
}
