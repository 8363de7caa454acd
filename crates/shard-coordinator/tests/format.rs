//! The record format: Kafka's byte layout, round trips, and no panic on any stored bytes.
mod common;

use std::collections::BTreeMap;

use common::*;
use proptest::prelude::*;
use shard_coordinator::FormatError;
use shard_coordinator::record::{
    GroupConfigValue, RecordKey, RecordValue, SHARE_SNAPSHOT, SHARE_UPDATE, ShareSnapshotValue, ShareUpdateValue, StateRecord,
};
use shard_share::DurableState;

#[test]
fn share_update_bytes_match_kafkas_layout() {
    let k = key("g", 1, 5);
    let mut expected_key = vec![0, 1, 0, 1, b'g'];
    expected_key.extend_from_slice(&[1; 16]);
    expected_key.extend_from_slice(&[0, 0, 0, 5]);
    assert_eq!(RecordKey::ShareUpdate(k.clone()).encode(), expected_key);

    let value = RecordValue::ShareUpdate(ShareUpdateValue {
        snapshot_epoch: 2,
        leader_epoch: 0,
        start_offset: -1,
        delivery_complete_count: -1,
        state_batches: vec![acked(10, 12, 3)],
    });
    let mut expected = vec![0, 0]; // value version 0
    expected.extend_from_slice(&2i32.to_be_bytes()); // SnapshotEpoch
    expected.extend_from_slice(&0i32.to_be_bytes()); // LeaderEpoch
    expected.extend_from_slice(&(-1i64).to_be_bytes()); // StartOffset
    expected.push(2); // compact array of 1
    expected.extend_from_slice(&10i64.to_be_bytes());
    expected.extend_from_slice(&12i64.to_be_bytes());
    expected.push(2); // Acknowledged
    expected.extend_from_slice(&3i16.to_be_bytes());
    expected.push(0); // batch tagged fields
    expected.push(0); // value tagged fields (DeliveryCompleteCount at its default -1 is omitted)
    assert_eq!(value.encode(), expected);
    assert_eq!(RecordValue::decode(SHARE_UPDATE, &expected).unwrap(), value);
}

#[test]
fn share_snapshot_bytes_match_kafkas_layout_with_the_tagged_delivery_complete_count() {
    let mut expected_key = vec![0, 0, 0, 3, b'g', b'r', b'p'];
    expected_key.extend_from_slice(&[2; 16]);
    expected_key.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(RecordKey::ShareSnapshot(key("grp", 2, 0)).encode(), expected_key);

    let value = RecordValue::ShareSnapshot(ShareSnapshotValue {
        snapshot_epoch: 1,
        state_epoch: 4,
        leader_epoch: 0,
        start_offset: 100,
        delivery_complete_count: 7,
        create_timestamp: 1_000,
        write_timestamp: 2_000,
        state_batches: vec![],
    });
    let mut expected = vec![0, 0];
    for v in [1i32, 4, 0] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    for v in [100i64, 1_000, 2_000] {
        expected.extend_from_slice(&v.to_be_bytes());
    }
    expected.push(1); // empty compact array
    expected.extend_from_slice(&[1, 0, 4, 0, 0, 0, 7]); // one tagged field: tag 0, size 4, 7
    assert_eq!(value.encode(), expected);
    assert_eq!(RecordValue::decode(SHARE_SNAPSHOT, &expected).unwrap(), value);
}

#[test]
fn unknown_tagged_fields_are_skipped_and_bad_fields_refused() {
    let value = RecordValue::ShareUpdate(ShareUpdateValue {
        snapshot_epoch: 0,
        leader_epoch: 0,
        start_offset: 3,
        delivery_complete_count: -1,
        state_batches: vec![],
    });
    let mut bytes = value.encode();
    *bytes.last_mut().unwrap() = 1; // one tagged field follows
    bytes.extend_from_slice(&[9, 2, 0xab, 0xcd]); // tag 9, 2 bytes
    assert_eq!(RecordValue::decode(SHARE_UPDATE, &bytes).unwrap(), value);

    let mut v1 = value.encode();
    v1[1] = 1;
    assert_eq!(
        RecordValue::decode(SHARE_UPDATE, &v1),
        Err(FormatError::UnsupportedVersion {
            record_type: SHARE_UPDATE,
            version: 1
        })
    );
    let mut trailing = value.encode();
    trailing.push(0);
    assert!(matches!(
        RecordValue::decode(SHARE_UPDATE, &trailing),
        Err(FormatError::TrailingBytes { count: 1, .. })
    ));

    let bad_state = RecordValue::ShareUpdate(ShareUpdateValue {
        state_batches: vec![acked(0, 1, 1)],
        ..match &value {
            RecordValue::ShareUpdate(v) => v.clone(),
            _ => unreachable!(),
        }
    });
    let mut b = bad_state.encode();
    let state_at = 2 + 4 + 4 + 8 + 1 + 16;
    b[state_at] = 1; // Acquired is never persisted
    assert_eq!(RecordValue::decode(SHARE_UPDATE, &b), Err(FormatError::InvalidDeliveryState(1)));
    b[state_at] = 0;
    b[state_at + 1] = 0xff; // negative delivery count
    assert!(matches!(
        RecordValue::decode(SHARE_UPDATE, &b),
        Err(FormatError::NegativeDeliveryCount(_))
    ));
    assert_eq!(StateRecord::decode(None, None), Err(FormatError::NullKey));
}

#[test]
fn group_config_records_round_trip() {
    let r = StateRecord {
        key: RecordKey::GroupConfig("orders".into()),
        value: Some(RecordValue::GroupConfig(GroupConfigValue {
            configs: BTreeMap::from([
                ("share.auto.offset.reset".to_string(), "by_duration:PT1H".to_string()),
                ("share.isolation.level".to_string(), "read_committed".to_string()),
            ]),
        })),
    };
    let (k, v) = r.encode();
    assert_eq!(&k[..2], &100i16.to_be_bytes());
    assert_eq!(StateRecord::decode(Some(&k), v.as_deref()).unwrap(), r);
    let tomb = StateRecord {
        key: RecordKey::GroupConfig("orders".into()),
        value: None,
    };
    assert_eq!(StateRecord::decode(Some(&k), None).unwrap(), tomb);
}

fn state_batch() -> impl Strategy<Value = shard_share::StateRange> {
    (0i64..1 << 40, 0i64..1000, 0u8..3, 0u16..=i16::MAX as u16).prop_map(|(first, len, s, count)| {
        range(
            first,
            first + len,
            [DurableState::Available, DurableState::Acknowledged, DurableState::Archived][usize::from(s)],
            count,
        )
    })
}

proptest! {
    #[test]
    fn records_round_trip(
        group in "\\PC{0,20}",
        t in any::<u8>(),
        partition in any::<i32>(),
        epochs in any::<(i32, i32, i32, i32)>(),
        start in -1i64..1 << 40,
        times in any::<(i64, i64)>(),
        batches in prop::collection::vec(state_batch(), 0..6),
        snapshot in any::<bool>(),
    ) {
        let k = key(&group, t, partition);
        let r = if snapshot {
            let mut batches = batches;
            batches.sort_by_key(|b| b.first_offset);
            batches.dedup_by(|later, earlier| later.first_offset <= earlier.last_offset);
            let start = start.max(0).min(batches.first().map_or(i64::MAX, |b| b.first_offset));
            StateRecord {
                key: RecordKey::ShareSnapshot(k),
                value: Some(RecordValue::ShareSnapshot(ShareSnapshotValue {
                    snapshot_epoch: epochs.0,
                    state_epoch: epochs.1,
                    leader_epoch: epochs.2,
                    start_offset: start,
                    delivery_complete_count: epochs.3,
                    create_timestamp: times.0,
                    write_timestamp: times.1,
                    state_batches: batches,
                })),
            }
        } else {
            StateRecord {
                key: RecordKey::ShareUpdate(k),
                value: Some(RecordValue::ShareUpdate(ShareUpdateValue {
                    snapshot_epoch: epochs.0,
                    leader_epoch: epochs.2,
                    start_offset: start,
                    delivery_complete_count: epochs.3,
                    state_batches: batches,
                })),
            }
        };
        let (kb, vb) = r.encode();
        prop_assert_eq!(StateRecord::decode(Some(&kb), vb.as_deref()).unwrap(), r);
    }

    #[test]
    fn arbitrary_bytes_never_panic(key in prop::collection::vec(any::<u8>(), 0..40), value in prop::option::of(prop::collection::vec(any::<u8>(), 0..80))) {
        let _ = StateRecord::decode(Some(&key), value.as_deref());
        for t in [0i16, 1, 100] {
            let mut v = vec![0u8, 0];
            v.extend_from_slice(value.as_deref().unwrap_or(&[]));
            let _ = RecordValue::decode(t, &v);
        }
    }
}
