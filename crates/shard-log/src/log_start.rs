//! The log start offset checkpoint: one small file per partition directory.
//!
//! Kafka keeps every partition's log start offset in one `log-start-offset-checkpoint` file per
//! log directory and writes it every `log.flush.start.offset.checkpoint.interval.ms`, so a
//! DeleteRecords answered just before an unclean shutdown can be lost. Shard writes this file
//! before DeleteRecords is answered (see [`crate::PartitionLog::delete_records`]), so the
//! answered start survives `kill -9`, and in fsync mode a power loss as well. Per partition,
//! because a partition's directory is its unit of creation and deletion here.
//!
//! Format (text, as Kafka's checkpoint files): a version line `0`, then the offset.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::Path;

/// File name inside the partition directory.
pub(crate) const LOG_START_CHECKPOINT: &str = "log-start-offset-checkpoint";
/// Written first, then renamed over the checkpoint (recovery removes a leftover `.tmp`).
const TMP: &str = "log-start-offset-checkpoint.tmp";
const VERSION: &str = "0";

/// Reads the checkpointed log start offset; `None` when there is no checkpoint. A malformed
/// file is an error rather than a silently lower start (records a client deleted would
/// reappear).
pub(crate) fn read(dir: &Path) -> io::Result<Option<i64>> {
    let text = match fs::read_to_string(dir.join(LOG_START_CHECKPOINT)) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut lines = text.lines();
    let bad = || {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("malformed {LOG_START_CHECKPOINT} in {}", dir.display()),
        )
    };
    if lines.next() != Some(VERSION) {
        return Err(bad());
    }
    let offset: i64 = lines.next().and_then(|l| l.trim().parse().ok()).ok_or_else(bad)?;
    if offset < 0 {
        return Err(bad());
    }
    Ok(Some(offset))
}

/// Replaces the checkpoint with `offset` atomically (temp file and rename). With `durable` the
/// file and the directory are fsynced before this returns (survives power loss); without it the
/// rename alone survives a killed process, as page-cache mode promises for appended data.
pub(crate) fn write(dir: &Path, offset: i64, durable: bool) -> io::Result<()> {
    let tmp = dir.join(TMP);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(format!("{VERSION}\n{offset}\n").as_bytes())?;
        if durable {
            f.sync_all()?;
        }
    }
    fs::rename(&tmp, dir.join(LOG_START_CHECKPOINT))?;
    if durable {
        File::open(dir)?.sync_all()?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_refuses_garbage() {
        let dir = tempfile::tempdir().expect("tempdir");
        assert_eq!(read(dir.path()).expect("read"), None);
        write(dir.path(), 42, true).expect("write");
        assert_eq!(read(dir.path()).expect("read"), Some(42));
        write(dir.path(), 43, false).expect("write");
        assert_eq!(read(dir.path()).expect("read"), Some(43));
        assert!(!dir.path().join(TMP).exists());
        for garbage in ["", "1\n5\n", "0\n", "0\nx\n", "0\n-3\n"] {
            fs::write(dir.path().join(LOG_START_CHECKPOINT), garbage).expect("write");
            assert!(read(dir.path()).is_err(), "{garbage:?}");
        }
    }
}
