mod common;

use common::*;
use proptest::prelude::*;
use shard_log::{LogConfig, PartitionLog};

#[derive(Debug, Clone)]
enum Op {
    /// Append one batch: record value lengths.
    Append(Vec<usize>),
    /// Close (or just drop, like a crash) and reopen.
    Reopen { clean: bool },
    /// Read from a fraction of the way from the log start to the log end with a byte limit.
    Read { at: f64, max_bytes: usize },
    /// DeleteRecords up to a fraction of the log end (below the start: a no-op).
    Delete { at: f64 },
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        6 => prop::collection::vec(0usize..300, 1..6).prop_map(Op::Append),
        1 => any::<bool>().prop_map(|clean| Op::Reopen { clean }),
        3 => (0.0f64..1.0, 1usize..3000).prop_map(|(at, max_bytes)| Op::Read { at, max_bytes }),
        1 => (0.0f64..1.0).prop_map(|at| Op::Delete { at }),
    ]
}

fn check_read(log: &PartitionLog, model: &[String], at: i64, max_bytes: usize) {
    let r = log.read(at, max_bytes).unwrap();
    let recs = records_in(&r.records);
    // Without the first-batch exception the limit is strict, and the plan matches the read.
    let strict = log.read_with(at, max_bytes, false).unwrap().records;
    assert!(strict.len() <= max_bytes, "{} bytes read for a limit of {max_bytes}", strict.len());
    assert!(r.records.starts_with(&strict), "a strict read is a prefix of the lenient one");
    assert_eq!(log.readable_bytes(at, max_bytes, true).unwrap(), r.records.len() as u64);
    assert_eq!(log.readable_bytes(at, max_bytes, false).unwrap(), strict.len() as u64);
    if r.records.len() > max_bytes {
        assert_eq!(
            recs_len_of_first_batch(&r.records),
            r.records.len(),
            "only a lone first batch may exceed the limit"
        );
    }
    if at == model.len() as i64 {
        assert!(recs.is_empty());
        return;
    }
    assert!(!recs.is_empty());
    assert!(recs[0].0 <= at, "read starts after the requested offset");
    assert!(recs.iter().any(|(o, _)| *o == at));
    for (i, (o, v)) in recs.iter().enumerate() {
        assert_eq!(*o, recs[0].0 + i as i64, "offsets are contiguous");
        assert_eq!(v, &model[*o as usize], "value at offset {o}");
    }
}

/// Length of the first batch in `records` (its length field plus the 12-byte log overhead).
fn recs_len_of_first_batch(records: &[u8]) -> usize {
    i32::from_be_bytes(records[8..12].try_into().unwrap()) as usize + 12
}

fn run(ops: Vec<Op>, config: LogConfig, fsync_mode: bool) {
    let dir = tempfile::tempdir().unwrap();
    let mut log = PartitionLog::open(dir.path(), config.clone()).unwrap();
    let mut model: Vec<String> = Vec::new();
    // The model's log start offset.
    let mut start: i64 = 0;
    for op in ops {
        match op {
            Op::Append(lens) => {
                let base = model.len();
                let recs: Vec<(i64, Vec<u8>)> = lens
                    .iter()
                    .enumerate()
                    .map(|(i, l)| {
                        let v = format!("{}:{}", base + i, "z".repeat(*l));
                        (base as i64, v.into_bytes())
                    })
                    .collect();
                let info = log.append(&batch_with(&recs, NO_PRODUCER), 0).unwrap();
                assert_eq!(info.base_offset, base as i64);
                for (_, v) in recs {
                    model.push(String::from_utf8(v).unwrap());
                }
                if fsync_mode {
                    log.flush_to(info.last_offset + 1).unwrap();
                }
                assert_eq!(log.high_watermark(), model.len() as i64);
            }
            Op::Reopen { clean } => {
                if clean {
                    log.close().unwrap();
                }
                drop(log);
                log = PartitionLog::open(dir.path(), config.clone()).unwrap();
                assert_eq!(log.log_end_offset(), model.len() as i64);
                assert_eq!(log.log_start_offset(), start, "the log start survives a reopen");
            }
            Op::Read { at, max_bytes } => {
                let end = model.len() as i64;
                let at = start + (at * (end - start + 1) as f64) as i64;
                check_read(&log, &model, at.min(end), max_bytes);
                if start > 0 {
                    assert!(log.read(start - 1, max_bytes).is_err(), "below the log start");
                }
            }
            Op::Delete { at } => {
                let target = (at * (model.len() + 1) as f64) as i64;
                let target = target.min(model.len() as i64);
                start = start.max(target);
                assert_eq!(log.delete_records(target).unwrap(), start);
                assert_eq!(log.log_start_offset(), start);
                let bases = log.segment_base_offsets();
                assert!(bases[0] <= start, "no record at or above the start is deleted");
                assert!(bases.len() == 1 || bases[1] > start, "segments wholly below the start are deleted");
            }
        }
    }
    let all = read_all(&log, start);
    assert_eq!(all.len() as i64, model.len() as i64 - start);
    for (o, v) in all {
        assert_eq!(v, model[o as usize]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn reads_return_exactly_the_appended_records(
        ops in prop::collection::vec(op(), 1..40),
        segment_bytes in 300u64..4000,
        interval in prop_oneof![Just(0u32), 1u32..2000, Just(1u32 << 20)],
        fsync_mode in any::<bool>(),
    ) {
        let config = if fsync_mode { fsync(segment_bytes, interval) } else { page_cache(segment_bytes, interval) };
        run(ops, config, fsync_mode);
    }
}
