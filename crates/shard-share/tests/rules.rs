//! One test per share-partition rule, named by scenario.

use shard_share::{
    AckError, AckRange, AckType, AcquireMode, AcquiredRange, DurableState, LogBatch, MemberId, RecordState, ResetError, ShareConfig,
    SharePartition, ShareSnapshot, SnapshotError, StateDelta, StateRange,
};

const A: MemberId = MemberId(1);
const B: MemberId = MemberId(2);
const NOW: i64 = 1_000_000;
const LOCK: i64 = 30_000;

/// Log batches of `size` records covering `from..to`.
fn batches(from: i64, to: i64, size: i64) -> Vec<LogBatch> {
    (from..to)
        .step_by(size as usize)
        .map(|f| LogBatch::new(f, (f + size - 1).min(to - 1)))
        .collect()
}

fn partition() -> SharePartition {
    SharePartition::new(ShareConfig::default(), 0)
}

/// Acquires for `member` from a log of `size`-record batches ending at `log_end`, read at the next
/// fetch offset.
fn fetch(p: &mut SharePartition, member: MemberId, log_end: i64, size: i64, max: u32, mode: AcquireMode, now: i64) -> Vec<AcquiredRange> {
    let from = p.next_fetch_offset();
    let all = batches(0, log_end, size);
    let read: Vec<LogBatch> = all.into_iter().filter(|b| b.last_offset >= from).collect();
    p.acquire(member, from, &read, max, mode, now).ranges
}

fn range(first: i64, last: i64, count: u16) -> AcquiredRange {
    AcquiredRange {
        first_offset: first,
        last_offset: last,
        delivery_count: count,
    }
}

fn ack(p: &mut SharePartition, member: MemberId, first: i64, last: i64, t: AckType) -> Result<(), AckError> {
    let out = p.acknowledge(member, &[AckRange::new(first, last, t)], NOW);
    out.results[0]
}

fn state(p: &SharePartition, offset: i64) -> (RecordState, u16) {
    let v = p.record(offset).expect("offset in window");
    (v.state, v.delivery_count)
}

// ---- acquisition ----

#[test]
fn batch_optimized_acquire_finishes_the_log_batch_past_max_records() {
    let mut p = partition();
    let got = fetch(&mut p, A, 100, 10, 15, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(0, 19, 1)], "15 requested, whole batches 0-9 and 10-19 handed out");
}

#[test]
fn record_limit_acquire_never_exceeds_max_records_even_inside_a_batch() {
    let mut p = partition();
    let got = fetch(&mut p, A, 100, 10, 15, AcquireMode::RecordLimit, NOW);
    assert_eq!(got, vec![range(0, 14, 1)]);
    assert_eq!(p.next_offset(), 15, "the rest of batch 10-19 is not in flight");
    let next = fetch(&mut p, B, 100, 10, 3, AcquireMode::RecordLimit, NOW);
    assert_eq!(next, vec![range(15, 17, 1)], "the next fetch starts mid-batch");
}

#[test]
fn acquired_records_carry_holder_lock_deadline_and_first_delivery() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let v = p.record(3).unwrap();
    assert_eq!(v.state, RecordState::Acquired);
    assert_eq!(v.delivery_count, 1);
    assert_eq!(v.lock, Some((A, NOW + LOCK)));
}

#[test]
fn a_record_held_by_one_member_is_not_handed_to_another() {
    let mut p = partition();
    fetch(&mut p, A, 50, 10, 20, AcquireMode::BatchOptimized, NOW);
    let got = fetch(&mut p, B, 50, 10, 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(20, 49, 1)]);
    assert_eq!(
        fetch(&mut p, B, 50, 10, 100, AcquireMode::BatchOptimized, NOW),
        vec![],
        "nothing left to hand out"
    );
}

#[test]
fn released_records_are_redelivered_first_with_delivery_count_two() {
    let mut p = partition();
    fetch(&mut p, A, 30, 10, 30, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 10, 19, AckType::Release).unwrap();
    assert_eq!(p.next_fetch_offset(), 10);
    let got = fetch(&mut p, B, 40, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(10, 19, 2)]);
}

#[test]
fn in_flight_cap_stops_new_records_and_an_acquire_at_the_cap_returns_nothing() {
    let config = ShareConfig {
        max_in_flight: 100,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    let got = fetch(&mut p, A, 1000, 10, 500, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(0, 99, 1)]);
    assert_eq!(fetch(&mut p, B, 1000, 10, 500, AcquireMode::BatchOptimized, NOW), vec![]);
    assert_eq!(p.stats().in_flight, 100);
}

#[test]
fn in_flight_cap_still_lets_released_records_inside_the_window_be_reacquired() {
    let config = ShareConfig {
        max_in_flight: 100,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    fetch(&mut p, A, 1000, 10, 500, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 50, 59, AckType::Release).unwrap();
    assert_eq!(
        fetch(&mut p, B, 1000, 10, 500, AcquireMode::BatchOptimized, NOW),
        vec![range(50, 59, 2)]
    );
}

#[test]
fn in_flight_cap_is_soft_by_one_batch_in_batch_mode_and_exact_in_record_limit_mode() {
    let config = ShareConfig {
        max_in_flight: 15,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    assert_eq!(
        fetch(&mut p, A, 100, 10, 500, AcquireMode::BatchOptimized, NOW),
        vec![range(0, 19, 1)]
    );
    let mut q = SharePartition::new(config, 0);
    assert_eq!(fetch(&mut q, A, 100, 10, 500, AcquireMode::RecordLimit, NOW), vec![range(0, 14, 1)]);
}

#[test]
fn offsets_the_log_no_longer_holds_are_archived_not_delivered() {
    let mut p = partition();
    // Compaction removed 0-9: the read at 0 returns the batch at 10.
    let got = p.acquire(A, 0, &[LogBatch::new(10, 19)], 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got.ranges, vec![range(10, 19, 1)]);
    assert_eq!(
        p.start_offset(),
        10,
        "the archived gap is finished, so the start offset moved past it"
    );
    assert_eq!(
        got.delta,
        StateDelta {
            reset: false,
            start_offset: Some(10),
            ranges: vec![]
        },
        "the gap archive is durable (and already below the start offset)"
    );
}

#[test]
fn released_records_missing_from_a_later_read_are_archived() {
    let mut p = partition();
    fetch(&mut p, A, 30, 10, 30, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 0, 9, AckType::Accept).unwrap();
    ack(&mut p, A, 10, 19, AckType::Release).unwrap();
    // Compaction dropped batch 10-19 meanwhile; the read at 10 starts at 20.
    let got = p.acquire(
        B,
        10,
        &[LogBatch::new(20, 29), LogBatch::new(30, 39)],
        100,
        AcquireMode::BatchOptimized,
        NOW,
    );
    assert_eq!(got.ranges, vec![range(30, 39, 1)], "20-29 are still held by A");
    assert_eq!(p.start_offset(), 20, "10-19 were archived, so the start offset passed them");
    assert_eq!(
        got.delta,
        StateDelta {
            reset: false,
            start_offset: Some(20),
            ranges: vec![]
        },
        "the archive is durable: the start offset moved"
    );
}

#[test]
fn offsets_between_batches_are_acquired_for_the_client_to_gap_acknowledge() {
    let mut p = partition();
    let got = p.acquire(
        A,
        0,
        &[LogBatch::new(0, 4), LogBatch::new(8, 9)],
        100,
        AcquireMode::BatchOptimized,
        NOW,
    );
    assert_eq!(got.ranges, vec![range(0, 9, 1)]);
    let out = p.acknowledge(
        A,
        &[
            AckRange::new(0, 4, AckType::Accept),
            AckRange::new(5, 7, AckType::Gap),
            AckRange::new(8, 9, AckType::Accept),
        ],
        NOW,
    );
    assert!(out.results.iter().all(Result::is_ok));
    assert_eq!(p.start_offset(), 10);
}

#[test]
fn a_batch_starting_below_the_start_offset_is_clipped() {
    let mut p = SharePartition::new(ShareConfig::default(), 5);
    let got = p.acquire(A, 5, &[LogBatch::new(0, 9)], 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got.ranges, vec![range(5, 9, 1)]);
}

#[test]
fn an_acquire_from_a_read_past_the_window_end_takes_nothing() {
    let mut p = partition();
    let got = p.acquire(A, 10, &[LogBatch::new(10, 19)], 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got.ranges, vec![], "nothing is known about 0-9");
    assert_eq!(p.stats().in_flight, 0);
}

#[test]
fn malformed_batches_are_ignored_from_the_first_bad_one() {
    let mut p = partition();
    let got = p.acquire(
        A,
        0,
        &[LogBatch::new(0, 9), LogBatch::new(5, 20), LogBatch::new(30, 39)],
        100,
        AcquireMode::BatchOptimized,
        NOW,
    );
    assert_eq!(got.ranges, vec![range(0, 9, 1)]);
    assert_eq!(
        p.acquire(B, 10, &[LogBatch::new(15, 10)], 100, AcquireMode::BatchOptimized, NOW)
            .ranges,
        vec![]
    );
}

#[test]
fn acquiring_500_single_record_batches_in_one_poll_costs_one_run() {
    let mut p = partition();
    let got = fetch(&mut p, A, 500, 1, 500, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(0, 499, 1)]);
    assert_eq!(p.run_count(), 1);
}

// ---- delivery limit and throttled redelivery ----

/// Delivers 0..10 (one 10-record batch) to A and releases it, `times` times.
fn release_repeatedly(p: &mut SharePartition, times: usize) {
    for _ in 0..times {
        let got = fetch(p, A, 10, 10, 100, AcquireMode::BatchOptimized, NOW);
        for r in got {
            ack(p, A, r.first_offset, r.last_offset, AckType::Release).unwrap();
        }
    }
}

#[test]
fn release_at_the_delivery_limit_archives_the_record() {
    let config = ShareConfig {
        delivery_count_limit: 2,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    fetch(&mut p, A, 1, 1, 1, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 0, 0, AckType::Release).unwrap();
    assert_eq!(state(&p, 0), (RecordState::Available, 1));
    assert_eq!(fetch(&mut p, A, 1, 1, 1, AcquireMode::BatchOptimized, NOW), vec![range(0, 0, 2)]);
    ack(&mut p, A, 0, 0, AckType::Release).unwrap();
    assert_eq!(p.start_offset(), 1, "archived at the limit, so finished");
    assert_eq!(
        fetch(&mut p, A, 1, 1, 1, AcquireMode::BatchOptimized, NOW),
        vec![],
        "never delivered again"
    );
}

#[test]
fn redeliveries_past_half_the_limit_go_out_in_halving_chunks() {
    // Limit 5: throttling starts at delivery count 3 (max(2, ceil(5/2))).
    let mut p = partition();
    release_repeatedly(&mut p, 3);
    assert_eq!(state(&p, 0), (RecordState::Available, 3));
    let got = fetch(&mut p, A, 10, 10, 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(got, vec![range(0, 4, 4)], "count 3 >= 3: 10 >> 1 = 5 records");
}

#[test]
fn a_record_on_its_last_attempt_is_delivered_alone() {
    let mut p = partition();
    release_repeatedly(&mut p, 3);
    // Deliver 0-4 (4th delivery) and release them; 5-9 stay at count 3.
    let got = fetch(&mut p, A, 10, 10, 100, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, got[0].first_offset, got[0].last_offset, AckType::Release).unwrap();
    let alone = fetch(&mut p, B, 10, 10, 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(alone, vec![range(0, 0, 5)], "count 4 = limit - 1: the last attempt goes out alone");
    let next = fetch(&mut p, B, 10, 10, 100, AcquireMode::BatchOptimized, NOW);
    assert_eq!(next, vec![range(1, 1, 5)]);
}

#[test]
fn a_record_already_at_a_lowered_limit_is_archived_instead_of_delivered() {
    let mut p = partition();
    release_repeatedly(&mut p, 3);
    p.set_config(ShareConfig {
        delivery_count_limit: 3,
        ..ShareConfig::default()
    });
    assert_eq!(
        fetch(&mut p, A, 20, 10, 100, AcquireMode::BatchOptimized, NOW),
        vec![range(10, 19, 1)]
    );
    assert_eq!(p.start_offset(), 10, "0-9 were out of attempts and archived");
}

// ---- acknowledgement ----

#[test]
fn accept_acknowledges_and_moves_the_start_offset() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let out = p.acknowledge(A, &[AckRange::new(0, 9, AckType::Accept)], NOW);
    assert_eq!(out.results, vec![Ok(())]);
    assert_eq!(p.start_offset(), 10);
    assert_eq!(out.delta.start_offset, Some(10));
}

#[test]
fn release_returns_records_to_available_keeping_their_delivery_count() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let out = p.acknowledge(A, &[AckRange::new(2, 3, AckType::Release)], NOW);
    assert_eq!(state(&p, 2), (RecordState::Available, 1));
    assert_eq!(p.record(2).unwrap().lock, None);
    assert_eq!(
        out.delta.ranges,
        vec![StateRange {
            first_offset: 2,
            last_offset: 3,
            state: DurableState::Available,
            delivery_count: 1
        }]
    );
}

#[test]
fn reject_and_gap_archive_records_for_good() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let out = p.acknowledge(A, &[AckRange::new(1, 1, AckType::Reject), AckRange::new(2, 2, AckType::Gap)], NOW);
    assert_eq!(out.results, vec![Ok(()), Ok(())]);
    assert_eq!(state(&p, 1), (RecordState::Archived, 1));
    assert_eq!(state(&p, 2), (RecordState::Archived, 1));
    p.release_member(A);
    assert_eq!(
        fetch(&mut p, B, 10, 10, 100, AcquireMode::BatchOptimized, NOW),
        vec![range(0, 0, 2), range(3, 9, 2)]
    );
}

#[test]
fn renew_restarts_the_lock_and_changes_nothing_durable() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let out = p.acknowledge(A, &[AckRange::new(0, 9, AckType::Renew)], NOW + 20_000);
    assert_eq!(out.results, vec![Ok(())]);
    assert!(out.delta.is_empty());
    assert_eq!(p.record(0).unwrap().lock, Some((A, NOW + 20_000 + LOCK)));
    assert!(p.expire(NOW + LOCK).is_empty(), "the original deadline no longer applies");
    assert_eq!(state(&p, 0), (RecordState::Acquired, 1));
    p.expire(NOW + 20_000 + LOCK);
    assert_eq!(state(&p, 0), (RecordState::Available, 1));
}

#[test]
fn renew_is_refused_when_the_group_disables_it() {
    let mut p = SharePartition::new(
        ShareConfig {
            renew_enabled: false,
            ..ShareConfig::default()
        },
        0,
    );
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert_eq!(ack(&mut p, A, 0, 9, AckType::Renew), Err(AckError::RenewDisabled));
    assert_eq!(AckError::RenewDisabled.kafka_code(), 121);
}

#[test]
fn only_the_holder_may_acknowledge_others_get_invalid_record_state() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert_eq!(ack(&mut p, B, 0, 9, AckType::Accept), Err(AckError::InvalidRecordState));
    assert_eq!(AckError::InvalidRecordState.kafka_code(), 121);
    assert_eq!(state(&p, 0), (RecordState::Acquired, 1), "a refused ack changes nothing");
}

#[test]
fn acknowledging_records_not_acquired_gets_invalid_record_state() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 5, 5, AckType::Release).unwrap();
    assert_eq!(ack(&mut p, A, 4, 6, AckType::Accept), Err(AckError::InvalidRecordState));
    assert_eq!(state(&p, 4), (RecordState::Acquired, 1), "the range fails as a whole");
}

#[test]
fn acknowledging_past_the_handed_out_offsets_is_an_invalid_request() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert_eq!(ack(&mut p, A, 8, 12, AckType::Accept), Err(AckError::InvalidRequest));
    assert_eq!(ack(&mut p, A, 20, 30, AckType::Accept), Err(AckError::InvalidRequest));
    assert_eq!(
        ack(&mut p, A, 5, 4, AckType::Accept),
        Err(AckError::InvalidRequest),
        "inverted range"
    );
    assert_eq!(AckError::InvalidRequest.kafka_code(), 42);
}

#[test]
fn acknowledging_below_the_start_offset_is_ignored_and_a_straddling_range_applies_to_the_rest() {
    let mut p = partition();
    fetch(&mut p, A, 20, 10, 20, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 0, 9, AckType::Accept).unwrap();
    assert_eq!(ack(&mut p, A, 0, 9, AckType::Accept), Ok(()), "already finished: nothing to do");
    assert_eq!(ack(&mut p, A, 5, 19, AckType::Accept), Ok(()));
    assert_eq!(p.start_offset(), 20);
}

#[test]
fn mixed_types_in_one_call_apply_per_range_and_an_invalid_range_fails_alone() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    let out = p.acknowledge(
        A,
        &[
            AckRange::new(0, 2, AckType::Accept),
            AckRange::new(3, 3, AckType::Release),
            AckRange::new(4, 4, AckType::Reject),
            AckRange::new(3, 3, AckType::Accept), // 3 was just released: not held any more
            AckRange::new(5, 9, AckType::Accept),
        ],
        NOW,
    );
    assert_eq!(out.results, vec![Ok(()), Ok(()), Ok(()), Err(AckError::InvalidRecordState), Ok(())]);
    assert_eq!(out.first_error(), Some(AckError::InvalidRecordState));
    assert_eq!(state(&p, 3), (RecordState::Available, 1));
    assert_eq!(state(&p, 4), (RecordState::Archived, 1));
    assert_eq!(p.start_offset(), 3);
}

#[test]
fn a_late_acknowledgement_after_lock_expiry_gets_invalid_record_state() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    p.expire(NOW + LOCK);
    assert_eq!(ack(&mut p, A, 0, 9, AckType::Accept), Err(AckError::InvalidRecordState));
}

// ---- lock expiry ----

#[test]
fn an_expired_lock_returns_records_to_available_keeping_the_count() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert!(p.expire(NOW + LOCK - 1).is_empty(), "not yet due");
    assert_eq!(p.next_deadline(), Some(NOW + LOCK));
    let delta = p.expire(NOW + LOCK);
    assert_eq!(
        delta.ranges,
        vec![StateRange {
            first_offset: 0,
            last_offset: 9,
            state: DurableState::Available,
            delivery_count: 1
        }]
    );
    assert_eq!(state(&p, 0), (RecordState::Available, 1));
    assert_eq!(
        fetch(&mut p, B, 10, 10, 10, AcquireMode::BatchOptimized, NOW + LOCK),
        vec![range(0, 9, 2)]
    );
}

#[test]
fn an_expired_lock_at_the_delivery_limit_archives() {
    let config = ShareConfig {
        delivery_count_limit: 2,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    fetch(&mut p, A, 5, 5, 5, AcquireMode::BatchOptimized, NOW);
    p.expire(NOW + LOCK);
    fetch(&mut p, A, 5, 5, 5, AcquireMode::BatchOptimized, NOW + LOCK);
    p.expire(NOW + 2 * LOCK);
    assert_eq!(p.start_offset(), 5);
    assert_eq!(p.stats().archived, 0, "archived records were passed by the start offset");
}

#[test]
fn expiry_only_touches_locks_that_are_due() {
    let mut p = partition();
    fetch(&mut p, A, 10, 5, 5, AcquireMode::BatchOptimized, NOW);
    fetch(&mut p, B, 10, 5, 5, AcquireMode::BatchOptimized, NOW + 1000);
    p.expire(NOW + LOCK);
    assert_eq!(state(&p, 0), (RecordState::Available, 1));
    assert_eq!(state(&p, 5), (RecordState::Acquired, 1));
}

#[test]
fn lock_entries_of_acknowledged_records_do_not_pile_up() {
    let mut p = partition();
    for i in 0..10_000 {
        let got = fetch(&mut p, A, (i + 1) * 10, 10, 10, AcquireMode::BatchOptimized, NOW + i);
        ack(&mut p, A, got[0].first_offset, got[0].last_offset, AckType::Accept).unwrap();
    }
    assert_eq!(p.start_offset(), 100_000);
    assert!(
        p.lock_entry_count() <= 2 * p.run_count() + 65,
        "{} stale lock entries kept",
        p.lock_entry_count()
    );
}

// ---- members leaving ----

#[test]
fn a_departed_member_s_records_return_to_available_without_decrementing_counts() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    fetch(&mut p, B, 20, 10, 10, AcquireMode::BatchOptimized, NOW);
    let delta = p.release_member(A);
    assert_eq!(
        delta.ranges,
        vec![StateRange {
            first_offset: 0,
            last_offset: 9,
            state: DurableState::Available,
            delivery_count: 1
        }]
    );
    assert_eq!(state(&p, 0), (RecordState::Available, 1), "Kafka 4.2+: the delivery counted");
    assert_eq!(state(&p, 10), (RecordState::Acquired, 1), "other members keep theirs");
}

#[test]
fn a_departed_member_s_records_at_the_limit_are_archived() {
    let config = ShareConfig {
        delivery_count_limit: 2,
        ..ShareConfig::default()
    };
    let mut p = SharePartition::new(config, 0);
    fetch(&mut p, A, 1, 1, 1, AcquireMode::BatchOptimized, NOW);
    p.release_member(A);
    fetch(&mut p, A, 1, 1, 1, AcquireMode::BatchOptimized, NOW);
    p.release_member(A);
    assert_eq!(p.start_offset(), 1);
}

// ---- start offset and monitoring ----

#[test]
fn the_start_offset_stops_at_the_first_unfinished_record() {
    let mut p = partition();
    fetch(&mut p, A, 30, 10, 30, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 10, 29, AckType::Accept).unwrap();
    assert_eq!(p.start_offset(), 0, "0-9 are still held");
    ack(&mut p, A, 0, 9, AckType::Reject).unwrap();
    assert_eq!(p.start_offset(), 30);
    assert_eq!(p.stats().in_flight, 0);
    assert_eq!(p.stats().end_offset, 30, "an empty window reports end = start, as Kafka does");
}

#[test]
fn stats_count_records_per_state_and_lag_to_the_log_end() {
    let mut p = partition();
    fetch(&mut p, A, 40, 10, 40, AcquireMode::BatchOptimized, NOW);
    p.acknowledge(
        A,
        &[
            AckRange::new(10, 14, AckType::Accept),
            AckRange::new(15, 17, AckType::Reject),
            AckRange::new(18, 19, AckType::Release),
        ],
        NOW,
    );
    let s = p.stats();
    assert_eq!((s.start_offset, s.end_offset, s.next_offset), (0, 39, 40));
    assert_eq!(
        (s.available, s.acquired, s.acknowledged, s.archived, s.in_flight),
        (2, 30, 5, 3, 40)
    );
    assert_eq!(s.lag(100), 100 - 8, "everything not acknowledged or archived up to the log end");
}

#[test]
fn the_log_start_moving_past_the_start_offset_drops_those_records() {
    let mut p = partition();
    fetch(&mut p, A, 30, 10, 30, AcquireMode::BatchOptimized, NOW);
    let delta = p.advance_log_start(15);
    assert_eq!(delta.start_offset, Some(15));
    assert_eq!(p.start_offset(), 15);
    assert_eq!(p.stats().acquired, 15);
    assert_eq!(ack(&mut p, A, 0, 14, AckType::Accept), Ok(()), "acks below the start are ignored");
    p.advance_log_start(100);
    assert_eq!((p.start_offset(), p.next_offset(), p.stats().in_flight), (100, 100, 0));
}

#[test]
fn an_admin_reset_is_refused_while_records_are_held_and_clears_state_otherwise() {
    let mut p = partition();
    fetch(&mut p, A, 10, 10, 10, AcquireMode::BatchOptimized, NOW);
    assert_eq!(p.reset_start(0), Err(ResetError::RecordsAcquired(10)));
    p.release_member(A);
    let delta = p.reset_start(3).unwrap();
    assert!(delta.reset);
    assert_eq!(delta.start_offset, Some(3));
    assert_eq!(
        fetch(&mut p, B, 10, 10, 100, AcquireMode::BatchOptimized, NOW),
        vec![range(3, 9, 1)],
        "delivery counts start over"
    );
    assert_eq!(p.reset_start(-1), Err(ResetError::NegativeOffset(-1)));
}

// ---- snapshots and deltas ----

#[test]
fn acquisitions_and_renewals_produce_no_delta() {
    let mut p = partition();
    let got = p.acquire(A, 0, &batches(0, 10, 10), 10, AcquireMode::BatchOptimized, NOW);
    assert!(got.delta.is_empty());
    assert!(p.acknowledge(A, &[AckRange::new(0, 9, AckType::Renew)], NOW).delta.is_empty());
}

#[test]
fn a_snapshot_stores_acquired_records_as_available_with_their_count() {
    let mut p = partition();
    fetch(&mut p, A, 20, 10, 20, AcquireMode::BatchOptimized, NOW);
    ack(&mut p, A, 5, 9, AckType::Accept).unwrap();
    let snap = p.snapshot();
    assert_eq!(
        snap,
        ShareSnapshot {
            start_offset: 0,
            ranges: vec![
                StateRange {
                    first_offset: 0,
                    last_offset: 4,
                    state: DurableState::Available,
                    delivery_count: 1
                },
                StateRange {
                    first_offset: 5,
                    last_offset: 9,
                    state: DurableState::Acknowledged,
                    delivery_count: 1
                },
                StateRange {
                    first_offset: 10,
                    last_offset: 19,
                    state: DurableState::Available,
                    delivery_count: 1
                },
            ]
        }
    );
    let json = serde_json::to_string(&snap).unwrap();
    assert_eq!(
        serde_json::from_str::<ShareSnapshot>(&json).unwrap(),
        snap,
        "the snapshot serializes"
    );
}

#[test]
fn restoring_a_snapshot_rebuilds_an_equal_machine() {
    let mut p = partition();
    fetch(&mut p, A, 50, 10, 50, AcquireMode::BatchOptimized, NOW);
    p.acknowledge(
        A,
        &[
            AckRange::new(0, 9, AckType::Accept),
            AckRange::new(20, 24, AckType::Reject),
            AckRange::new(30, 39, AckType::Release),
        ],
        NOW,
    );
    p.release_member(A);
    let r = SharePartition::restore(ShareConfig::default(), &p.snapshot()).unwrap();
    assert_eq!(r.snapshot(), p.snapshot());
    assert_eq!(r.stats(), p.stats());
    for o in p.start_offset()..p.next_offset() {
        assert_eq!(r.record(o), p.record(o), "offset {o}");
    }
}

#[test]
fn restore_treats_uncovered_offsets_as_available_with_no_deliveries() {
    let snap = ShareSnapshot {
        start_offset: 10,
        ranges: vec![
            StateRange {
                first_offset: 5,
                last_offset: 12,
                state: DurableState::Acknowledged,
                delivery_count: 1,
            },
            StateRange {
                first_offset: 20,
                last_offset: 24,
                state: DurableState::Archived,
                delivery_count: 3,
            },
        ],
    };
    let mut p = SharePartition::restore(ShareConfig::default(), &snap).unwrap();
    assert_eq!(p.start_offset(), 13, "the acknowledged head is finished");
    assert_eq!(state(&p, 15), (RecordState::Available, 0));
    assert_eq!(p.next_fetch_offset(), 13);
    assert_eq!(p.next_offset(), 25);
}

#[test]
fn restore_refuses_overlapping_or_inverted_ranges() {
    let r = |f, l| StateRange {
        first_offset: f,
        last_offset: l,
        state: DurableState::Available,
        delivery_count: 1,
    };
    let overlap = ShareSnapshot {
        start_offset: 0,
        ranges: vec![r(0, 5), r(5, 9)],
    };
    assert_eq!(
        SharePartition::restore(ShareConfig::default(), &overlap).err(),
        Some(SnapshotError::Overlap(5))
    );
    let inverted = ShareSnapshot {
        start_offset: 0,
        ranges: vec![r(5, 4)],
    };
    assert!(matches!(
        SharePartition::restore(ShareConfig::default(), &inverted),
        Err(SnapshotError::InvertedRange { .. })
    ));
    assert_eq!(
        SharePartition::restore(ShareConfig::default(), &ShareSnapshot::new(-1)).err(),
        Some(SnapshotError::NegativeStart(-1))
    );
}

#[test]
fn applying_every_delta_to_the_first_snapshot_gives_the_durable_state() {
    let mut p = partition();
    let mut persisted = p.snapshot();
    let mut merged = StateDelta::default();
    let mut record = |d: StateDelta, persisted: &mut ShareSnapshot| {
        persisted.apply(&d);
        merged.merge(&d);
    };
    record(
        p.acquire(A, 0, &batches(0, 40, 10), 40, AcquireMode::BatchOptimized, NOW).delta,
        &mut persisted,
    );
    record(
        p.acknowledge(
            A,
            &[
                AckRange::new(0, 4, AckType::Accept),
                AckRange::new(5, 9, AckType::Release),
                AckRange::new(12, 12, AckType::Reject),
            ],
            NOW,
        )
        .delta,
        &mut persisted,
    );
    record(p.expire(NOW + LOCK), &mut persisted);
    assert_eq!(persisted, p.snapshot());
    let mut from_merged = ShareSnapshot::new(0);
    from_merged.apply(&merged);
    assert_eq!(from_merged, p.snapshot(), "merged deltas persist the same state in one write");
}
