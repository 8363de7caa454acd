//! Idempotent-producer state: per producer id, the epoch and the last few batches, checked
//! under the append lock so the sequence check is atomic with the write.
//!
//! Snapshots (`{offset:020}.snapshot`, JSON) hold the state for all batches below `offset`;
//! they are taken at segment roll and on close so a restart only replays the tail of the log.

use std::collections::{HashMap, VecDeque};
use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::LogError;
use crate::batch::BatchHeader;

/// How many recent batches per producer are kept for duplicate detection (as in Kafka).
pub(crate) const CACHED_BATCHES: usize = 5;
/// Extension of producer-state snapshot files.
pub(crate) const SNAPSHOT_EXT: &str = "snapshot";

/// Metadata of one appended batch of an idempotent producer.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct BatchMeta {
    pub(crate) first_seq: i32,
    pub(crate) last_seq: i32,
    pub(crate) base_offset: i64,
    pub(crate) last_offset: i64,
}

/// What the log knows about one producer id.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct ProducerEntry {
    pub(crate) epoch: i16,
    /// Oldest first.
    pub(crate) batches: VecDeque<BatchMeta>,
}

impl ProducerEntry {
    fn push(&mut self, meta: BatchMeta) {
        if self.batches.len() == CACHED_BATCHES {
            self.batches.pop_front();
        }
        self.batches.push_back(meta);
    }
}

/// Result of checking the batches of one append.
#[derive(Debug)]
pub(crate) enum SeqCheck {
    /// Write the batches, then [`ProducerState::commit`] these updated entries.
    Append(Vec<(i64, ProducerEntry)>),
    /// Every batch was already appended: `(base offset, last offset)` of the originals.
    Duplicate(i64, i64),
}

#[derive(Serialize, Deserialize)]
struct SnapshotEntry {
    producer_id: i64,
    #[serde(flatten)]
    entry: ProducerEntry,
}

#[derive(Serialize, Deserialize)]
struct Snapshot {
    offset: i64,
    producers: Vec<SnapshotEntry>,
}

/// All producers of one partition.
#[derive(Debug, Default)]
pub(crate) struct ProducerState {
    producers: HashMap<i64, ProducerEntry>,
}

/// The sequence after `seq`, wrapping at `i32::MAX` like Kafka.
fn next_seq(seq: i32) -> i32 {
    if seq == i32::MAX { 0 } else { seq + 1 }
}

impl ProducerState {
    /// The entry of `producer_id`, if known.
    #[cfg(test)]
    pub(crate) fn get(&self, producer_id: i64) -> Option<&ProducerEntry> {
        self.producers.get(&producer_id)
    }

    /// Checks the batches of one append (`offsets[i]` = offsets batch `i` would get) against
    /// the known state without changing it. All batches are checked before any is written.
    pub(crate) fn check(&self, headers: &[BatchHeader], offsets: &[(i64, i64)]) -> Result<SeqCheck, LogError> {
        // Entries as they would be after the batches checked so far (usually just one).
        let mut staged: Vec<(i64, ProducerEntry)> = Vec::new();
        let mut duplicates: Vec<(i64, i64)> = Vec::new();
        for (h, &(base, last)) in headers.iter().zip(offsets) {
            if h.producer_id < 0 {
                continue;
            }
            let idx = match staged.iter().position(|(pid, _)| *pid == h.producer_id) {
                Some(i) => Some(i),
                None => self.producers.get(&h.producer_id).map(|e| {
                    staged.push((h.producer_id, e.clone()));
                    staged.len() - 1
                }),
            };
            let first_seq = h.base_sequence;
            if first_seq < 0 {
                // Not idempotent (e.g. a transaction marker): only a newer epoch is recorded.
                match idx {
                    Some(i) if staged[i].1.epoch < h.producer_epoch => {
                        staged[i].1 = ProducerEntry {
                            epoch: h.producer_epoch,
                            batches: VecDeque::new(),
                        };
                    }
                    Some(_) => {}
                    None => staged.push((
                        h.producer_id,
                        ProducerEntry {
                            epoch: h.producer_epoch,
                            batches: VecDeque::new(),
                        },
                    )),
                }
                continue;
            }
            let meta = BatchMeta {
                first_seq,
                last_seq: h.last_sequence(),
                base_offset: base,
                last_offset: last,
            };
            let out_of_order = |expected: i32| LogError::OutOfOrderSequence {
                producer_id: h.producer_id,
                expected,
                got: first_seq,
            };
            let Some(i) = idx else {
                if first_seq != 0 {
                    return Err(out_of_order(0));
                }
                let mut entry = ProducerEntry {
                    epoch: h.producer_epoch,
                    batches: VecDeque::new(),
                };
                entry.push(meta);
                staged.push((h.producer_id, entry));
                continue;
            };
            let entry = &mut staged[i].1;
            if h.producer_epoch < entry.epoch {
                return Err(LogError::InvalidProducerEpoch {
                    producer_id: h.producer_id,
                    current: entry.epoch,
                    got: h.producer_epoch,
                });
            }
            if h.producer_epoch > entry.epoch {
                if first_seq != 0 {
                    return Err(out_of_order(0));
                }
                *entry = ProducerEntry {
                    epoch: h.producer_epoch,
                    batches: VecDeque::new(),
                };
                entry.push(meta);
                continue;
            }
            if let Some(orig) = entry
                .batches
                .iter()
                .find(|b| b.first_seq == meta.first_seq && b.last_seq == meta.last_seq)
            {
                duplicates.push((orig.base_offset, orig.last_offset));
                continue;
            }
            if let Some(prev) = entry.batches.back() {
                let expected = next_seq(prev.last_seq);
                if first_seq != expected {
                    return Err(out_of_order(expected));
                }
            }
            entry.push(meta);
        }
        if !duplicates.is_empty() {
            if duplicates.len() == headers.len() {
                let base = duplicates[0].0;
                let last = duplicates[duplicates.len() - 1].1;
                return Ok(SeqCheck::Duplicate(base, last));
            }
            // A retry mixing old and new batches: refuse rather than write half of it.
            let h = &headers[0];
            return Err(LogError::OutOfOrderSequence {
                producer_id: h.producer_id,
                expected: -1,
                got: h.base_sequence,
            });
        }
        Ok(SeqCheck::Append(staged))
    }

    /// Applies the entries from a successful [`Self::check`] after the write.
    pub(crate) fn commit(&mut self, staged: Vec<(i64, ProducerEntry)>) {
        for (pid, entry) in staged {
            self.producers.insert(pid, entry);
        }
    }

    /// Replays a batch read back from the log (no checks: it was accepted before).
    pub(crate) fn replay(&mut self, h: &BatchHeader) {
        if h.producer_id < 0 {
            return;
        }
        let entry = self.producers.entry(h.producer_id).or_insert_with(|| ProducerEntry {
            epoch: h.producer_epoch,
            batches: VecDeque::new(),
        });
        if h.producer_epoch > entry.epoch {
            entry.epoch = h.producer_epoch;
            entry.batches.clear();
        }
        if h.base_sequence >= 0 && h.producer_epoch == entry.epoch {
            entry.push(BatchMeta {
                first_seq: h.base_sequence,
                last_seq: h.last_sequence(),
                base_offset: h.base_offset,
                last_offset: h.last_offset(),
            });
        }
    }

    /// Writes a snapshot of the state covering offsets below `offset` (temp file + rename).
    pub(crate) fn write_snapshot(&self, dir: &Path, offset: i64, sync: bool) -> io::Result<()> {
        let mut producers: Vec<SnapshotEntry> = self
            .producers
            .iter()
            .map(|(&producer_id, entry)| SnapshotEntry {
                producer_id,
                entry: entry.clone(),
            })
            .collect();
        producers.sort_by_key(|p| p.producer_id);
        let json = serde_json::to_vec(&Snapshot { offset, producers }).map_err(io::Error::other)?;
        let path = snapshot_path(dir, offset);
        let tmp = path.with_extension("snapshot.tmp");
        let mut file = fs::File::create(&tmp)?;
        file.write_all(&json)?;
        if sync {
            file.sync_all()?;
        }
        drop(file);
        fs::rename(&tmp, &path)
    }

    /// Loads a snapshot file; `None` if it is unreadable or malformed (it is only a cache).
    pub(crate) fn load_snapshot(path: &Path, offset: i64) -> Option<Self> {
        let data = fs::read(path).ok()?;
        let snap: Snapshot = serde_json::from_slice(&data).ok()?;
        if snap.offset != offset {
            return None;
        }
        let mut state = Self::default();
        for p in snap.producers {
            if p.entry.batches.len() > CACHED_BATCHES {
                return None;
            }
            state.producers.insert(p.producer_id, p.entry);
        }
        Some(state)
    }
}

/// Path of the snapshot for `offset`.
pub(crate) fn snapshot_path(dir: &Path, offset: i64) -> PathBuf {
    dir.join(format!("{offset:020}.{SNAPSHOT_EXT}"))
}

/// Offsets of the snapshot files in `dir`, ascending.
pub(crate) fn list_snapshots(dir: &Path) -> io::Result<Vec<i64>> {
    let mut out = Vec::new();
    for entry in fs::read_dir(dir)? {
        let name = entry?.file_name();
        let Some(name) = name.to_str() else { continue };
        if let Some(stem) = name.strip_suffix(".snapshot")
            && let Ok(offset) = stem.parse::<i64>()
        {
            out.push(offset);
        }
    }
    out.sort_unstable();
    Ok(out)
}

/// Deletes all snapshots but the newest `keep`.
pub(crate) fn prune_snapshots(dir: &Path, keep: usize) -> io::Result<()> {
    let snaps = list_snapshots(dir)?;
    let drop_count = snaps.len().saturating_sub(keep);
    for offset in &snaps[..drop_count] {
        let _ = fs::remove_file(snapshot_path(dir, *offset));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(pid: i64, epoch: i16, seq: i32, count: i32) -> BatchHeader {
        BatchHeader {
            base_offset: 0,
            total_len: 100,
            magic: 2,
            attributes: 0,
            last_offset_delta: count - 1,
            base_timestamp: 0,
            max_timestamp: 0,
            producer_id: pid,
            producer_epoch: epoch,
            base_sequence: seq,
            record_count: count,
        }
    }

    fn append(state: &mut ProducerState, h: BatchHeader, base: i64) -> Result<SeqCheck, LogError> {
        let offsets = [(base, base + i64::from(h.last_offset_delta))];
        let res = state.check(&[h], &offsets)?;
        if let SeqCheck::Append(staged) = res {
            state.commit(staged);
            return Ok(SeqCheck::Append(Vec::new()));
        }
        Ok(res)
    }

    #[test]
    fn sequence_rules() {
        let mut s = ProducerState::default();
        assert!(matches!(
            append(&mut s, header(1, 0, 3, 1), 0),
            Err(LogError::OutOfOrderSequence { expected: 0, got: 3, .. })
        ));
        append(&mut s, header(1, 0, 0, 2), 0).unwrap();
        append(&mut s, header(1, 0, 2, 2), 2).unwrap();
        assert!(matches!(append(&mut s, header(1, 0, 0, 2), 9), Ok(SeqCheck::Duplicate(0, 1))));
        assert!(matches!(
            append(&mut s, header(1, 0, 5, 1), 4),
            Err(LogError::OutOfOrderSequence { expected: 4, got: 5, .. })
        ));
        assert!(matches!(
            append(&mut s, header(1, -1, 4, 1), 4),
            Err(LogError::InvalidProducerEpoch { current: 0, got: -1, .. })
        ));
        assert!(matches!(
            append(&mut s, header(1, 1, 4, 1), 4),
            Err(LogError::OutOfOrderSequence { expected: 0, .. })
        ));
        append(&mut s, header(1, 1, 0, 1), 4).unwrap();
        assert_eq!(s.get(1).unwrap().epoch, 1);
        assert_eq!(s.get(1).unwrap().batches.len(), 1);
    }

    #[test]
    fn only_five_batches_are_remembered() {
        let mut s = ProducerState::default();
        for i in 0..7 {
            append(&mut s, header(7, 0, i, 1), i64::from(i)).unwrap();
        }
        assert_eq!(s.get(7).unwrap().batches.len(), CACHED_BATCHES);
        assert!(matches!(append(&mut s, header(7, 0, 2, 1), 100), Ok(SeqCheck::Duplicate(2, 2))));
        // Too old to be recognized: treated as out of order.
        assert!(append(&mut s, header(7, 0, 1, 1), 100).is_err());
    }

    #[test]
    fn sequence_wraps_at_i32_max() {
        let mut s = ProducerState::default();
        let meta = BatchMeta {
            first_seq: i32::MAX - 1,
            last_seq: i32::MAX,
            base_offset: 0,
            last_offset: 1,
        };
        s.producers.insert(
            3,
            ProducerEntry {
                epoch: 0,
                batches: VecDeque::from([meta]),
            },
        );
        assert!(matches!(
            append(&mut s, header(3, 0, 1, 1), 2),
            Err(LogError::OutOfOrderSequence { expected: 0, got: 1, .. })
        ));
        append(&mut s, header(3, 0, 0, 1), 2).unwrap();
    }

    #[test]
    fn several_batches_are_checked_together() {
        let mut s = ProducerState::default();
        let (a, b) = (header(1, 0, 0, 2), header(1, 0, 2, 1));
        let res = s.check(&[a, b], &[(0, 1), (2, 2)]).unwrap();
        let SeqCheck::Append(staged) = res else { panic!("expected append") };
        s.commit(staged);
        assert_eq!(s.get(1).unwrap().batches.len(), 2);
        // Second batch has a gap: nothing is staged.
        let (c, d) = (header(1, 0, 3, 1), header(1, 0, 9, 1));
        assert!(s.check(&[c, d], &[(3, 3), (4, 4)]).is_err());
        assert_eq!(s.get(1).unwrap().batches.len(), 2);
    }

    #[test]
    fn snapshot_roundtrip() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = ProducerState::default();
        let mut h = header(11, 2, 0, 3);
        h.base_offset = 40;
        s.replay(&h);
        s.write_snapshot(dir.path(), 43, true).unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), vec![43]);
        let loaded = ProducerState::load_snapshot(&snapshot_path(dir.path(), 43), 43).unwrap();
        assert_eq!(loaded.get(11), s.get(11));
        fs::write(snapshot_path(dir.path(), 50), b"{not json").unwrap();
        assert!(ProducerState::load_snapshot(&snapshot_path(dir.path(), 50), 50).is_none());
        prune_snapshots(dir.path(), 1).unwrap();
        assert_eq!(list_snapshots(dir.path()).unwrap(), vec![50]);
    }
}
