//! What ShareFetch and ShareAcknowledge have in common: decoding and the deferred answer,
//! request identity checks, top-level refusals and applying acknowledgement batches.

use std::pin::Pin;

use kafka_protocol::error::ResponseError;
use kafka_protocol::protocol::StrBytes;
use shard_protocol::{AcknowledgementBatch, ShareCodecError};
use shard_share::MemberId;
use uuid::Uuid;

use super::{Ctx, Reply};
use crate::share::acks;
use crate::share::sessions::SessionError;
use shard_group::share::group::MAX_MEMBER_ID_LEN;

/// A top-level refusal: error code and message.
pub type TopError = (i16, String);

/// A refusal of the whole request, answered with the top-level error and no partitions.
#[derive(Debug)]
pub struct Refusal {
    /// The group's record lock duration (0 before the group is known).
    pub lock_ms: i32,
    /// Error code.
    pub code: i16,
    /// Error message.
    pub message: String,
}

impl Refusal {
    /// `error`, answered with `lock_ms`.
    pub fn new(lock_ms: i32, (code, message): TopError) -> Self {
        Self { lock_ms, code, message }
    }
}

/// A share API served from shard-protocol's hand-written codecs (ShareFetch, ShareAcknowledge),
/// implemented on its request type.
pub trait ShareApi: Sized + Send + 'static {
    /// The API's name, for logs and close reasons.
    const NAME: &'static str;
    /// The response type.
    type Response: Send;
    /// The encoded response: one frame, or chunks that share the record bytes.
    type Frame: Send + 'static;

    /// Serves the request; may wait (long poll, durability) before answering.
    fn serve(self, ctx: &Ctx) -> impl Future<Output = Result<Self::Response, Refusal>> + Send;
    /// The response to a refused request.
    fn refused(refusal: Refusal) -> Self::Response;
    /// Encodes the response with its header.
    fn encode(response: &Self::Response, version: i16, correlation_id: i32) -> Result<Self::Frame, ShareCodecError>;
    /// The reply variant that writes a deferred `Frame`.
    fn later(answer: Pin<Box<dyn Future<Output = Option<Self::Frame>> + Send>>) -> Reply;
}

/// Serves a share request. The answer is deferred: it waits for `serve`, which may long-poll or
/// wait for acknowledgements to become durable.
pub fn handle<A: ShareApi>(ctx: &Ctx, req: A) -> Reply {
    let ctx = ctx.clone();
    A::later(Box::pin(async move {
        let resp = req.serve(&ctx).await.unwrap_or_else(A::refused);
        match A::encode(&resp, ctx.version, ctx.correlation_id) {
            Ok(frame) => Some(frame),
            Err(e) => {
                tracing::error!(error = %e, "cannot encode {} response", A::NAME);
                None
            }
        }
    }))
}

/// Checks GroupId and MemberId, as KafkaApis does before anything else.
pub fn identity(group_id: &Option<StrBytes>, member_id: &Option<StrBytes>) -> Result<(String, String), TopError> {
    let invalid = |m: &str| Err((ResponseError::InvalidRequest.code(), m.to_string()));
    let group = group_id.as_deref().unwrap_or_default();
    let member = member_id.as_deref().unwrap_or_default();
    if group.is_empty() {
        return invalid("GroupId must be set");
    }
    if member.is_empty() || member.len() > MAX_MEMBER_ID_LEN {
        return invalid("MemberId must be a non-empty string of at most 36 characters");
    }
    Ok((group.to_string(), member.to_string()))
}

/// A session error as a top-level refusal.
pub fn session_error(e: SessionError) -> TopError {
    (e.kafka_code(), e.to_string())
}

/// The outcome of one partition's acknowledgements.
#[derive(Debug, Clone)]
pub struct AckResult {
    /// Topic id.
    pub topic_id: Uuid,
    /// Partition.
    pub partition: i32,
    /// 0, or why (some of) the acknowledgements were refused.
    pub error_code: i16,
    /// Explanation when refused.
    pub error_message: Option<String>,
    /// The acknowledgements changed state that was written to the share-state store and must
    /// be durable before this result may be answered.
    pub written: bool,
}

/// Acknowledgement results and the share-state store end offset that must be durable before
/// they are answered.
#[derive(Debug, Default)]
pub struct AppliedAcks {
    /// One result per partition.
    pub results: Vec<AckResult>,
    /// Highest end offset written, if anything was.
    pub end: Option<i64>,
}

/// The message answered when share state could not be persisted.
const NOT_PERSISTED: &str = "the share-partition state could not be persisted";

impl AppliedAcks {
    /// Marks every result whose state was written as failed (UNKNOWN_SERVER_ERROR, what Kafka's
    /// SharePartition answers when its persister write fails): an acknowledgement is never
    /// answered as done unless it is durable.
    pub fn fail_written(&mut self, error: &shard_coordinator::StoreError) {
        tracing::error!(error = %error, "share acknowledgements could not be made durable; answering UNKNOWN_SERVER_ERROR");
        for r in self.results.iter_mut().filter(|r| r.written && r.error_code == 0) {
            r.error_code = ResponseError::UnknownServerError.code();
            r.error_message = Some(NOT_PERSISTED.into());
        }
    }

    /// Waits until what the acknowledgements wrote is durable, failing the written results if
    /// it cannot be.
    pub async fn make_durable(&mut self, ctx: &Ctx) {
        if let Err(e) = ctx.broker.shares.wait_durable(self.end).await {
            self.fail_written(&e);
        }
    }
}

/// Applies each partition's acknowledgement batches for `member`; `max_type` is the highest
/// acknowledge type the request version allows.
pub fn apply_acks<'a>(
    ctx: &Ctx,
    group: &str,
    member: MemberId,
    partitions: impl Iterator<Item = (Uuid, i32, &'a [AcknowledgementBatch])>,
    max_type: i8,
    is_renew_ack: bool,
    now_ms: i64,
) -> AppliedAcks {
    let b = &ctx.broker;
    let mut end: Option<i64> = None;
    let results = partitions
        .map(|(topic_id, partition, batches)| {
            let result = |code: i16, message: Option<String>| AckResult {
                topic_id,
                partition,
                error_code: code,
                error_message: message,
                written: false,
            };
            let ranges = match acks::to_ranges(batches, max_type, is_renew_ack) {
                Ok(ranges) => ranges,
                Err(e) => return result(ResponseError::InvalidRequest.code(), Some(e.to_string())),
            };
            let Some(topic) = b.topics.get_by_id(&topic_id) else {
                return result(ResponseError::UnknownTopicId.code(), None);
            };
            if topic.partition(partition).is_none() {
                return result(ResponseError::UnknownTopicOrPartition.code(), None);
            }
            let Some(slot) = b.shares.existing_slot(group, topic_id, partition) else {
                return result(
                    ResponseError::InvalidRecordState.code(),
                    Some("no records of this partition were acquired by the group".into()),
                );
            };
            let (outcome, written) = slot.acknowledge(member, &ranges, now_ms);
            let mut r = match outcome.first_error() {
                None => result(0, None),
                Some(e) => result(e.kafka_code(), Some(e.to_string())),
            };
            match written {
                Ok(Some(e)) => {
                    end = Some(end.map_or(e, |x| x.max(e)));
                    r.written = true;
                }
                Ok(None) => {}
                // Logged by the slot.
                Err(_) => return result(ResponseError::UnknownServerError.code(), Some(NOT_PERSISTED.into())),
            }
            r
        })
        .collect();
    AppliedAcks { results, end }
}
