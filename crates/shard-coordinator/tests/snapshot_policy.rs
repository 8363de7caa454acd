//! A full snapshot replaces the updates every `updates_per_snapshot` writes.
mod common;

use common::*;
use shard_coordinator::record::{SHARE_SNAPSHOT, SHARE_UPDATE};
use shard_share::{ShareSnapshot, StateDelta};

fn deltas(n: usize) -> Vec<StateDelta> {
    (0..n as i64)
        .map(|i| match i % 3 {
            0 => delta(None, vec![released(2 * i, 2 * i + 3, (i % 4) as u16 + 1)]),
            1 => delta(None, vec![acked(2 * i, 2 * i, 1), archived(2 * i + 1, 2 * i + 1, 2)]),
            _ => delta(Some(i), vec![acked(i, 2 * i, 1)]),
        })
        .collect()
}

#[test]
fn a_snapshot_is_written_after_n_updates_and_recovery_equals_the_in_memory_state() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (key("g", 1, 0), key("g", 1, 1));
    let ds = deltas(20);
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 3);
        store.write_snapshot(&a, &ShareSnapshot::new(0), 0).unwrap();
        for (i, d) in ds.iter().enumerate() {
            store.write_delta(&a, d, i as i64).unwrap();
            store.write_delta(&b, d, i as i64).unwrap();
        }
        assert_eq!(store.state(&a), Some(applied(ShareSnapshot::new(0), &ds)));
        assert_eq!(store.state(&b), Some(applied(ShareSnapshot::default(), &ds)));
        store.close().unwrap();
    }
    let types = record_types(dir.path());
    let kinds = |skip_first: bool, parity: usize| -> String {
        types
            .iter()
            .skip(usize::from(skip_first))
            .enumerate()
            .filter(|(i, _)| i % 2 == parity)
            .map(|(_, r)| if r.1 == SHARE_SNAPSHOT { 'S' } else { 'U' })
            .collect()
    };
    // a: snapshot, then 3 updates per snapshot. b starts with updates (no snapshot yet).
    assert_eq!(kinds(true, 0), "UUUSUUUSUUUSUUUSUUUS");
    assert_eq!(kinds(true, 1), "UUUSUUUSUUUSUUUSUUUS");
    assert_eq!(types[0].1, SHARE_SNAPSHOT);
    assert!(types.iter().all(|r| !r.2 && (r.1 == SHARE_SNAPSHOT || r.1 == SHARE_UPDATE)));

    let (store, rec) = open(dir.path(), page_cache(1 << 20), 3);
    assert_eq!(rec.partitions[&a], applied(ShareSnapshot::new(0), &ds));
    assert_eq!(rec.partitions[&b], applied(ShareSnapshot::default(), &ds));
    // The update count survives recovery: after the last snapshot, three more updates, then one.
    for d in deltas(4) {
        store.write_delta(&a, &d, 100).unwrap();
    }
    drop(store);
    let tail: String = record_types(dir.path())[41..]
        .iter()
        .map(|r| if r.1 == SHARE_SNAPSHOT { 'S' } else { 'U' })
        .collect();
    assert_eq!(tail, "UUUS");
}

#[test]
fn zero_updates_per_snapshot_writes_only_snapshots() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    let ds = deltas(5);
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 0);
        for d in &ds {
            store.write_delta(&k, d, 0).unwrap();
        }
    }
    assert!(record_types(dir.path()).iter().all(|r| r.1 == SHARE_SNAPSHOT));
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 0);
    assert_eq!(rec.partitions[&k], applied(ShareSnapshot::default(), &ds));
}

#[test]
fn an_empty_delta_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path(), page_cache(1 << 20), 3);
    let k = key("g", 1, 0);
    store.write_delta(&k, &delta(None, vec![acked(0, 0, 1)]), 0).unwrap();
    assert_eq!(store.write_delta(&k, &StateDelta::default(), 0).unwrap(), 1);
    assert_eq!(store.log().log_end_offset(), 1);
}
