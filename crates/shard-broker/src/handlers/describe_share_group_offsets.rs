//! DescribeShareGroupOffsets (90), v0-1: each share-partition's start offset and (v1) lag
//! (Admin.listShareGroupOffsets, kafka-share-groups.sh --describe --offsets).
//!
//! As Kafka: the group does not have to exist; a partition the group has no state for answers
//! start offset -1 without an error, and so does every partition of an unknown topic (with a
//! zero topic id). Topics null means every topic-partition the group has state for.

use std::collections::BTreeMap;

use kafka_protocol::messages::DescribeShareGroupOffsetsRequest;
use kafka_protocol::messages::describe_share_group_offsets_request::DescribeShareGroupOffsetsRequestGroup;
use shard_protocol::{
    DescribeShareGroupOffsetsResponse, DescribeShareGroupOffsetsResponseGroup, DescribeShareGroupOffsetsResponsePartition,
    DescribeShareGroupOffsetsResponseTopic,
};
use shard_share::ShareStats;
use uuid::Uuid;

use super::metadata::LEADER_EPOCH;
use super::{Ctx, Reply, s};
use crate::share::manager::UNINITIALIZED_START_OFFSET;
use crate::topics::TopicRegistry;

/// Serves DescribeShareGroupOffsets (the response codec is hand-written: the `kafka-protocol`
/// crate has no v1).
pub fn handle(ctx: &Ctx, req: DescribeShareGroupOffsetsRequest) -> Reply {
    match serve(ctx, req).encode_frame(ctx.version, ctx.correlation_id) {
        Ok(frame) => Reply::Now(frame),
        Err(e) => Reply::Close(format!("cannot encode DescribeShareGroupOffsets response: {e}")),
    }
}

fn serve(ctx: &Ctx, req: DescribeShareGroupOffsetsRequest) -> DescribeShareGroupOffsetsResponse {
    let groups = req.groups.into_iter().map(|g| describe_group(ctx, g)).collect();
    DescribeShareGroupOffsetsResponse {
        groups,
        ..Default::default()
    }
}

fn describe_group(ctx: &Ctx, req: DescribeShareGroupOffsetsRequestGroup) -> DescribeShareGroupOffsetsResponseGroup {
    let b = &ctx.broker;
    let group = req.group_id.to_string();
    let topics = match req.topics {
        None => all_topics(&b.topics, b.shares.group_share_partitions(&group)),
        Some(topics) => topics
            .into_iter()
            .map(|t| {
                let Some(topic) = b.topics.get(&t.topic_name) else {
                    let partitions = t.partitions.into_iter().map(no_state).collect();
                    return DescribeShareGroupOffsetsResponseTopic {
                        topic_name: t.topic_name.0,
                        topic_id: Uuid::nil(),
                        partitions,
                    };
                };
                let partitions = t
                    .partitions
                    .into_iter()
                    .map(|p| match b.shares.existing_slot(&group, topic.id, p) {
                        Some(slot) => described(p, &slot.stats(), slot.log().high_watermark()),
                        None => no_state(p),
                    })
                    .collect();
                DescribeShareGroupOffsetsResponseTopic {
                    topic_name: t.topic_name.0,
                    topic_id: topic.id,
                    partitions,
                }
            })
            .collect(),
    };
    DescribeShareGroupOffsetsResponseGroup {
        group_id: req.group_id.0,
        topics,
        ..Default::default()
    }
}

/// Every share-partition with state, by topic; topics deleted since are left out, as Kafka
/// leaves out topics missing from its metadata image.
fn all_topics(topics: &TopicRegistry, parts: Vec<(Uuid, i32, ShareStats)>) -> Vec<DescribeShareGroupOffsetsResponseTopic> {
    let mut by_topic: BTreeMap<Uuid, Vec<(i32, ShareStats)>> = BTreeMap::new();
    for (topic_id, partition, stats) in parts {
        by_topic.entry(topic_id).or_default().push((partition, stats));
    }
    by_topic
        .into_iter()
        .filter_map(|(topic_id, parts)| {
            let topic = topics.get_by_id(&topic_id)?;
            let partitions = parts
                .into_iter()
                .map(|(p, stats)| match topic.partition(p) {
                    Some(log) => described(p, &stats, log.high_watermark()),
                    None => no_state(p),
                })
                .collect();
            Some(DescribeShareGroupOffsetsResponseTopic {
                topic_name: s(topic.name.clone()),
                topic_id,
                partitions,
            })
        })
        .collect()
}

/// A partition with state. Lag (KIP-1226) counts from the start offset to the high watermark
/// (what Kafka's ListOffsets LATEST answers) less the records already acknowledged or archived.
fn described(partition: i32, stats: &ShareStats, log_end: i64) -> DescribeShareGroupOffsetsResponsePartition {
    DescribeShareGroupOffsetsResponsePartition {
        partition_index: partition,
        start_offset: stats.start_offset,
        leader_epoch: LEADER_EPOCH,
        lag: i64::try_from(stats.lag(log_end)).unwrap_or(i64::MAX),
        ..Default::default()
    }
}

/// A partition the group has no state for: no error, start offset and lag unknown.
fn no_state(partition: i32) -> DescribeShareGroupOffsetsResponsePartition {
    DescribeShareGroupOffsetsResponsePartition {
        partition_index: partition,
        start_offset: UNINITIALIZED_START_OFFSET,
        leader_epoch: 0,
        lag: -1,
        ..Default::default()
    }
}
