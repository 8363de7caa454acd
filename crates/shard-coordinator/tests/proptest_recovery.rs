//! Random interleavings of deltas, snapshots, deletions, cold snapshots, pruning, crashes and
//! clean restarts over a few keys: the store's state and the state recovered at every reopen are
//! exactly the model's `snapshot.apply(delta)*`.
mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use shard_coordinator::SharePartitionKey;
use shard_share::{DurableState, ShareSnapshot, StateDelta, StateRange};

fn state_range() -> impl Strategy<Value = StateRange> {
    (0i64..80, 0i64..10, 0u8..3, 0u16..6).prop_map(|(first, len, s, delivery_count)| StateRange {
        first_offset: first,
        last_offset: first + len,
        state: [DurableState::Available, DurableState::Acknowledged, DurableState::Archived][usize::from(s)],
        delivery_count,
    })
}

fn delta() -> impl Strategy<Value = StateDelta> {
    (
        prop::bool::weighted(0.05),
        prop::option::weighted(0.3, 0i64..60),
        prop::collection::vec(state_range(), 0..5),
    )
        .prop_map(|(reset, start_offset, ranges)| StateDelta {
            reset,
            start_offset: if reset { Some(start_offset.unwrap_or(0)) } else { start_offset },
            ranges,
        })
}

fn snapshot() -> impl Strategy<Value = ShareSnapshot> {
    (0i64..40, prop::collection::vec(state_range(), 0..4)).prop_map(|(start, ranges)| {
        // Normalize through apply: sorted, non-overlapping, at or above the start.
        let mut s = ShareSnapshot::new(start);
        s.apply(&StateDelta {
            reset: false,
            start_offset: None,
            ranges,
        });
        s
    })
}

#[derive(Debug, Clone)]
enum Op {
    Delta(usize, StateDelta),
    Snapshot(usize, ShareSnapshot),
    Delete(usize),
    DeleteGroup(usize),
    Config(usize, u8),
    Cold(i64),
    Prune,
    Crash,
    Close,
}

const KEYS: usize = 4;

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        30 => (0..KEYS, delta()).prop_map(|(k, d)| Op::Delta(k, d)),
        3 => (0..KEYS, snapshot()).prop_map(|(k, s)| Op::Snapshot(k, s)),
        2 => (0..KEYS).prop_map(Op::Delete),
        1 => (0..KEYS).prop_map(Op::DeleteGroup),
        2 => (0..KEYS, 0u8..4).prop_map(|(k, v)| Op::Config(k, v)),
        3 => (0i64..5_000).prop_map(Op::Cold),
        3 => Just(Op::Prune),
        2 => Just(Op::Crash),
        2 => Just(Op::Close),
    ]
}

fn keys() -> Vec<SharePartitionKey> {
    vec![key("g", 1, 0), key("g", 1, 1), key("h", 2, 0), key("i", 1, 0)]
}

fn config(v: u8) -> BTreeMap<String, String> {
    (0..v).map(|i| (format!("share.config.{i}"), format!("{v}"))).collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_histories_recover_to_the_applied_deltas(
        updates_per_snapshot in 0u32..5,
        segment_bytes in 256u64..2048,
        ops in prop::collection::vec(op(), 1..120),
    ) {
        let dir = tempfile::tempdir().unwrap();
        let cfg = page_cache(segment_bytes);
        let keys = keys();
        let mut model: BTreeMap<SharePartitionKey, ShareSnapshot> = BTreeMap::new();
        let mut configs: BTreeMap<String, BTreeMap<String, String>> = BTreeMap::new();
        let (mut store, rec) = open(dir.path(), cfg.clone(), updates_per_snapshot);
        prop_assert!(rec.partitions.is_empty());
        let mut now = 0i64;
        for op in ops {
            now += 10;
            match op {
                Op::Delta(k, d) => {
                    store.write_delta(&keys[k], &d, now).unwrap();
                    if !d.is_empty() {
                        model.entry(keys[k].clone()).or_default().apply(&d);
                    }
                }
                Op::Snapshot(k, s) => {
                    store.write_snapshot(&keys[k], &s, now).unwrap();
                    model.insert(keys[k].clone(), s);
                }
                Op::Delete(k) => {
                    store.delete(&keys[k], now).unwrap();
                    model.remove(&keys[k]);
                }
                Op::DeleteGroup(k) => {
                    let group = keys[k].group_id.clone();
                    store.delete_group(&group, now).unwrap();
                    model.retain(|key, _| key.group_id != group);
                    configs.remove(&group);
                }
                Op::Config(k, v) => {
                    let group = &keys[k].group_id;
                    store.write_group_config(group, &config(v), now).unwrap();
                    if v == 0 { configs.remove(group); } else { configs.insert(group.clone(), config(v)); }
                }
                Op::Cold(after) => {
                    store.snapshot_cold(now, after).unwrap();
                }
                Op::Prune => {
                    let before = store.log().log_start_offset();
                    let p = store.prune().unwrap();
                    prop_assert!(p.log_start_offset >= before && p.log_start_offset <= p.needed_offset.max(before));
                }
                Op::Crash | Op::Close => {
                    if matches!(op, Op::Close) {
                        store.close().unwrap();
                    }
                    drop(store);
                    let (s, rec) = open(dir.path(), cfg.clone(), updates_per_snapshot);
                    prop_assert_eq!(&rec.partitions, &model);
                    prop_assert_eq!(&rec.group_configs, &configs);
                    store = s;
                }
            }
            prop_assert_eq!(&store.states(), &model);
        }
        store.prune().unwrap();
        drop(store);
        let (_, rec) = open(dir.path(), cfg, updates_per_snapshot);
        prop_assert_eq!(&rec.partitions, &model);
        prop_assert_eq!(&rec.group_configs, &configs);
    }
}
