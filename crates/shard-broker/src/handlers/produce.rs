//! Produce (0): validate batches, append in request order, answer once durable.

use std::sync::Arc;

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::produce_response::{BatchIndexAndErrorMessage, PartitionProduceResponse, TopicProduceResponse};
use kafka_protocol::messages::{ProduceRequest, ProduceResponse, TopicName};
use shard_log::{LogError, PartitionLog, batch};

use super::{Ctx, Reply, log_error_code, s};
use crate::clock::now_ms;
use crate::log_throttle::LogThrottle;
use crate::topics::{Topic, TopicError};

/// Throttles the log line of appends failing on I/O (a full disk fails every produce).
static APPEND_FAILURES: LogThrottle = LogThrottle::new();

/// An append that must be durable before the response.
struct PendingFlush {
    topic: usize,
    partition: usize,
    log: Arc<PartitionLog>,
    end_offset: i64,
}

/// Serves Produce: the append happens now (so requests on a connection append in order); the
/// response waits for durability.
pub fn handle(ctx: &Ctx, req: ProduceRequest) -> Reply {
    let acks = req.acks;
    let now = now_ms();
    let mut pending = Vec::new();
    let mut responses = Vec::with_capacity(req.topic_data.len());
    for (ti, t) in req.topic_data.into_iter().enumerate() {
        let topic = resolve_topic(ctx, &t.name, t.topic_id);
        let mut parts = Vec::with_capacity(t.partition_data.len());
        for (pi, p) in t.partition_data.into_iter().enumerate() {
            let resp = PartitionProduceResponse::default()
                .with_index(p.index)
                .with_base_offset(-1)
                .with_log_append_time_ms(-1)
                .with_log_start_offset(-1);
            let records = p.records.unwrap_or_default();
            let outcome = match &topic {
                Err(code) => Err((*code, None, Vec::new())),
                Ok(topic) => append(topic, p.index, acks, req.transactional_id.is_some(), ctx.version, &records, now),
            };
            parts.push(match outcome {
                Ok((log, info)) => {
                    // Duplicates wait too: the original append may not be durable yet.
                    pending.push(PendingFlush {
                        topic: ti,
                        partition: pi,
                        log,
                        end_offset: info.last_offset + 1,
                    });
                    resp.with_base_offset(info.base_offset).with_log_start_offset(info.log_start_offset)
                }
                Err((code, message, record_errors)) => resp
                    .with_error_code(code)
                    .with_error_message(message.map(s))
                    .with_record_errors(record_errors),
            });
        }
        let name = if ctx.version >= 13 { TopicName::default() } else { t.name };
        responses.push(
            TopicProduceResponse::default()
                .with_name(name)
                .with_topic_id(t.topic_id)
                .with_partition_responses(parts),
        );
    }
    if acks == 0 {
        // No one waits for the answer, but the flush still has to run: in fsync mode it is what
        // moves the high watermark and makes the records visible to consumers.
        tokio::spawn(flush_all(pending));
        return Reply::Nothing;
    }
    let ctx = ctx.clone();
    Reply::Later(Box::pin(async move {
        for (ti, pi, error) in flush_all(pending).await {
            if let Some(e) = error {
                tracing::error!(error = %e, "produce could not be made durable");
                let p = &mut responses[ti].partition_responses[pi];
                p.error_code = log_error_code(&e);
                p.error_message = Some(s(e.to_string()));
                p.base_offset = -1;
            }
        }
        ctx.encode(&ProduceResponse::default().with_responses(responses))
    }))
}

/// Makes every pending append durable (concurrently; the log shares fsyncs between callers) and
/// returns the failures by (topic index, partition index).
async fn flush_all(pending: Vec<PendingFlush>) -> Vec<(usize, usize, Option<LogError>)> {
    let flushes = pending.into_iter().map(|f| async move {
        let log = f.log.clone();
        let end = f.end_offset;
        let result = tokio::task::spawn_blocking(move || log.flush_to(end)).await;
        let error = match result {
            Ok(Ok(())) => None,
            Ok(Err(e)) => Some(e),
            Err(join) => Some(LogError::Io(std::io::Error::other(join.to_string()))),
        };
        (f.topic, f.partition, error)
    });
    futures::future::join_all(flushes).await
}

fn resolve_topic(ctx: &Ctx, name: &TopicName, id: uuid::Uuid) -> Result<Arc<Topic>, i16> {
    let topics = &ctx.broker.topics;
    if ctx.version >= 13 {
        return topics.get_by_id(&id).ok_or(ResponseError::UnknownTopicId.code());
    }
    if crate::topics::is_internal(name) {
        // Kafka: "Cannot append to internal topic" (InvalidTopicException) unless internal.
        return Err(ResponseError::InvalidTopicException.code());
    }
    let auto_create = ctx.broker.config.auto_create_topics_enable;
    tokio::task::block_in_place(|| topics.get_or_create(name, auto_create)).map_err(|e| match e {
        TopicError::InvalidName(_) => ResponseError::InvalidTopicException.code(),
        _ => ResponseError::UnknownTopicOrPartition.code(),
    })
}

/// Why a partition's produce failed: error code, message, record errors.
type Failure = (i16, Option<String>, Vec<BatchIndexAndErrorMessage>);

type AppendOutcome = Result<(Arc<PartitionLog>, shard_log::AppendInfo), Failure>;

/// The response fields for a log error. Record errors (Kafka's `RecordValidationException`) carry
/// their summary and per-record reasons, as Kafka fills them.
fn failure(e: LogError) -> Failure {
    let code = log_error_code(&e);
    match e {
        LogError::RecordErrors { message, errors, .. } => {
            let errors = errors
                .into_iter()
                .map(|(i, m)| {
                    BatchIndexAndErrorMessage::default()
                        .with_batch_index(i)
                        .with_batch_index_error_message(Some(s(m)))
                })
                .collect();
            (code, Some(message), errors)
        }
        other => (code, Some(other.to_string()), Vec::new()),
    }
}

/// Compression codec id of zstd.
const ZSTD: i16 = 4;

fn append(topic: &Topic, partition: i32, acks: i16, transactional: bool, version: i16, records: &[u8], now: i64) -> AppendOutcome {
    let log = topic
        .partition(partition)
        .ok_or((ResponseError::UnknownTopicOrPartition.code(), None, Vec::new()))?;
    if !matches!(acks, -1..=1) {
        return Err((ResponseError::InvalidRequiredAcks.code(), None, Vec::new()));
    }
    if acks == -1 && topic.min_insync_replicas() > 1 {
        return Err((
            ResponseError::NotEnoughReplicas.code(),
            Some("min.insync.replicas exceeds the single replica of this broker".into()),
            Vec::new(),
        ));
    }
    if transactional {
        return Err((
            ResponseError::TransactionalIdAuthorizationFailed.code(),
            Some("transactions are not supported by Shard".into()),
            Vec::new(),
        ));
    }
    if version < 7 && batch::parse_header(records).is_ok_and(|h| h.compression_codec() == ZSTD) {
        // Kafka's ProduceRequest.validateRecords: zstd needs produce v7.
        return Err((
            ResponseError::UnsupportedCompressionType.code(),
            Some(format!(
                "Produce requests with version {version} are not allowed to use ZStandard compression"
            )),
            Vec::new(),
        ));
    }
    // The log validates the records (Kafka's LogValidator checks) before anything is appended.
    let info = log.append_client_records(records, now).map_err(|e| {
        match e {
            // A full disk fails every produce until space returns: one line a second, counted.
            LogError::Io(_) => {
                if let Some(unlogged) = APPEND_FAILURES.allow() {
                    tracing::error!(topic = %topic.name, partition, error = %e, unlogged, "append failed");
                }
            }
            // Logged once, when the log or its directory failed.
            LogError::Poisoned | LogError::LogDirOffline(_) => {
                tracing::debug!(topic = %topic.name, partition, error = %e, "append refused")
            }
            _ => {}
        }
        failure(e)
    })?;
    Ok((log, info))
}
