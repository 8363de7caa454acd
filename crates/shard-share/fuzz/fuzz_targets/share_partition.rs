//! Fuzz target: the share-partition state machine against its per-offset reference model.
//!
//! Input layout: 4 config bytes, then operations in the `Op::decode_all` encoding.
//!   byte 0: bits 0-6 delivery count limit (2..=10), bit 7 renew_enabled
//!   byte 1: lock duration, 50..=5000 ms
//!   bytes 2-3: max in-flight records, 1..=600 (little endian, modulo)
//! `run_scenario` checks after every op that machine and model agree and the queue invariants hold,
//! then drains the log and checks every record ended Acknowledged or Archived. Any disagreement
//! panics with the error text, the config and the decoded ops, which libFuzzer reports as a crash.
#![no_main]

use libfuzzer_sys::fuzz_target;
use shard_share::ShareConfig;
use shard_share::model::{Op, run_scenario};

/// More ops rarely find more and make each run slower.
const MAX_OPS: usize = 400;

fn config(b: [u8; 4]) -> ShareConfig {
    ShareConfig {
        delivery_count_limit: 2 + u16::from(b[0] & 0x7f) % 9,
        lock_duration_ms: 50 + i64::from(b[1]) * 4950 / 255,
        max_in_flight: 1 + u32::from(u16::from_le_bytes([b[2], b[3]])) % 600,
        renew_enabled: b[0] & 0x80 != 0,
    }
}

fuzz_target!(|data: &[u8]| {
    let Some((head, rest)) = data.split_first_chunk::<4>() else {
        return;
    };
    let config = config(*head);
    let mut ops = Op::decode_all(rest);
    ops.truncate(MAX_OPS);
    if let Err(e) = run_scenario(config, &ops) {
        let listing: String = ops.iter().enumerate().map(|(i, op)| format!("  {i:3}: {op:?}\n")).collect();
        panic!(
            "share_partition: machine and model disagree: {e}\nconfig: {config:?}\nops ({}):\n{listing}",
            ops.len()
        );
    }
});
