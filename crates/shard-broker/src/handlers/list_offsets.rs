//! ListOffsets (2): earliest, latest, by timestamp, max timestamp.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::list_offsets_response::{ListOffsetsPartitionResponse, ListOffsetsTopicResponse};
use kafka_protocol::messages::{ListOffsetsRequest, ListOffsetsResponse};

use super::metadata::LEADER_EPOCH;
use super::{Ctx, log_error_code};

const LATEST: i64 = -1;
const EARLIEST: i64 = -2;
const MAX_TIMESTAMP: i64 = -3;
const EARLIEST_LOCAL: i64 = -4;

/// Answers ListOffsets.
pub fn handle(ctx: &Ctx, req: ListOffsetsRequest) -> ListOffsetsResponse {
    // The leader epoch field exists from v4 on; older versions must leave it at its default.
    let epoch = if ctx.version >= 4 { LEADER_EPOCH } else { -1 };
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = ctx.broker.topics.get(&t.name);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let resp = ListOffsetsPartitionResponse::default().with_partition_index(p.partition_index);
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition_index)) else {
                        return resp
                            .with_error_code(ResponseError::UnknownTopicOrPartition.code())
                            .with_offset(-1)
                            .with_timestamp(-1);
                    };
                    let found = match p.timestamp {
                        LATEST => Ok(Some((log.high_watermark(), -1))),
                        EARLIEST | EARLIEST_LOCAL => Ok(Some((log.log_start_offset(), -1))),
                        MAX_TIMESTAMP => log.max_timestamp_offset().map(|o| o.map(|o| (o.offset, o.timestamp))),
                        ts if ts >= 0 => log.offset_for_timestamp(ts).map(|o| o.map(|o| (o.offset, o.timestamp))),
                        _ => {
                            return resp
                                .with_error_code(ResponseError::UnsupportedVersion.code())
                                .with_offset(-1)
                                .with_timestamp(-1);
                        }
                    };
                    match found {
                        Ok(Some((offset, timestamp))) => resp.with_offset(offset).with_timestamp(timestamp).with_leader_epoch(epoch),
                        Ok(None) => resp.with_offset(-1).with_timestamp(-1).with_leader_epoch(epoch),
                        Err(e) => resp.with_error_code(log_error_code(&e)).with_offset(-1).with_timestamp(-1),
                    }
                })
                .collect();
            ListOffsetsTopicResponse::default().with_name(t.name).with_partitions(partitions)
        })
        .collect();
    ListOffsetsResponse::default().with_topics(topics)
}
