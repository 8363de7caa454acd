//! Metadata (3): brokers, and topics with this broker leading every partition.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::metadata_response::{MetadataResponseBroker, MetadataResponsePartition, MetadataResponseTopic};
use kafka_protocol::messages::{BrokerId, MetadataRequest, MetadataResponse, TopicName};
use uuid::Uuid;

use super::{Ctx, s, topic_error_code};
use crate::topics::{Topic, TopicError};

/// Leader epoch reported for every partition: a single broker never changes leader.
pub const LEADER_EPOCH: i32 = 0;

/// "Authorized operations not requested" marker.
const OPS_NOT_REQUESTED: i32 = i32::MIN;

/// Answers Metadata.
pub fn handle(ctx: &Ctx, req: MetadataRequest) -> MetadataResponse {
    let b = &ctx.broker;
    let node = BrokerId(b.node_id());
    let broker = MetadataResponseBroker::default()
        .with_node_id(node)
        .with_host(s(b.advertised_host.clone()))
        .with_port(b.advertised_port);
    // v0 used an empty list for "all topics"; v1+ uses null.
    let all = req.topics.is_none() || (ctx.version == 0 && req.topics.as_ref().is_some_and(|t| t.is_empty()));
    let topics = if all {
        // Internal topics are listed, flagged: Admin.listTopics() leaves them out unless
        // listInternal is set, as with Kafka.
        let mut topics: Vec<_> = b.topics.list().iter().map(|t| topic_entry(ctx, t)).collect();
        topics.push(share_state_entry(ctx));
        topics
    } else {
        let auto_create = b.config.auto_create_topics_enable && (ctx.version < 4 || req.allow_auto_topic_creation);
        req.topics
            .unwrap_or_default()
            .into_iter()
            // Java clients asking by id send an empty name, not null: a non-zero id decides.
            .map(|t| match t.name {
                Some(name) if t.topic_id.is_nil() => lookup_by_name(ctx, &name, auto_create),
                _ => lookup_by_id(ctx, t.topic_id),
            })
            .collect()
    };
    MetadataResponse::default()
        .with_brokers(vec![broker])
        .with_cluster_id(Some(s(b.cluster_id.clone())))
        .with_controller_id(node)
        .with_topics(topics)
        .with_cluster_authorized_operations(OPS_NOT_REQUESTED)
}

fn lookup_by_name(ctx: &Ctx, name: &TopicName, auto_create: bool) -> MetadataResponseTopic {
    // Internal topics are described, never auto-created.
    if crate::topics::is_internal(name) {
        return share_state_entry(ctx);
    }
    let code = match tokio::task::block_in_place(|| ctx.broker.topics.get_or_create(name, auto_create)) {
        Ok(topic) => return topic_entry(ctx, &topic),
        Err(TopicError::Unknown | TopicError::Reserved(_)) => ResponseError::UnknownTopicOrPartition.code(),
        // Created by another request and deleted again at once.
        Err(TopicError::AlreadyExists(_)) => ResponseError::LeaderNotAvailable.code(),
        Err(e) => topic_error_code(&e),
    };
    MetadataResponseTopic::default()
        .with_name(Some(name.clone()))
        .with_error_code(code)
        .with_topic_authorized_operations(OPS_NOT_REQUESTED)
}

fn lookup_by_id(ctx: &Ctx, id: Uuid) -> MetadataResponseTopic {
    if id == ctx.broker.share_state_topic_id {
        return share_state_entry(ctx);
    }
    match ctx.broker.topics.get_by_id(&id) {
        Some(topic) => topic_entry(ctx, &topic),
        None => MetadataResponseTopic::default()
            .with_topic_id(id)
            .with_error_code(ResponseError::UnknownTopicId.code())
            .with_topic_authorized_operations(OPS_NOT_REQUESTED),
    }
}

fn topic_entry(ctx: &Ctx, topic: &Arc<Topic>) -> MetadataResponseTopic {
    entry(ctx, &topic.name, topic.id, topic.partition_count())
}

/// `__share_group_state`: one partition on this broker, flagged internal. Clients cannot
/// produce to it or delete it; its log belongs to the share coordinator.
fn share_state_entry(ctx: &Ctx) -> MetadataResponseTopic {
    entry(ctx, shard_coordinator::STATE_TOPIC, ctx.broker.share_state_topic_id, 1).with_is_internal(true)
}

fn entry(ctx: &Ctx, name: &str, id: Uuid, partition_count: i32) -> MetadataResponseTopic {
    let node = BrokerId(ctx.broker.node_id());
    let partitions = (0..partition_count)
        .map(|p| {
            MetadataResponsePartition::default()
                .with_partition_index(p)
                .with_leader_id(node)
                .with_leader_epoch(LEADER_EPOCH)
                .with_replica_nodes(vec![node])
                .with_isr_nodes(vec![node])
        })
        .collect();
    MetadataResponseTopic::default()
        .with_name(Some(TopicName(s(name.to_string()))))
        .with_topic_id(id)
        .with_partitions(partitions)
        .with_topic_authorized_operations(OPS_NOT_REQUESTED)
}
