//! Property tests: random interleavings of produce, acquire, acknowledge, lock expiry, member loss,
//! restarts from persisted state, retention, compaction, admin resets and config changes, run
//! against the machine and the per-offset reference model side by side (see `shard_share::model`).
//! After each step the two must agree on every record, and at the end every produced record must
//! have ended Acknowledged or Archived.

use proptest::prelude::*;
use shard_share::ShareConfig;
use shard_share::model::{Op, run_scenario};

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => (1u16..30).prop_map(|records| Op::Produce { records }),
        1 => any::<u16>().prop_map(|index| Op::Compact { index }),
        1 => (0u8..3).prop_map(|batches| Op::Retain { batches }),
        8 => (0u8..4, 1u16..60, any::<bool>(), 1u8..8).prop_map(|(member, max_records, record_limit, read_batches)| Op::Acquire {
            member,
            max_records,
            record_limit,
            read_batches
        }),
        6 => (0u8..4, any::<u16>()).prop_map(|(member, pattern)| Op::AckHeld { member, pattern }),
        2 => (0u8..4, -5i16..60, -2i16..20, 0u8..5).prop_map(|(member, from, len, ack_type)| Op::AckRange { member, from, len, ack_type }),
        3 => (0u16..400).prop_map(|ms| Op::Tick { ms }),
        1 => (0u8..4).prop_map(|member| Op::MemberGone { member }),
        1 => Just(Op::Restart),
        1 => (0u16..40).prop_map(|delta| Op::Reset { delta }),
        1 => (1u8..8, 50u16..600, 5u16..200).prop_map(|(delivery_limit, lock_ms, max_in_flight)| Op::Configure {
            delivery_limit,
            lock_ms,
            max_in_flight
        }),
    ]
}

fn config() -> impl Strategy<Value = ShareConfig> {
    (2u16..7, 100i64..1000, 10u32..300, any::<bool>()).prop_map(|(delivery_count_limit, lock_duration_ms, max_in_flight, renew_enabled)| {
        ShareConfig {
            delivery_count_limit,
            lock_duration_ms,
            max_in_flight,
            renew_enabled,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 400, max_shrink_iters: 20_000, ..ProptestConfig::default() })]

    #[test]
    fn machine_matches_model_over_random_interleavings(config in config(), ops in prop::collection::vec(op(), 1..120)) {
        if let Err(e) = run_scenario(config, &ops) {
            prop_assert!(false, "{}", e);
        }
    }

    #[test]
    fn machine_matches_model_under_heavy_redelivery(
        ops in prop::collection::vec(prop_oneof![
            2 => (1u16..10).prop_map(|records| Op::Produce { records }),
            4 => (0u8..3, 1u16..30, any::<bool>()).prop_map(|(member, max_records, record_limit)| Op::Acquire { member, max_records, record_limit, read_batches: 4 }),
            4 => (0u8..3, any::<u16>()).prop_map(|(member, pattern)| Op::AckHeld { member, pattern: pattern | 0x5555 }),
            2 => (0u16..300).prop_map(|ms| Op::Tick { ms }),
            1 => Just(Op::Restart),
        ], 1..150)
    ) {
        // Mostly releases: records climb to the delivery limit, through the throttled chunks.
        let config = ShareConfig { delivery_count_limit: 6, lock_duration_ms: 200, max_in_flight: 100, renew_enabled: true };
        if let Err(e) = run_scenario(config, &ops) {
            prop_assert!(false, "{}", e);
        }
    }
}
