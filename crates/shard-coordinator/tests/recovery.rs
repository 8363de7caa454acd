//! Recovery: the state rebuilt at open equals what was written.
mod common;

use std::collections::BTreeMap;

use common::*;
use shard_coordinator::record::{FormatError, SHARE_SNAPSHOT, SHARE_UPDATE};
use shard_coordinator::{STATE_PARTITION_DIR, ShareStateStore, StoreError};
use shard_log::PartitionLog;
use shard_share::{ShareSnapshot, StateDelta};

#[test]
fn recovery_from_snapshot_only() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    let snap = ShareSnapshot {
        start_offset: 10,
        ranges: vec![acked(10, 14, 1), released(15, 15, 3), archived(20, 29, 5)],
    };
    {
        let (store, rec) = open(dir.path(), page_cache(1 << 20), 500);
        assert!(rec.partitions.is_empty());
        store.write_snapshot(&k, &snap, 1_000).unwrap();
        store.close().unwrap();
    }
    assert_eq!(record_types(dir.path()), [(0, SHARE_SNAPSHOT, false)]);
    let (store, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions, BTreeMap::from([(k.clone(), snap.clone())]));
    assert_eq!(rec.records, 1);
    assert_eq!(store.state(&k), Some(snap));
}

#[test]
fn recovery_from_updates_only_applies_them_to_an_empty_start() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 3);
    let deltas = vec![
        delta(Some(5), vec![acked(5, 9, 1)]),
        delta(None, vec![released(10, 12, 1)]),
        delta(None, vec![archived(11, 11, 2), acked(12, 12, 2)]),
        delta(Some(10), vec![acked(10, 10, 2)]),
    ];
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        for (i, d) in deltas.iter().enumerate() {
            store.write_delta(&k, d, i as i64).unwrap();
        }
        store.close().unwrap();
    }
    assert!(record_types(dir.path()).iter().all(|r| r.1 == SHARE_UPDATE && !r.2));
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions[&k], applied(ShareSnapshot::default(), &deltas));
    assert_eq!(rec.partitions[&k].start_offset, 10);
    assert_eq!(
        rec.partitions[&k].ranges,
        vec![acked(10, 10, 2), archived(11, 11, 2), acked(12, 12, 2)]
    );
}

#[test]
fn recovery_from_snapshot_plus_updates() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = (key("g", 1, 0), key("h", 2, 7));
    let base = ShareSnapshot::new(100);
    let da = vec![
        delta(None, vec![acked(100, 104, 1), released(105, 110, 1)]),
        delta(Some(105), vec![acked(105, 106, 2)]),
    ];
    let db = vec![delta(None, vec![archived(3, 3, 5)])];
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        store.write_snapshot(&a, &base, 0).unwrap();
        store.write_snapshot(&b, &ShareSnapshot::new(0), 0).unwrap();
        // Interleaved keys.
        store.write_delta(&a, &da[0], 1).unwrap();
        store.write_delta(&b, &db[0], 1).unwrap();
        store.write_delta(&a, &da[1], 2).unwrap();
        // Dropped without close: a crash after the writes reached the OS.
    }
    let (store, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions[&a], applied(base, &da));
    assert_eq!(rec.partitions[&b], applied(ShareSnapshot::new(0), &db));
    assert_eq!(rec.records, 5);
    assert_eq!(store.states(), rec.partitions);
}

#[test]
fn torn_last_update_is_cut_and_everything_before_it_recovers() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    let deltas = vec![
        delta(None, vec![acked(0, 4, 1)]),
        delta(Some(5), vec![acked(5, 5, 1)]),
        delta(None, vec![released(6, 9, 2)]),
    ];
    let torn = delta(None, vec![archived(6, 9, 3)]);
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        store.write_snapshot(&k, &ShareSnapshot::new(0), 0).unwrap();
        for d in &deltas {
            store.write_delta(&k, d, 1).unwrap();
        }
        store.write_delta(&k, &torn, 2).unwrap();
        store.close().unwrap();
    }
    // Cut the last batch in the middle of its record.
    let file = segment_files(dir.path()).pop().unwrap();
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len - 7)
        .unwrap();

    let (store, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions[&k], applied(ShareSnapshot::new(0), &deltas));
    assert_eq!(rec.end_offset, 4, "the torn batch is gone from the log");
    // The store goes on from there.
    let end = store.write_delta(&k, &torn, 3).unwrap();
    assert_eq!(end, 5);
    store.close().unwrap();
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    let mut all = deltas.clone();
    all.push(torn);
    assert_eq!(rec.partitions[&k], applied(ShareSnapshot::new(0), &all));
}

#[test]
fn a_record_that_passes_the_crc_but_does_not_decode_fails_recovery_naming_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        store.write_snapshot(&k, &ShareSnapshot::new(0), 0).unwrap();
        store.write_delta(&k, &delta(None, vec![acked(0, 0, 1)]), 0).unwrap();
        store.close().unwrap();
    }
    {
        let log = PartitionLog::open(&dir.path().join(STATE_PARTITION_DIR), page_cache(1 << 20)).unwrap();
        // Record type 7 does not exist.
        log.append(&raw_batch(&[0, 7, 0, 0], Some(&[0, 0])), 0).unwrap();
        log.close().unwrap();
    }
    let err = ShareStateStore::open(dir.path(), page_cache(1 << 20), options(500)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CorruptRecord {
                offset: 2,
                source: FormatError::UnknownRecordType(7)
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("offset 2"), "{err}");
}

#[test]
fn a_truncated_value_fails_recovery_naming_its_offset() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    {
        let log = PartitionLog::open(&dir.path().join(STATE_PARTITION_DIR), page_cache(1 << 20)).unwrap();
        let rec = shard_coordinator::StateRecord {
            key: shard_coordinator::record::RecordKey::ShareUpdate(k),
            value: Some(shard_coordinator::record::RecordValue::ShareUpdate(
                shard_coordinator::record::ShareUpdateValue {
                    snapshot_epoch: 0,
                    leader_epoch: 0,
                    start_offset: -1,
                    delivery_complete_count: -1,
                    state_batches: vec![acked(0, 3, 1)],
                },
            )),
        };
        let (kb, vb) = rec.encode();
        let vb = vb.unwrap();
        log.append(&raw_batch(&kb, Some(&vb)), 0).unwrap();
        log.append(&raw_batch(&kb, Some(&vb[..vb.len() - 3])), 0).unwrap();
        log.close().unwrap();
    }
    let err = ShareStateStore::open(dir.path(), page_cache(1 << 20), options(500)).unwrap_err();
    assert!(
        matches!(
            err,
            StoreError::CorruptRecord {
                offset: 1,
                source: FormatError::Truncated { .. }
            }
        ),
        "{err:?}"
    );
}

#[test]
fn tombstones_delete_state_for_a_key_a_group_and_a_topic() {
    let dir = tempfile::tempdir().unwrap();
    let keys = [
        key("g", 1, 0),
        key("g", 1, 1),
        key("g", 2, 0),
        key("h", 1, 0),
        key("h", 2, 0),
        key("i", 3, 0),
    ];
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        for k in &keys {
            store.write_delta(k, &delta(Some(1), vec![acked(1, 1, 1)]), 0).unwrap();
        }
        store
            .write_group_config("g", &BTreeMap::from([("share.auto.offset.reset".into(), "earliest".into())]), 0)
            .unwrap();
        store.delete(&keys[5], 1).unwrap();
        store.delete_group("g", 1).unwrap();
        store.delete_topic(topic(2), 1).unwrap();
        // Deleting what has no state writes nothing.
        let end = store.log().log_end_offset();
        assert_eq!(store.delete(&keys[5], 1).unwrap(), end);
        assert_eq!(store.delete_group("nobody", 1).unwrap(), end);
        assert_eq!(store.log().log_end_offset(), end);
        assert_eq!(store.states().into_keys().collect::<Vec<_>>(), [keys[3].clone()]);
        assert_eq!(store.group_config("g"), None);
        store.close().unwrap();
    }
    let types = record_types(dir.path());
    assert_eq!(
        types.iter().filter(|r| r.2).count(),
        1 + 3 + 1 + 1,
        "one tombstone per key and one for g's configs"
    );
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions.into_keys().collect::<Vec<_>>(), [keys[3].clone()]);
    assert!(rec.group_configs.is_empty());

    // A deleted key can start again.
    let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
    store.write_delta(&keys[0], &delta(None, vec![acked(0, 0, 1)]), 2).unwrap();
    drop(store);
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(
        rec.partitions[&keys[0]],
        applied(ShareSnapshot::default(), &[delta(None, vec![acked(0, 0, 1)])])
    );
}

#[test]
fn group_configs_persist_are_replaced_and_deleted_by_an_empty_map() {
    let dir = tempfile::tempdir().unwrap();
    let first = BTreeMap::from([
        ("share.auto.offset.reset".to_string(), "earliest".to_string()),
        ("share.record.lock.duration.ms".to_string(), "15000".to_string()),
    ]);
    let second = BTreeMap::from([("share.delivery.count.limit".to_string(), "3".to_string())]);
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        store.write_group_config("a", &first, 0).unwrap();
        store.write_group_config("b", &first, 0).unwrap();
        store.write_group_config("a", &second, 1).unwrap();
        store.write_group_config("b", &BTreeMap::new(), 1).unwrap();
        assert_eq!(store.group_config("a"), Some(second.clone()));
        assert_eq!(store.group_config("b"), None);
        store.close().unwrap();
    }
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.group_configs, BTreeMap::from([("a".to_string(), second)]));
}

#[test]
fn a_reset_delta_is_written_as_a_snapshot_and_recovers_from_empty() {
    let dir = tempfile::tempdir().unwrap();
    let k = key("g", 1, 0);
    let deltas = vec![
        delta(None, vec![acked(0, 9, 1)]),
        StateDelta {
            reset: true,
            start_offset: Some(3),
            ranges: vec![],
        },
        delta(None, vec![released(3, 4, 1)]),
    ];
    {
        let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
        for d in &deltas {
            store.write_delta(&k, d, 0).unwrap();
        }
        store.close().unwrap();
    }
    let types: Vec<i16> = record_types(dir.path()).into_iter().map(|r| r.1).collect();
    assert_eq!(types, [SHARE_UPDATE, SHARE_SNAPSHOT, SHARE_UPDATE]);
    let (_, rec) = open(dir.path(), page_cache(1 << 20), 500);
    assert_eq!(rec.partitions[&k], applied(ShareSnapshot::default(), &deltas));
    assert_eq!(rec.partitions[&k].ranges, vec![released(3, 4, 1)]);
}

#[test]
fn invalid_input_is_refused_without_writing() {
    let dir = tempfile::tempdir().unwrap();
    let (store, _) = open(dir.path(), page_cache(1 << 20), 500);
    let k = key("g", 1, 0);
    let bad = [
        delta(None, vec![acked(5, 4, 1)]),
        delta(Some(-2), vec![]),
        delta(None, vec![acked(0, 0, 40_000)]),
    ];
    for d in &bad {
        assert!(matches!(store.write_delta(&k, d, 0), Err(StoreError::InvalidInput(_))), "{d:?}");
    }
    let unsorted = ShareSnapshot {
        start_offset: 0,
        ranges: vec![acked(5, 6, 1), acked(0, 1, 1)],
    };
    assert!(matches!(store.write_snapshot(&k, &unsorted, 0), Err(StoreError::InvalidInput(_))));
    let long = key(&"x".repeat(40_000), 1, 0);
    assert!(matches!(
        store.write_snapshot(&long, &ShareSnapshot::new(0), 0),
        Err(StoreError::InvalidInput(_))
    ));
    assert_eq!(store.log().log_end_offset(), 0);
    assert!(store.states().is_empty());
}
