//! Fetch (1): whole stored batches, long-polling until MinBytes or MaxWaitMs.
//!
//! Fetch sessions (KIP-227) are not kept: every response carries session id 0, which clients
//! treat as "send full requests", as Kafka allows when its session cache is full.

use std::sync::Arc;
use std::time::Duration;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::fetch_response::{FetchableTopicResponse, PartitionData};
use kafka_protocol::messages::{FetchRequest, FetchResponse, TopicName};
use shard_log::{LogError, PartitionLog};
use tokio::time::Instant;

use super::{Ctx, Reply, log_error_code};

/// One partition to read.
struct Target {
    log: Option<Arc<PartitionLog>>,
    error: i16,
    partition: i32,
    offset: i64,
    max_bytes: usize,
}

/// Serves Fetch.
pub fn handle(ctx: &Ctx, req: FetchRequest) -> Reply {
    let ctx = ctx.clone();
    Reply::Later(Box::pin(async move {
        let resp = fetch(&ctx, req).await;
        ctx.encode(&resp)
    }))
}

async fn fetch(ctx: &Ctx, req: FetchRequest) -> FetchResponse {
    if req.session_id != 0 {
        return FetchResponse::default().with_error_code(ResponseError::FetchSessionIdNotFound.code());
    }
    let topics = &ctx.broker.topics;
    let by_id = ctx.version >= 13;
    let mut layout: Vec<(TopicName, uuid::Uuid, Vec<Target>)> = Vec::new();
    for t in req.topics {
        let topic = if by_id {
            topics.get_by_id(&t.topic_id)
        } else {
            topics.get(&t.topic)
        };
        let missing = if by_id {
            ResponseError::UnknownTopicId
        } else {
            ResponseError::UnknownTopicOrPartition
        }
        .code();
        let targets = t
            .partitions
            .into_iter()
            .map(|p| {
                let log = topic.as_ref().and_then(|t| t.partition(p.partition));
                Target {
                    error: if log.is_some() { 0 } else { missing },
                    log,
                    partition: p.partition,
                    offset: p.fetch_offset,
                    max_bytes: usize::try_from(p.partition_max_bytes).unwrap_or(0),
                }
            })
            .collect();
        layout.push((t.topic, t.topic_id, targets));
    }
    // The broker's fetch.max.bytes caps the request's, and MinBytes cannot ask for more.
    let max_bytes = usize::try_from(req.max_bytes)
        .unwrap_or(0)
        .min(ctx.broker.config.fetch_max_bytes as usize);
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0).min(max_bytes);
    let deadline = Instant::now() + Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0));
    loop {
        // Subscribe before reading so a high-watermark change after the read wakes us.
        let mut watches: Vec<_> = layout
            .iter()
            .flat_map(|(_, _, ts)| ts.iter().filter_map(|t| t.log.as_ref().map(|l| l.subscribe())))
            .collect();
        let (responses, bytes, errors) = read_all(&layout, max_bytes);
        if bytes >= min_bytes || errors || watches.is_empty() || Instant::now() >= deadline {
            return FetchResponse::default().with_responses(responses);
        }
        let changed = futures::future::select_all(watches.iter_mut().map(|w| Box::pin(w.changed())));
        if !ctx.broker.wait_until(deadline, changed).await {
            let (responses, _, _) = read_all(&layout, max_bytes);
            return FetchResponse::default().with_responses(responses);
        }
    }
}

/// Reads every target; returns the response topics, the record bytes, and whether any
/// partition has an error (errors are answered at once, as Kafka does).
///
/// As Kafka's `ReplicaManager.readFromLog`: each partition gets the smaller of its
/// `PartitionMaxBytes` and what is left of the response's `max_bytes`, and until some partition
/// has returned records the first batch comes whatever its size (`minOneMessage`), so a
/// consumer always makes progress; after that both limits are strict.
fn read_all(layout: &[(TopicName, uuid::Uuid, Vec<Target>)], max_bytes: usize) -> (Vec<FetchableTopicResponse>, usize, bool) {
    let mut remaining = max_bytes;
    let mut total = 0;
    let mut any_error = false;
    let responses = layout
        .iter()
        .map(|(name, id, targets)| {
            let partitions = targets
                .iter()
                .map(|t| {
                    let data = read_one(t, t.max_bytes.min(remaining), total == 0);
                    let size = data.records.as_ref().map_or(0, |r| r.len());
                    total += size;
                    remaining = remaining.saturating_sub(size);
                    any_error |= data.error_code != 0;
                    data
                })
                .collect();
            FetchableTopicResponse::default()
                .with_topic(name.clone())
                .with_topic_id(*id)
                .with_partitions(partitions)
        })
        .collect();
    (responses, total, any_error)
}

fn read_one(t: &Target, max_bytes: usize, min_one_batch: bool) -> PartitionData {
    let data = PartitionData::default()
        .with_partition_index(t.partition)
        .with_preferred_read_replica(kafka_protocol::messages::BrokerId(-1))
        .with_records(Some(Default::default()));
    let Some(log) = &t.log else {
        return data
            .with_error_code(t.error)
            .with_high_watermark(-1)
            .with_last_stable_offset(-1)
            .with_log_start_offset(-1);
    };
    let hw = log.high_watermark();
    let data = data
        .with_high_watermark(hw)
        .with_last_stable_offset(hw)
        .with_log_start_offset(log.log_start_offset());
    match log.read_with(t.offset, max_bytes, min_one_batch) {
        Ok(r) => data
            .with_high_watermark(r.high_watermark)
            .with_last_stable_offset(r.high_watermark)
            .with_log_start_offset(r.log_start_offset)
            .with_records(Some(r.records)),
        Err(e @ LogError::OffsetOutOfRange { .. }) => data.with_error_code(log_error_code(&e)),
        Err(e) => {
            tracing::warn!(error = %e, "fetch read failed");
            data.with_error_code(log_error_code(&e))
        }
    }
}
