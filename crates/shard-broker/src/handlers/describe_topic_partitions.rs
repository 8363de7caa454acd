//! DescribeTopicPartitions (75): what Admin.describeTopics uses, with cursor paging.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_topic_partitions_response::{
    Cursor, DescribeTopicPartitionsResponsePartition, DescribeTopicPartitionsResponseTopic,
};
use kafka_protocol::messages::{BrokerId, DescribeTopicPartitionsRequest, DescribeTopicPartitionsResponse, TopicName};

use super::metadata::LEADER_EPOCH;
use super::{Ctx, s};

/// Answers DescribeTopicPartitions.
pub fn handle(ctx: &Ctx, req: DescribeTopicPartitionsRequest) -> DescribeTopicPartitionsResponse {
    let b = &ctx.broker;
    let node = BrokerId(b.node_id());
    let mut names: Vec<String> = if req.topics.is_empty() {
        let mut all: Vec<String> = b.topics.list().iter().map(|t| t.name.clone()).collect();
        all.push(shard_coordinator::STATE_TOPIC.to_string());
        all
    } else {
        req.topics.iter().map(|t| t.name.to_string()).collect()
    };
    names.sort();
    names.dedup();
    let (start_topic, start_partition) = match &req.cursor {
        Some(c) => (c.topic_name.to_string(), c.partition_index.max(0)),
        None => (String::new(), 0),
    };
    let mut budget = usize::try_from(req.response_partition_limit).unwrap_or(0).max(1);
    let mut topics = Vec::new();
    let mut next_cursor = None;
    for name in names.into_iter().filter(|n| *n >= start_topic) {
        let tname = TopicName(s(name.clone()));
        // The share coordinator's log: one partition, internal.
        let described = if crate::topics::is_internal(&name) {
            Some((b.share_state_topic_id, 1, true))
        } else {
            b.topics.get(&tname).map(|t| (t.id, t.partition_count(), false))
        };
        let Some((topic_id, count, internal)) = described else {
            topics.push(
                DescribeTopicPartitionsResponseTopic::default()
                    .with_name(Some(tname))
                    .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                    .with_topic_authorized_operations(i32::MIN),
            );
            continue;
        };
        if budget == 0 {
            next_cursor = Some(Cursor::default().with_topic_name(tname).with_partition_index(0));
            break;
        }
        let first = if name == start_topic { start_partition } else { 0 };
        let mut partitions = Vec::new();
        let mut p = first;
        while p < count && budget > 0 {
            partitions.push(
                DescribeTopicPartitionsResponsePartition::default()
                    .with_partition_index(p)
                    .with_leader_id(node)
                    .with_leader_epoch(LEADER_EPOCH)
                    .with_replica_nodes(vec![node])
                    .with_isr_nodes(vec![node])
                    .with_eligible_leader_replicas(Some(vec![]))
                    .with_last_known_elr(Some(vec![])),
            );
            p += 1;
            budget -= 1;
        }
        topics.push(
            DescribeTopicPartitionsResponseTopic::default()
                .with_name(Some(tname.clone()))
                .with_topic_id(topic_id)
                .with_is_internal(internal)
                .with_partitions(partitions)
                .with_topic_authorized_operations(i32::MIN),
        );
        if p < count {
            next_cursor = Some(Cursor::default().with_topic_name(tname).with_partition_index(p));
            break;
        }
    }
    DescribeTopicPartitionsResponse::default()
        .with_topics(topics)
        .with_next_cursor(next_cursor)
}
