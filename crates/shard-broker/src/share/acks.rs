//! Acknowledgement batches as sent in ShareFetch and ShareAcknowledge: validated the way Kafka's
//! KafkaApis does, then turned into the state machine's [`AckRange`]s.

use shard_protocol::share::AcknowledgementBatch;
use shard_share::{AckRange, AckType};

/// Why a partition's acknowledgement batches were refused (answered `INVALID_REQUEST`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AckBatchError {
    /// `FirstOffset > LastOffset`.
    #[error("acknowledgement batch {first}..{last} is inverted")]
    Inverted {
        /// First offset.
        first: i64,
        /// Last offset.
        last: i64,
    },
    /// Batches must come in offset order.
    #[error("acknowledgement batch starting at {0} overlaps the previous one")]
    OutOfOrder(i64),
    /// No types.
    #[error("acknowledgement batch has no acknowledge types")]
    NoTypes,
    /// More than one type, but not one per offset.
    #[error("acknowledgement batch has {types} types for {offsets} offsets")]
    TypeCount {
        /// Types sent.
        types: usize,
        /// Offsets in the batch (saturating: a batch may span the whole i64 range).
        offsets: u64,
    },
    /// An unknown type, or RENEW where it is not allowed.
    #[error("acknowledge type {0} is not allowed here")]
    BadType(i8),
}

/// Checks one partition's batches and converts them to ranges (runs of one type).
/// `max_type` is 3 for version 1 and 4 (RENEW) from version 2; RENEW also needs `is_renew_ack`.
pub fn to_ranges(batches: &[AcknowledgementBatch], max_type: i8, is_renew_ack: bool) -> Result<Vec<AckRange>, AckBatchError> {
    let mut out = Vec::with_capacity(batches.len());
    let mut prev_end = -1;
    for b in batches {
        let (first, last) = (b.first_offset, b.last_offset);
        if first > last {
            return Err(AckBatchError::Inverted { first, last });
        }
        if first < prev_end {
            return Err(AckBatchError::OutOfOrder(first));
        }
        let types = &b.acknowledge_types;
        if types.is_empty() {
            return Err(AckBatchError::NoTypes);
        }
        // abs_diff: the offsets are the client's, `last - first` overflows for i64::MIN..i64::MAX.
        let span = last.abs_diff(first);
        if types.len() > 1 && span != types.len() as u64 - 1 {
            return Err(AckBatchError::TypeCount {
                types: types.len(),
                offsets: span.saturating_add(1),
            });
        }
        let mut parsed = Vec::with_capacity(types.len());
        for &code in types {
            let allowed = (0..=max_type).contains(&code) && (code != 4 || is_renew_ack);
            match AckType::from_code(code) {
                Some(t) if allowed => parsed.push(t),
                _ => return Err(AckBatchError::BadType(code)),
            }
        }
        if let [only] = parsed.as_slice() {
            out.push(AckRange::new(first, last, *only));
        } else {
            push_runs(&mut out, first, &parsed);
        }
        prev_end = last;
    }
    Ok(out)
}

/// Per-offset types become one range per run of equal types.
fn push_runs(out: &mut Vec<AckRange>, first: i64, types: &[AckType]) {
    let mut run_start = 0;
    for i in 1..=types.len() {
        if i == types.len() || types[i] != types[run_start] {
            // first + (i - 1) <= last: `first + i` alone may pass i64::MAX.
            out.push(AckRange::new(first + run_start as i64, first + (i as i64 - 1), types[run_start]));
            run_start = i;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(first: i64, last: i64, types: &[i8]) -> AcknowledgementBatch {
        AcknowledgementBatch {
            first_offset: first,
            last_offset: last,
            acknowledge_types: types.to_vec(),
        }
    }

    #[test]
    fn single_type_covers_the_whole_batch() {
        let r = to_ranges(&[batch(5, 9, &[1])], 3, false).expect("valid");
        assert_eq!(r, vec![AckRange::new(5, 9, AckType::Accept)]);
    }

    #[test]
    fn per_offset_types_become_runs() {
        let r = to_ranges(&[batch(10, 14, &[1, 1, 2, 3, 3])], 3, false).expect("valid");
        assert_eq!(
            r,
            vec![
                AckRange::new(10, 11, AckType::Accept),
                AckRange::new(12, 12, AckType::Release),
                AckRange::new(13, 14, AckType::Reject),
            ]
        );
    }

    #[test]
    fn malformed_batches_are_refused() {
        assert!(matches!(
            to_ranges(&[batch(9, 5, &[1])], 3, false),
            Err(AckBatchError::Inverted { .. })
        ));
        assert_eq!(
            to_ranges(&[batch(0, 9, &[1]), batch(3, 12, &[1])], 3, false),
            Err(AckBatchError::OutOfOrder(3))
        );
        assert_eq!(to_ranges(&[batch(0, 1, &[])], 3, false), Err(AckBatchError::NoTypes));
        assert!(matches!(
            to_ranges(&[batch(0, 3, &[1, 2])], 3, false),
            Err(AckBatchError::TypeCount { .. })
        ));
        assert_eq!(to_ranges(&[batch(0, 0, &[5])], 4, true), Err(AckBatchError::BadType(5)));
        assert_eq!(to_ranges(&[batch(0, 0, &[-1])], 3, false), Err(AckBatchError::BadType(-1)));
    }

    #[test]
    fn batches_spanning_the_whole_offset_range_do_not_overflow() {
        // -1..i64::MAX passes the order check; `last - first` would overflow.
        assert_eq!(
            to_ranges(&[batch(-1, i64::MAX, &[1, 2])], 3, false),
            Err(AckBatchError::TypeCount {
                types: 2,
                offsets: (1u64 << 63) + 1
            })
        );
        assert_eq!(
            to_ranges(&[batch(0, i64::MAX, &[1])], 3, false).expect("valid"),
            vec![AckRange::new(0, i64::MAX, AckType::Accept)]
        );
        assert_eq!(
            to_ranges(&[batch(i64::MAX - 1, i64::MAX, &[1, 3])], 3, false).expect("valid"),
            vec![
                AckRange::new(i64::MAX - 1, i64::MAX - 1, AckType::Accept),
                AckRange::new(i64::MAX, i64::MAX, AckType::Reject),
            ]
        );
    }

    #[test]
    fn renew_needs_version_two_and_the_renew_flag() {
        assert_eq!(to_ranges(&[batch(0, 0, &[4])], 3, true), Err(AckBatchError::BadType(4)));
        assert_eq!(to_ranges(&[batch(0, 0, &[4])], 4, false), Err(AckBatchError::BadType(4)));
        assert_eq!(
            to_ranges(&[batch(0, 0, &[4])], 4, true).expect("valid"),
            vec![AckRange::new(0, 0, AckType::Renew)]
        );
    }
}
