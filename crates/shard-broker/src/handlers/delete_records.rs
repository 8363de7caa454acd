//! DeleteRecords (21): moves partitions' log start offsets, as Kafka's
//! `ReplicaManager.deleteRecords` / `Partition.deleteRecordsOnLeader` do. The rules (offset
//! bounds, no-op below the current start, durability) live in `PartitionLog::delete_records`.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::delete_records_response::{DeleteRecordsPartitionResult, DeleteRecordsTopicResult};
use kafka_protocol::messages::{DeleteRecordsRequest, DeleteRecordsResponse};

use super::{Ctx, Reply, log_error_code};

/// `DeleteRecordsRequest.HIGH_WATERMARK`: delete up to the high watermark.
const HIGH_WATERMARK: i64 = -1;

/// Answers DeleteRecords once every partition's new start is checkpointed (a file write, and
/// fsyncs in fsync mode, so it runs off the async workers). The request's timeout only bounds
/// waiting for followers in Kafka; with one replica there is nothing to wait for.
pub fn handle(ctx: &Ctx, req: DeleteRecordsRequest) -> Reply {
    let ctx = ctx.clone();
    Reply::Later(Box::pin(async move {
        let worker = ctx.clone();
        match tokio::task::spawn_blocking(move || answer(&worker, req)).await {
            Ok(resp) => ctx.encode(&resp),
            Err(e) => {
                tracing::error!(error = %e, "DeleteRecords worker failed");
                None
            }
        }
    }))
}

fn answer(ctx: &Ctx, req: DeleteRecordsRequest) -> DeleteRecordsResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            // Kafka refuses internal topics with INVALID_TOPIC_EXCEPTION ("Cannot delete records
            // of internal topic").
            let internal = crate::topics::is_internal(&t.name);
            let topic = ctx.broker.topics.get(&t.name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let result = DeleteRecordsPartitionResult::default().with_partition_index(p.partition_index);
                    let failed = |code: i16| result.clone().with_low_watermark(-1).with_error_code(code);
                    if internal {
                        return failed(ResponseError::InvalidTopicException.code());
                    }
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition_index)) else {
                        return failed(ResponseError::UnknownTopicOrPartition.code());
                    };
                    let offset = if p.offset == HIGH_WATERMARK { log.high_watermark() } else { p.offset };
                    match log.delete_records(offset) {
                        // The low watermark is the log start offset (one replica).
                        Ok(start) => result.with_low_watermark(start),
                        Err(e) => {
                            tracing::debug!(topic = %t.name.as_str(), partition = p.partition_index, offset, error = %e, "DeleteRecords refused");
                            failed(log_error_code(&e))
                        }
                    }
                })
                .collect();
            DeleteRecordsTopicResult::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    DeleteRecordsResponse::default().with_topics(topics)
}
