//! ShareFetch (78): share-session handling, piggybacked acknowledgements, then acquisition of
//! records across the session's partitions, long-polling until something is acquired or
//! MaxWaitMs passes. Records go out as the stored batches, sliced from the read, never re-encoded.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use kafka_protocol::error::ResponseError;
use shard_protocol::{
    AcquiredRecords, LeaderIdAndEpoch, ShareCodecError, ShareFetchPartitionResponse, ShareFetchRequest, ShareFetchResponse,
    ShareFetchTopicResponse,
};
use shard_share::AcquireMode;
use tokio::time::Instant;
use uuid::Uuid;

use super::share_common::{AckResult, Refusal, ShareApi, apply_acks, identity, session_error};
use super::{Ctx, LaterChunks, Reply, log_error_code, s};
use crate::share::manager::SlotError;
use crate::share::sessions::SessionError;
use crate::share::slot::{Acquired, PartitionSlot};

/// Log bytes read per partition per attempt: enough for a default poll (500 records of 1 KiB)
/// without reading the client's whole `fetch.max.bytes` (50 MiB) every time.
const READ_CHUNK: usize = 1 << 20;

impl ShareApi for ShareFetchRequest {
    const NAME: &'static str = "ShareFetch";
    type Response = ShareFetchResponse;
    type Frame = Vec<Bytes>;

    fn serve(self, ctx: &Ctx) -> impl Future<Output = Result<Self::Response, Refusal>> + Send {
        serve(ctx, self)
    }

    fn refused(r: Refusal) -> Self::Response {
        ShareFetchResponse {
            error_code: r.code,
            error_message: Some(s(r.message)),
            acquisition_lock_timeout_ms: r.lock_ms,
            ..Default::default()
        }
    }

    // Chunks, so record bytes go out as read, not copied into one frame.
    fn encode(response: &Self::Response, version: i16, correlation_id: i32) -> Result<Vec<Bytes>, ShareCodecError> {
        response.encode_frame_chunks(version, correlation_id)
    }

    fn later(answer: LaterChunks) -> Reply {
        Reply::LaterChunks(answer)
    }
}

/// One partition of the answer.
#[derive(Default)]
struct Part {
    error_code: i16,
    ack: Option<AckResult>,
    acquired: Acquired,
    /// Listed even when empty (every partition of a session-opening request is).
    always: bool,
}

async fn serve(ctx: &Ctx, req: ShareFetchRequest) -> Result<ShareFetchResponse, Refusal> {
    let b = &ctx.broker;
    let (group, member) = match identity(&req.group_id, &req.member_id) {
        Ok(ids) => ids,
        Err(e) => return Err(Refusal::new(0, e)),
    };
    let settings = b.group_configs.share_settings(&group);
    let lock_ms = settings.record_lock_duration_ms;
    let renew = ctx.version >= 2 && req.is_renew_ack;
    if renew && (req.max_bytes != 0 || req.min_bytes != 0 || req.max_records != 0 || req.max_wait_ms != 0) {
        let message = "MaxBytes, MinBytes, MaxRecords and MaxWaitMs must be 0 in a renew request";
        return Err(Refusal::new(lock_ms, (ResponseError::InvalidRequest.code(), message.into())));
    }
    let has_acks = req
        .topics
        .iter()
        .any(|t| t.partitions.iter().any(|p| !p.acknowledgement_batches.is_empty()));
    let requested: Vec<(Uuid, i32)> = req
        .topics
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, p.partition_index)))
        .collect();
    let forgotten: Vec<(Uuid, i32)> = req
        .forgotten_topics_data
        .iter()
        .flat_map(|t| t.partitions.iter().map(move |p| (t.topic_id, *p)))
        .collect();
    let key = (group.clone(), member.clone());
    let epoch = req.share_session_epoch;
    let session_partitions = match epoch {
        0 => {
            if has_acks {
                let message = "a request opening a share session cannot carry acknowledgements";
                return Err(Refusal::new(lock_ms, (ResponseError::InvalidRequest.code(), message.into())));
            }
            let set: BTreeSet<(Uuid, i32)> = requested.iter().copied().collect();
            if let Err(e) = b.shares.open_session(key.clone(), set.clone(), ctx.conn.id) {
                if e == SessionError::LimitReached {
                    // Kafka waits MaxWaitMs before refusing, so clients do not spin.
                    b.wait_until(Instant::now() + max_wait(&req), std::future::pending::<()>()).await;
                }
                return Err(Refusal::new(lock_ms, session_error(e)));
            }
            set.into_iter().collect()
        }
        -1 => {
            if !b.shares.session_exists(&key) {
                return Err(Refusal::new(lock_ms, session_error(SessionError::NotFound)));
            }
            Vec::new()
        }
        _ => match b.shares.advance_session(&key, epoch, requested.clone(), forgotten) {
            Ok(partitions) => partitions,
            Err(e) => return Err(Refusal::new(lock_ms, session_error(e))),
        },
    };
    let member_id = b.shares.member(&group, &member);
    let max_type = if ctx.version >= 2 { 4 } else { 3 };
    let applied = apply_acks(
        ctx,
        &group,
        member_id,
        req.topics.iter().flat_map(|t| {
            t.partitions
                .iter()
                .filter(|p| !p.acknowledgement_batches.is_empty())
                .map(move |p| (t.topic_id, p.partition_index, p.acknowledgement_batches.as_slice()))
        }),
        max_type,
        renew,
        crate::clock::now_ms(),
    );
    // The acknowledgements become durable while the fetch goes on; the answer waits for both.
    let durable = match (b.shares.store(), applied.end) {
        (Some(store), Some(end)) => Some(tokio::spawn(crate::share::manager::wait_durable(store.clone(), end))),
        _ => None,
    };
    let mut acks = applied;
    let mut parts: BTreeMap<(Uuid, i32), Part> = BTreeMap::new();
    if epoch == -1 {
        if let Err(e) = b.shares.close_session(&key) {
            return Err(Refusal::new(lock_ms, session_error(e)));
        }
    } else if !renew {
        if epoch == 0 {
            for p in &session_partitions {
                parts.entry(*p).or_default().always = true;
            }
        }
        fetch(ctx, &req, &group, member_id, &settings, epoch, &session_partitions, &mut parts).await;
        if !b.shares.session_exists(&key) {
            // The session closed while we waited (connection dropped, member fenced): nobody
            // will acknowledge what was just acquired.
            b.shares.release_member(&group, &member);
        }
    }
    if let Some(wait) = durable {
        let outcome = match wait.await {
            Ok(r) => r,
            Err(join) => Err(shard_coordinator::StoreError::Log(shard_log::LogError::Io(std::io::Error::other(
                join.to_string(),
            )))),
        };
        if let Err(e) = outcome {
            acks.fail_written(&e);
        }
    }
    for ack in acks.results {
        let at = (ack.topic_id, ack.partition);
        parts.entry(at).or_default().ack = Some(ack);
    }
    Ok(response(lock_ms, parts))
}

fn max_wait(req: &ShareFetchRequest) -> Duration {
    Duration::from_millis(u64::try_from(req.max_wait_ms).unwrap_or(0))
}

/// Acquires from the session's partitions (rotated by epoch so none always goes first) until
/// something is acquired, a partition fails, or MaxWaitMs passes. With `MinBytes` above 1 nothing
/// is acquired until that many log bytes are readable or the wait is over.
#[allow(clippy::too_many_arguments)]
async fn fetch(
    ctx: &Ctx,
    req: &ShareFetchRequest,
    group: &str,
    member: shard_share::MemberId,
    settings: &crate::share::group_configs::ShareGroupSettings,
    epoch: i32,
    partitions: &[(Uuid, i32)],
    parts: &mut BTreeMap<(Uuid, i32), Part>,
) {
    let b = &ctx.broker;
    let deadline = Instant::now() + max_wait(req);
    let mode = if ctx.version >= 2 && req.share_acquire_mode == 1 {
        AcquireMode::RecordLimit
    } else {
        AcquireMode::BatchOptimized
    };
    let max_records = u32::try_from(req.max_records).unwrap_or(0).max(1);
    // The broker's fetch.max.bytes caps the request's, as for Fetch.
    let max_bytes = usize::try_from(req.max_bytes).unwrap_or(0).min(b.config.fetch_max_bytes as usize);
    let min_bytes = usize::try_from(req.min_bytes).unwrap_or(0).min(max_bytes);
    let mut slots: Vec<((Uuid, i32), Arc<PartitionSlot>)> = Vec::new();
    let now = crate::clock::now_ms();
    for &(topic_id, partition) in partitions {
        match b.shares.slot(group, topic_id, partition, &b.topics, settings, now) {
            Ok(slot) => slots.push(((topic_id, partition), slot)),
            Err(e @ (SlotError::UnknownTopicId | SlotError::UnknownPartition | SlotError::Storage)) => {
                parts.entry((topic_id, partition)).or_default().error_code = e.kafka_code();
            }
        }
    }
    // A new share-partition's start offset is durable before anything of it is answered, so
    // `share.auto.offset.reset` decides it once.
    let mut ready = Vec::with_capacity(slots.len());
    for (at, slot) in slots {
        if slot.store_failed() {
            // Acknowledgements could not be persisted: deliver nothing, as a failed log dir does.
            parts.entry(at).or_default().error_code = ResponseError::KafkaStorageError.code();
            continue;
        }
        if let Some((store, end)) = slot.pending_init() {
            if let Err(e) = crate::share::manager::wait_durable(store, end).await {
                tracing::error!(error = %e, "a new share-partition's initial state could not be made durable");
                parts.entry(at).or_default().error_code = SlotError::Storage.kafka_code();
                continue;
            }
            slot.init_made_durable();
        }
        ready.push((at, slot));
    }
    let mut slots = ready;
    if slots.is_empty() {
        return;
    }
    let rotate = usize::try_from(epoch.max(0)).unwrap_or(0) % slots.len();
    slots.rotate_left(rotate);
    loop {
        // Subscribe before trying, so a produce or release right after the attempt wakes us.
        let mut log_watches: Vec<_> = slots.iter().map(|(_, s)| s.log().subscribe()).collect();
        let mut release_watches: Vec<_> = slots.iter().map(|(_, s)| s.watch_available()).collect();
        let mut records_left = max_records;
        let mut bytes_left = max_bytes;
        let mut got_any = false;
        let now = crate::clock::now_ms();
        let last_try = Instant::now() >= deadline || b.stopping.is_cancelled();
        let enough = min_bytes <= 1 || last_try || {
            let mut readable = 0;
            for (_, slot) in &slots {
                readable += slot.readable_bytes(min_bytes - readable);
                if readable >= min_bytes {
                    break;
                }
            }
            readable >= min_bytes
        };
        for (at, slot) in slots.iter().filter(|_| enough) {
            if records_left == 0 || bytes_left == 0 {
                break;
            }
            // Only the response's first records may exceed MaxBytes (Kafka's minOneMessage).
            let first = bytes_left == max_bytes;
            match slot.acquire(member, settings, records_left, bytes_left.min(READ_CHUNK), first, mode, now) {
                Ok(acquired) if !acquired.ranges.is_empty() => {
                    records_left = records_left.saturating_sub(u32::try_from(acquired.count()).unwrap_or(u32::MAX));
                    bytes_left = bytes_left.saturating_sub(acquired.records.len());
                    got_any = true;
                    parts.entry(*at).or_default().acquired = acquired;
                }
                Ok(_) => {}
                Err(e) => {
                    tracing::warn!(error = %e, "share fetch read failed");
                    parts.entry(*at).or_default().error_code = log_error_code(&e);
                    got_any = true;
                }
            }
        }
        if got_any || last_try {
            return;
        }
        let changes = log_watches
            .iter_mut()
            .map(|w| {
                Box::pin(async move { w.changed().await.is_ok() }) as std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>
            })
            .chain(release_watches.iter_mut().map(|w| {
                Box::pin(async move { w.changed().await.is_ok() }) as std::pin::Pin<Box<dyn std::future::Future<Output = bool> + Send + '_>>
            }));
        // On timeout the loop makes its last try: what is there now is acquired whatever
        // MinBytes says. A closed watch means the log is gone; the next try reports it.
        // Shutdown also ends the wait: the stop does not wait out MaxWaitMs.
        let _ = b.wait_until(deadline, futures::future::select_all(changes)).await;
    }
}

fn response(lock_ms: i32, parts: BTreeMap<(Uuid, i32), Part>) -> ShareFetchResponse {
    let mut topics: BTreeMap<Uuid, Vec<ShareFetchPartitionResponse>> = BTreeMap::new();
    for ((topic_id, partition), part) in parts {
        let listed = part.always || part.error_code != 0 || part.ack.is_some() || !part.acquired.ranges.is_empty();
        if !listed {
            continue;
        }
        let (ack_code, ack_message) = part.ack.map_or((0, None), |a| (a.error_code, a.error_message));
        let records = if part.acquired.records.is_empty() {
            Vec::new()
        } else {
            vec![part.acquired.records]
        };
        topics.entry(topic_id).or_default().push(ShareFetchPartitionResponse {
            partition_index: partition,
            error_code: part.error_code,
            error_message: None,
            acknowledge_error_code: ack_code,
            acknowledge_error_message: ack_message.map(s),
            current_leader: LeaderIdAndEpoch::default(),
            records,
            acquired_records: part
                .acquired
                .ranges
                .iter()
                .map(|r| AcquiredRecords {
                    first_offset: r.first_offset,
                    last_offset: r.last_offset,
                    delivery_count: i16::try_from(r.delivery_count).unwrap_or(i16::MAX),
                })
                .collect(),
        });
    }
    ShareFetchResponse {
        acquisition_lock_timeout_ms: lock_ms,
        responses: topics
            .into_iter()
            .map(|(topic_id, partitions)| ShareFetchTopicResponse { topic_id, partitions })
            .collect(),
        ..Default::default()
    }
}
