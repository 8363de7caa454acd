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
        b.topics.list().iter().map(|t| t.name.clone()).collect()
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
        let Some(topic) = b.topics.get(&tname) else {
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
        let count = topic.partition_count();
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
                .with_topic_id(topic.id)
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
