//! Durability: group commit through `durable`, and a failed fsync poisons the store.
mod common;

use std::sync::Arc;

use common::*;
use shard_share::ShareSnapshot;

#[test]
fn durable_waits_for_an_fsync_shared_by_concurrent_writers() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path(), fsync(1 << 20), 10);
    let store = Arc::new(store);
    let threads: Vec<_> = (0..8)
        .map(|t| {
            let store = Arc::clone(&store);
            std::thread::spawn(move || {
                let k = key("g", 1, t);
                for i in 0..50i64 {
                    let end = store.write_delta(&k, &delta(None, vec![acked(i, i, 1)]), i).unwrap();
                    store.durable(end).unwrap();
                    assert!(store.log().durable_end_offset() >= end);
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    assert_eq!(store.log().log_end_offset(), 400);
    assert!(store.log().fsync_count() <= 400, "fsyncs: {}", store.log().fsync_count());
    drop(store);
    let (_, rec) = open(dir.path(), fsync(1 << 20), 10);
    assert_eq!(rec.partitions.len(), 8);
    for p in rec.partitions.values() {
        assert_eq!(p.ranges, vec![acked(0, 49, 1)]);
    }
}

#[test]
fn a_failed_fsync_poisons_the_store() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    let (store, _) = open(dir.path(), fsync(1 << 20), 10);
    let end = store.write_snapshot(&k, &ShareSnapshot::new(0), 0).unwrap();
    store.durable(end).unwrap();

    let end = store.write_delta(&k, &delta(None, vec![acked(0, 0, 1)]), 1).unwrap();
    store.log().inject_fsync_failure();
    let err = store.durable(end).unwrap_err();
    assert!(store.log().durable_end_offset() < end, "{err}");

    // Every later write and wait fails.
    let err = store.write_delta(&k, &delta(None, vec![acked(1, 1, 1)]), 2).unwrap_err();
    assert!(err.is_poisoned(), "{err:?}");
    assert!(store.write_snapshot(&k, &ShareSnapshot::new(5), 2).unwrap_err().is_poisoned());
    assert!(
        store
            .write_group_config("g", &[("a".to_string(), "b".to_string())].into(), 2)
            .unwrap_err()
            .is_poisoned()
    );
    assert!(store.delete(&k, 2).unwrap_err().is_poisoned());
    assert!(store.durable(end).unwrap_err().is_poisoned());
    assert!(store.prune().is_err());
}
