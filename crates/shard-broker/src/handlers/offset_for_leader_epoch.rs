//! OffsetForLeaderEpoch (23), versions 2-4: consumers validate their position after a
//! restart or a metadata change (KIP-320) by asking where their fetched epoch ends.
//!
//! Shard has one replica and never changes leader, and reports leader epoch [`LEADER_EPOCH`]
//! (0) in Metadata, Fetch and ListOffsets, so every partition's epoch history is the single
//! entry (epoch 0, starting at the log start offset), as Kafka's `LeaderEpochFileCache` holds
//! for a partition that has had one leader. The answers follow Kafka 4.4's
//! `Partition.lastOffsetForLeaderEpoch` and `LeaderEpochFileCache.endOffsetFor`. The replica
//! id (v3+) only matters to Kafka for authorization: consumers and followers get the same
//! answer.

use kafka_protocol::error::ResponseError;
use kafka_protocol::messages::offset_for_leader_epoch_response::{EpochEndOffset, OffsetForLeaderTopicResult};
use kafka_protocol::messages::{OffsetForLeaderEpochRequest, OffsetForLeaderEpochResponse};

use super::Ctx;
use super::metadata::LEADER_EPOCH;

/// `RecordBatch.NO_PARTITION_LEADER_EPOCH` / `UNDEFINED_EPOCH`.
const NO_EPOCH: i32 = -1;
/// `UNDEFINED_EPOCH_OFFSET`.
const NO_OFFSET: i64 = -1;

/// Answers OffsetForLeaderEpoch.
pub fn handle(ctx: &Ctx, req: OffsetForLeaderEpochRequest) -> OffsetForLeaderEpochResponse {
    let topics = req
        .topics
        .into_iter()
        .map(|t| {
            let topic = ctx.broker.topics.get(&t.topic);
            let partitions = t
                .partitions
                .into_iter()
                .map(|p| {
                    let out = EpochEndOffset::default().with_partition(p.partition);
                    let Some(log) = topic.as_ref().and_then(|t| t.partition(p.partition)) else {
                        return out.with_error_code(ResponseError::UnknownTopicOrPartition.code());
                    };
                    if let Some(error) = check_current_epoch(p.current_leader_epoch) {
                        return out.with_error_code(error.code());
                    }
                    let (epoch, offset) = end_offset_for(p.leader_epoch, log.log_start_offset(), log.log_end_offset());
                    out.with_leader_epoch(epoch).with_end_offset(offset)
                })
                .collect();
            OffsetForLeaderTopicResult::default()
                .with_topic(t.topic)
                .with_partitions(partitions)
        })
        .collect();
    OffsetForLeaderEpochResponse::default().with_topics(topics)
}

/// Kafka's `Partition.checkCurrentLeaderEpoch`: -1 skips the check; an older epoch than ours
/// is fenced, a newer one is unknown to us (the client's metadata is ahead of this broker).
fn check_current_epoch(current: i32) -> Option<ResponseError> {
    if current == NO_EPOCH || current == LEADER_EPOCH {
        None
    } else if current < LEADER_EPOCH {
        Some(ResponseError::FencedLeaderEpoch)
    } else {
        Some(ResponseError::UnknownLeaderEpoch)
    }
}

/// `LeaderEpochFileCache.endOffsetFor` over the one-entry history (epoch [`LEADER_EPOCH`]
/// from `log_start`): the current epoch ends at the log end offset; an undefined (-1) or newer
/// epoch has no end (UNDEFINED epoch and offset); an older one ends where the first known
/// epoch starts.
fn end_offset_for(requested: i32, log_start: i64, log_end: i64) -> (i32, i64) {
    if requested == NO_EPOCH || requested > LEADER_EPOCH {
        (NO_EPOCH, NO_OFFSET)
    } else if requested == LEADER_EPOCH {
        (LEADER_EPOCH, log_end)
    } else {
        (requested, log_start)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_are_answered_as_kafkas_epoch_cache_does() {
        assert_eq!(end_offset_for(0, 3, 10), (0, 10));
        assert_eq!(end_offset_for(1, 3, 10), (-1, -1));
        assert_eq!(end_offset_for(-1, 3, 10), (-1, -1));
        assert_eq!(end_offset_for(-7, 3, 10), (-7, 3));
        assert_eq!(check_current_epoch(-1), None);
        assert_eq!(check_current_epoch(0), None);
        assert_eq!(check_current_epoch(1), Some(ResponseError::UnknownLeaderEpoch));
        assert_eq!(check_current_epoch(-2), Some(ResponseError::FencedLeaderEpoch));
    }
}
