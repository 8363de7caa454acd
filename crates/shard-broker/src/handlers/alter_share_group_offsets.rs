//! AlterShareGroupOffsets (91): sets where an empty share group starts delivering partitions
//! (Admin.alterShareGroupOffsets, kafka-share-groups.sh --reset-offsets --execute).
//!
//! As Kafka (GroupMetadataManager.alterShareGroupOffsets): an unknown group is created empty,
//! a group with members is refused with NON_EMPTY_GROUP, and each partition's share state is
//! replaced by a fresh one starting at the given offset.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::alter_share_group_offsets_response::{
    AlterShareGroupOffsetsResponsePartition, AlterShareGroupOffsetsResponseTopic,
};
use kafka_protocol::messages::{AlterShareGroupOffsetsRequest, AlterShareGroupOffsetsResponse};
use uuid::Uuid;

use super::{Ctx, s};
use crate::share::manager::{ResetStartError, kafka_message};

fn top_error(error: ResponseError) -> AlterShareGroupOffsetsResponse {
    AlterShareGroupOffsetsResponse::default()
        .with_error_code(error.code())
        .with_error_message(Some(s(kafka_message(error))))
}

fn partition_error(partition: i32, code: i16, message: String) -> AlterShareGroupOffsetsResponsePartition {
    AlterShareGroupOffsetsResponsePartition::default()
        .with_partition_index(partition)
        .with_error_code(code)
        .with_error_message(Some(s(message)))
}

/// Serves AlterShareGroupOffsets.
pub fn handle(ctx: &Ctx, req: AlterShareGroupOffsetsRequest) -> AlterShareGroupOffsetsResponse {
    let b = &ctx.broker;
    let group = req.group_id.to_string();
    if group.is_empty() {
        return top_error(ResponseError::InvalidGroupId);
    }
    if let Err(e) = b.shares.get_or_create_empty_group(&group) {
        return top_error(e);
    }
    let settings = b.group_configs.share_settings(&group);
    let unknown = ResponseError::UnknownTopicOrPartition;
    let responses = req
        .topics
        .into_iter()
        .map(|t| {
            let Some(topic) = b.topics.get(&t.topic_name) else {
                let partitions = t
                    .partitions
                    .iter()
                    .map(|p| partition_error(p.partition_index, unknown.code(), kafka_message(unknown)))
                    .collect();
                return AlterShareGroupOffsetsResponseTopic::default()
                    .with_topic_name(t.topic_name)
                    .with_topic_id(Uuid::nil())
                    .with_partitions(partitions);
            };
            let partitions = t
                .partitions
                .iter()
                .map(|p| {
                    let at = p.partition_index;
                    match b
                        .shares
                        .reset_start(&group, topic.id, at, p.start_offset, &b.topics, &settings)
                    {
                        Ok(end) => {
                            if let Err(e) = b.shares.block_durable(end) {
                                tracing::error!(%group, topic = %topic.name, partition = at, error = %e, "share-partition start offset not durable");
                                let e = ResetStartError::Storage(e.to_string());
                                return partition_error(at, e.kafka_code(), e.to_string());
                            }
                            tracing::info!(%group, topic = %topic.name, partition = at, offset = p.start_offset, "share-partition start offset altered");
                            AlterShareGroupOffsetsResponsePartition::default().with_partition_index(at)
                        }
                        Err(e) => partition_error(at, e.kafka_code(), e.to_string()),
                    }
                })
                .collect();
            AlterShareGroupOffsetsResponseTopic::default()
                .with_topic_name(t.topic_name)
                .with_topic_id(topic.id)
                .with_partitions(partitions)
        })
        .collect();
    AlterShareGroupOffsetsResponse::default().with_responses(responses)
}
