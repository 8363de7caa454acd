//! Deltas can be folded together before a write: applying the merged delta must give the same
//! snapshot as applying each delta in turn.

use proptest::prelude::*;
use shard_share::{DurableState, ShareSnapshot, StateDelta, StateRange};

fn state_range() -> impl Strategy<Value = StateRange> {
    (0i64..60, 0i64..8, 0u8..3, 0u16..4).prop_map(|(first, len, s, delivery_count)| StateRange {
        first_offset: first,
        last_offset: first + len,
        state: [DurableState::Available, DurableState::Acknowledged, DurableState::Archived][usize::from(s)],
        delivery_count,
    })
}

fn delta() -> impl Strategy<Value = StateDelta> {
    (
        prop::bool::weighted(0.05),
        prop::option::weighted(0.3, 0i64..50),
        prop::collection::vec(state_range(), 0..5),
    )
        .prop_map(|(reset, start_offset, ranges)| StateDelta {
            reset,
            start_offset: if reset { Some(start_offset.unwrap_or(0)) } else { start_offset },
            ranges,
        })
}

/// Per-offset view: offsets not covered are Available with no deliveries.
fn expand(s: &ShareSnapshot) -> Vec<(i64, DurableState, u16)> {
    let mut out = Vec::new();
    for r in &s.ranges {
        for o in r.first_offset..=r.last_offset {
            if r.state != DurableState::Available || r.delivery_count != 0 {
                out.push((o, r.state, r.delivery_count));
            }
        }
    }
    out
}

/// The machine only moves the start offset back with a reset; make generated sequences do the same.
fn forward_only(base_start: i64, mut deltas: Vec<StateDelta>) -> Vec<StateDelta> {
    let mut start = base_start;
    for d in &mut deltas {
        match d.start_offset {
            Some(s) if !d.reset && s < start => d.start_offset = None,
            Some(s) => start = s,
            None => {}
        }
    }
    deltas
}

proptest! {
    #[test]
    fn merged_deltas_apply_like_the_sequence(base_start in 0i64..20, deltas in prop::collection::vec(delta(), 1..8)) {
        let deltas = forward_only(base_start, deltas);
        let mut one_by_one = ShareSnapshot::new(base_start);
        let mut merged = StateDelta::default();
        for d in &deltas {
            one_by_one.apply(d);
            merged.merge(d);
        }
        let mut at_once = ShareSnapshot::new(base_start);
        at_once.apply(&merged);
        prop_assert_eq!(at_once.start_offset, one_by_one.start_offset);
        prop_assert_eq!(expand(&at_once), expand(&one_by_one));
        prop_assert!(one_by_one.validate().is_ok());
        prop_assert!(one_by_one.ranges.iter().all(|r| r.first_offset >= one_by_one.start_offset));
    }
}
