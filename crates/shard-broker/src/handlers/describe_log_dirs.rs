//! DescribeLogDirs (35): the one log directory, its partitions' sizes, and whether it is
//! offline after a failed fsync (KAFKA_STORAGE_ERROR, as Kafka reports an offline log dir).

use std::collections::BTreeMap;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::describe_log_dirs_response::{DescribeLogDirsPartition, DescribeLogDirsResult, DescribeLogDirsTopic};
use kafka_protocol::messages::{DescribeLogDirsRequest, DescribeLogDirsResponse, TopicName};

use super::{Ctx, s};

/// Answers DescribeLogDirs: `topics` null means every partition, otherwise the ones named.
pub fn handle(ctx: &Ctx, req: DescribeLogDirsRequest) -> DescribeLogDirsResponse {
    let b = &ctx.broker;
    let health = b.topics.log_dir_health();
    let dir = std::path::absolute(health.path()).unwrap_or_else(|_| health.path().to_path_buf());
    let result = DescribeLogDirsResult::default().with_log_dir(s(dir.display().to_string()));
    if health.is_offline() {
        return DescribeLogDirsResponse::default().with_results(vec![result.with_error_code(ResponseError::KafkaStorageError.code())]);
    }
    // None: every partition; Some(map): the partitions asked for, by topic.
    let wanted: Option<BTreeMap<String, Vec<i32>>> = req
        .topics
        .map(|ts| ts.into_iter().map(|t| (t.topic.to_string(), t.partitions)).collect());
    let mut topics = Vec::new();
    for topic in b.topics.list() {
        let asked = wanted.as_ref().map(|w| w.get(topic.name.as_str()));
        if asked == Some(None) {
            continue;
        }
        let partitions: Vec<DescribeLogDirsPartition> = topic
            .partitions()
            .iter()
            .enumerate()
            .filter(|(i, _)| asked.flatten().is_none_or(|ps| ps.contains(&(*i as i32))))
            .map(|(i, log)| {
                DescribeLogDirsPartition::default()
                    .with_partition_index(i as i32)
                    .with_partition_size(i64::try_from(log.size_bytes()).unwrap_or(i64::MAX))
            })
            .collect();
        if !partitions.is_empty() {
            topics.push(
                DescribeLogDirsTopic::default()
                    .with_name(TopicName(s(topic.name.clone())))
                    .with_partitions(partitions),
            );
        }
    }
    let (total, usable) = match rustix::fs::statvfs(health.path()) {
        Ok(st) => (
            i64::try_from(st.f_blocks.saturating_mul(st.f_frsize)).unwrap_or(i64::MAX),
            i64::try_from(st.f_bavail.saturating_mul(st.f_frsize)).unwrap_or(i64::MAX),
        ),
        Err(_) => (-1, -1),
    };
    DescribeLogDirsResponse::default().with_results(vec![result.with_topics(topics).with_total_bytes(total).with_usable_bytes(usable)])
}
