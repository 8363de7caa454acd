//! Opening a log directory: cleanup of leftovers, crash recovery of segments, and the rebuild
//! of producer state from the newest usable snapshot plus the log after it.

use std::collections::BTreeSet;
use std::fs;
use std::io;
use std::path::Path;
use std::sync::Arc;

use crate::LogConfig;
use crate::LogError;
use crate::producer_state::{self, ProducerState};
use crate::segment::{BatchScanner, INDEX_EXT, LOG_EXT, ScanItem, Segment, TIME_INDEX_EXT, file_path};

/// Name of the file `close()` leaves behind after a clean shutdown.
pub(crate) const CLEAN_MARKER: &str = "clean_shutdown";

/// Everything `open` rebuilds from disk.
pub(crate) struct Recovered {
    /// Segments in offset order; the last one is active (indexes open for appends).
    pub(crate) segments: Vec<Arc<Segment>>,
    /// Producer state covering the whole log.
    pub(crate) producers: ProducerState,
    /// Age reference of the active segment, if it has data.
    pub(crate) active_created_ms: Option<i64>,
    /// The previous run ended with `close()`.
    pub(crate) clean: bool,
}

/// fsyncs a directory so file creations, renames and deletions in it are durable.
pub(crate) fn sync_dir(dir: &Path) -> io::Result<()> {
    fs::File::open(dir)?.sync_all()
}

fn remove_if_exists(path: &Path) -> io::Result<()> {
    match fs::remove_file(path) {
        Err(e) if e.kind() != io::ErrorKind::NotFound => Err(e),
        _ => Ok(()),
    }
}

/// Parses `{20 digits}.{ext}` file names.
fn parse_name(name: &str) -> Option<(i64, &str)> {
    let (stem, ext) = name.split_once('.')?;
    if stem.len() != 20 || !stem.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((stem.parse().ok()?, ext))
}

/// Opens (creating if needed) the log in `dir` and recovers it.
pub(crate) fn recover(dir: &Path, config: &LogConfig) -> Result<Recovered, LogError> {
    fs::create_dir_all(dir)?;
    let mut bases = BTreeSet::new();
    let mut index_files = Vec::new();
    let mut dir_changed = false;
    for entry in fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if name.ends_with(".deleted") || name.ends_with(".tmp") {
            tracing::info!(file = %entry.path().display(), "removing leftover file");
            remove_if_exists(&entry.path())?;
            dir_changed = true;
            continue;
        }
        match parse_name(name) {
            Some((base, LOG_EXT)) => {
                bases.insert(base);
            }
            Some((base, INDEX_EXT | TIME_INDEX_EXT)) => index_files.push((base, entry.path())),
            _ => {}
        }
    }
    let marker = dir.join(CLEAN_MARKER);
    let clean = marker.exists();
    let bases: Vec<i64> = bases.into_iter().collect();

    let mut segments: Vec<Arc<Segment>> = Vec::new();
    if bases.is_empty() {
        segments.push(Arc::new(Segment::create(dir, 0, config.index_max_bytes)?));
        dir_changed = true;
    }
    for (i, &base) in bases.iter().enumerate() {
        let is_last = i + 1 == bases.len();
        // Without a clean shutdown the active segment may have a torn tail: always scan it.
        let trusted = if is_last && !clean {
            None
        } else {
            Segment::open_trusted(dir, base)?
        };
        if let Some(seg) = trusted {
            segments.push(Arc::new(seg));
            continue;
        }
        let (seg, truncation) = Segment::open_recover(dir, base, config.index_interval_bytes, config.index_max_bytes, |_| {})?;
        if !is_last {
            tracing::info!(segment = %seg.log_path().display(), "rebuilt indexes of segment");
        }
        segments.push(Arc::new(seg));
        if let Some(t) = truncation {
            tracing::warn!(
                file = %file_path(dir, base, LOG_EXT).display(),
                position = t.position,
                bytes = t.bytes,
                reason = %t.reason,
                "truncated torn or corrupt log tail"
            );
            for &later in &bases[i + 1..] {
                let path = file_path(dir, later, LOG_EXT);
                let bytes = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                tracing::warn!(
                    file = %path.display(),
                    bytes,
                    "deleting segment after a truncated one"
                );
                for ext in [LOG_EXT, INDEX_EXT, TIME_INDEX_EXT] {
                    remove_if_exists(&file_path(dir, later, ext))?;
                }
            }
            dir_changed = true;
            break;
        }
    }

    // Sealed segments end where the next begins; the active one gets room in its indexes.
    for pair in segments.windows(2) {
        pair[0].seal()?;
        if pair[0].end_offset() < pair[1].base_offset() {
            pair[0].set_end_offset(pair[1].base_offset());
        }
    }
    let active = segments
        .last()
        .cloned()
        .ok_or_else(|| LogError::Corrupt("log has no segments".into()))?;
    active.unseal(config.index_max_bytes)?;

    // Index files without a log (e.g. a deletion interrupted by a crash).
    for (base, path) in index_files {
        if !segments.iter().any(|s| s.base_offset() == base) {
            remove_if_exists(&path)?;
            dir_changed = true;
        }
    }

    let log_start = segments[0].base_offset();
    let log_end = active.end_offset();
    let producers = rebuild_producers(dir, &segments, log_start, log_end)?;

    let active_created_ms = if active.size() > 0 {
        Some(active.header_at(0, active.size())?.max_timestamp)
    } else {
        None
    };

    if clean {
        // The marker must be gone (durably) before new appends could tear the tail again.
        fs::remove_file(&marker)?;
        dir_changed = true;
    }
    if dir_changed {
        sync_dir(dir)?;
    }
    Ok(Recovered {
        segments,
        producers,
        active_created_ms,
        clean,
    })
}

/// Loads the newest snapshot at or below `log_end` and replays the batches after it.
fn rebuild_producers(dir: &Path, segments: &[Arc<Segment>], log_start: i64, log_end: i64) -> Result<ProducerState, LogError> {
    let mut from = log_start;
    let mut state = None;
    for offset in producer_state::list_snapshots(dir)?.into_iter().rev() {
        let path = producer_state::snapshot_path(dir, offset);
        if offset > log_end {
            // Taken before a truncation: it describes data that no longer exists.
            remove_if_exists(&path)?;
            continue;
        }
        if state.is_none() {
            match ProducerState::load_snapshot(&path, offset) {
                Some(s) => {
                    state = Some(s);
                    from = from.max(offset);
                }
                None => {
                    tracing::warn!(file = %path.display(), "ignoring unreadable producer snapshot");
                    remove_if_exists(&path)?;
                }
            }
        }
    }
    let mut state = state.unwrap_or_default();
    for seg in segments {
        if seg.end_offset() <= from {
            continue;
        }
        let size = seg.size();
        let start = if from <= seg.base_offset() {
            0
        } else {
            match seg.find_batch(from, size)? {
                Some((pos, _)) => pos,
                None => continue,
            }
        };
        let mut scanner = BatchScanner::new(seg.file(), start, size);
        loop {
            match scanner.next(false)? {
                ScanItem::Batch { header, .. } => {
                    if header.base_offset >= from {
                        state.replay(&header);
                    }
                }
                ScanItem::End => break,
                ScanItem::Invalid { pos, reason } => {
                    return Err(LogError::Corrupt(format!("{} at {pos}: {reason}", seg.log_path().display())));
                }
            }
        }
    }
    Ok(state)
}
