//! Pruning deletes whole segments below the oldest record recovery needs, and recovery after it
//! rebuilds the same state.
mod common;

use std::collections::BTreeMap;

use common::*;
use shard_share::{ShareSnapshot, StateDelta};

fn delta_for(i: i64) -> StateDelta {
    match i % 4 {
        0 => delta(None, vec![released(i, i + 2, (i % 5) as u16 + 1)]),
        1 => delta(None, vec![acked(i - 1, i, 1)]),
        2 => delta(None, vec![archived(i, i, 3), acked(i + 1, i + 1, 2)]),
        _ => delta(Some(i / 2), vec![]),
    }
}

#[test]
fn pruning_removes_segments_and_keeps_recovery_equal() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [key("g", 1, 0), key("g", 1, 1), key("h", 2, 0)];
    let cfg = page_cache(1024);
    let config = BTreeMap::from([("share.auto.offset.reset".to_string(), "earliest".to_string())]);
    let expected = {
        let (store, _) = open(dir.path(), cfg.clone(), 5);
        store.write_group_config("g", &config, 0).unwrap();
        let mut expected: BTreeMap<_, _> = keys.iter().map(|k| (k.clone(), ShareSnapshot::default())).collect();
        for i in 0..300i64 {
            for k in &keys {
                let d = delta_for(i);
                store.write_delta(k, &d, i).unwrap();
                expected.get_mut(k).unwrap().apply(&d);
            }
        }
        let before = store.log().segment_base_offsets().len();
        assert!(before > 20, "small segments: {before}");
        // The group config written first pins the log until it is rewritten.
        let p = store.prune().unwrap();
        assert_eq!((p.needed_offset, p.segments_deleted, p.log_start_offset), (0, 0, 0));
        // The config and the keys with updates since their last snapshot (a key whose last write
        // was a snapshot in the active segment is left alone).
        let rewritten = store.snapshot_cold(1_000_000, 60_000).unwrap();
        assert!((2..=keys.len() + 1).contains(&rewritten), "{rewritten}");
        let p = store.prune().unwrap();
        assert!(p.segments_deleted >= before - 2, "{p:?} of {before}");
        assert_eq!(p.log_start_offset, store.log().log_start_offset());
        assert!(p.log_start_offset > 800 && p.log_start_offset <= p.needed_offset, "{p:?}");
        assert_eq!(store.states(), expected);
        // Pruning again has nothing to do.
        assert_eq!(store.prune().unwrap().segments_deleted, 0);
        // Files are gone.
        assert_eq!(segment_files(dir.path()).len(), store.log().segment_base_offsets().len());
        expected
    };
    let (store, rec) = open(dir.path(), cfg.clone(), 5);
    assert_eq!(rec.partitions, expected);
    assert_eq!(rec.group_configs, BTreeMap::from([("g".to_string(), config.clone())]));
    assert!(rec.start_offset > 800);

    // Writing goes on after pruning and a restart; prune again and compare once more.
    let mut expected = expected;
    for i in 300..400i64 {
        let d = delta_for(i);
        store.write_delta(&keys[0], &d, i).unwrap();
        expected.get_mut(&keys[0]).unwrap().apply(&d);
    }
    store.snapshot_cold(2_000_000, 60_000).unwrap();
    assert!(store.prune().unwrap().segments_deleted > 0);
    drop(store);
    let (_, rec) = open(dir.path(), cfg, 5);
    assert_eq!(rec.partitions, expected);
    assert_eq!(rec.group_configs, BTreeMap::from([("g".to_string(), config)]));
}

#[test]
fn an_idle_key_pins_the_log_until_a_cold_snapshot_moves_it() {
    let dir = tempfile::tempdir().unwrap();
    let (idle, busy) = (key("idle", 1, 0), key("busy", 1, 0));
    let cfg = page_cache(1024);
    let (store, _) = open(dir.path(), cfg.clone(), 5);
    let idle_state = ShareSnapshot {
        start_offset: 7,
        ranges: vec![acked(7, 7, 1), archived(9, 9, 5)],
    };
    store.write_snapshot(&idle, &idle_state, 0).unwrap();
    for i in 0..200i64 {
        store.write_delta(&busy, &delta_for(i), 10).unwrap();
    }
    assert_eq!(
        store.prune().unwrap().segments_deleted,
        0,
        "the idle key's snapshot at offset 0 is needed"
    );

    // Too recent: nothing is rewritten.
    assert_eq!(store.snapshot_cold(20, 60_000).unwrap(), 0);
    // Old enough: the busy key (updates since its snapshot) and the idle key (its snapshot sits
    // in a sealed segment) are rewritten.
    assert_eq!(store.snapshot_cold(100_000, 60_000).unwrap(), 2);
    let p = store.prune().unwrap();
    assert!(p.segments_deleted > 0 && p.log_start_offset > 150, "{p:?}");
    // Just rewritten, in the active segment: a later round leaves both alone.
    assert_eq!(store.snapshot_cold(500_000, 60_000).unwrap(), 0);
    let states = store.states();
    drop(store);
    let (_, rec) = open(dir.path(), cfg, 5);
    assert_eq!(rec.partitions, states);
    assert_eq!(rec.partitions[&idle], idle_state);
}

#[test]
fn with_no_live_state_every_sealed_segment_is_pruned() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = page_cache(512);
    let (store, _) = open(dir.path(), cfg.clone(), 3);
    let k = key("g", 1, 0);
    for i in 0..100i64 {
        store.write_delta(&k, &delta_for(i), 0).unwrap();
    }
    store.delete_group("g", 1).unwrap();
    let p = store.prune().unwrap();
    assert_eq!(p.needed_offset, store.log().log_end_offset());
    assert_eq!(store.log().segment_base_offsets(), [store.log().active_segment_base_offset()]);
    assert_eq!(p.log_start_offset, store.log().active_segment_base_offset());
    drop(store);
    let (_, rec) = open(dir.path(), cfg, 3);
    assert!(rec.partitions.is_empty());
}

#[test]
fn a_deleted_key_stays_deleted_when_pruning_cuts_between_its_records() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = page_cache(512);
    let (gone, live) = (key("gone", 1, 0), key("live", 1, 0));
    let (store, _) = open(dir.path(), cfg.clone(), 1000);
    store.write_snapshot(&gone, &ShareSnapshot::new(0), 0).unwrap();
    for i in 0..40i64 {
        store.write_delta(&gone, &delta_for(i), 0).unwrap();
    }
    store.write_snapshot(&live, &ShareSnapshot::new(3), 0).unwrap();
    for i in 0..40i64 {
        store.write_delta(&gone, &delta_for(i), 0).unwrap();
    }
    store.delete(&gone, 0).unwrap();
    let p = store.prune().unwrap();
    assert!(p.segments_deleted > 0, "{p:?}");
    drop(store);
    let (_, rec) = open(dir.path(), cfg, 1000);
    assert_eq!(rec.partitions, BTreeMap::from([(live, ShareSnapshot::new(3))]));
}
