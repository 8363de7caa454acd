//! A full disk is an error, never a SIGBUS: on a full tmpfs, sealing a segment writes its time
//! index through the mapping (a page that a sparse index file would not have), appends fail
//! with an I/O error and leave nothing behind, and appends work again once space returns.
//!
//! Needs root to mount the tmpfs (CI runs as root); elsewhere it says so and returns.

mod common;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::Command;

use common::{batch, page_cache, read_all};
use shard_log::{LogConfig, LogError, PartitionLog};

struct Tmpfs(PathBuf);

impl Drop for Tmpfs {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn mount_tmpfs(path: &Path, size: &str) -> Option<Tmpfs> {
    let root = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .map(|u| u.split_whitespace().nth(1) == Some("0"))
        })
        .unwrap_or(false);
    if !root {
        eprintln!("SKIPPED full_disk: not root, cannot mount a tmpfs (CI runs this as root)");
        return None;
    }
    let out = Command::new("mount")
        .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
        .arg(path)
        .output()
        .ok()?;
    if !out.status.success() {
        eprintln!("SKIPPED full_disk: mount failed: {}", String::from_utf8_lossy(&out.stderr));
        return None;
    }
    Some(Tmpfs(path.to_path_buf()))
}

/// Writes 4 KiB chunks to `path` until the filesystem refuses one.
fn fill(path: &Path) -> u64 {
    let mut f = std::fs::File::create(path).expect("filler");
    let chunk = [0x5au8; 4096];
    let mut written = 0;
    while f.write_all(&chunk).is_ok() {
        written += chunk.len() as u64;
    }
    written
}

#[test]
fn a_full_disk_fails_appends_without_sigbus_and_recovers() {
    let dir = tempfile::tempdir().expect("tempdir");
    let Some(_tmpfs) = mount_tmpfs(dir.path(), "2m") else {
        return;
    };
    let config = LogConfig {
        // Every append after the first rolls: sealing writes the old segment's time index.
        segment_bytes: 1,
        index_max_bytes: 64 * 1024,
        ..page_cache(1, 4096)
    };
    let log = PartitionLog::open(&dir.path().join("p-0"), config).expect("open");
    log.append(&batch("a", 2, 10), 0).expect("first append");
    let filler = dir.path().join("filler");
    let filled = fill(&filler);
    assert!(filled > 0);

    // Appends on a full disk: errors (or successes where a trim freed index blocks), no crash.
    let mut refused = 0;
    for i in 0..50 {
        match log.append(&batch(&format!("f{i}"), 1, 20 + i), 0) {
            Ok(_) => {}
            Err(LogError::Io(e)) => {
                assert_eq!(e.raw_os_error(), Some(28), "ENOSPC expected: {e}");
                refused += 1;
            }
            Err(e) => panic!("append {i}: {e}"),
        }
    }
    assert!(refused > 0, "the disk never filled");
    assert!(!log.is_poisoned(), "ENOSPC on a write must not poison the log");
    let before = read_all(&log, 0);

    // Space returns: appends continue right after what was acknowledged.
    std::fs::remove_file(&filler).expect("free");
    let info = log.append(&batch("after", 3, 99), 0).expect("append after space returned");
    assert_eq!(info.base_offset, before.len() as i64);
    let after = read_all(&log, 0);
    assert_eq!(&after[..before.len()], &before[..]);
    assert_eq!(after.len(), before.len() + 3);
    log.close().expect("close");
    let log = PartitionLog::open(&dir.path().join("p-0"), page_cache(1, 4096)).expect("reopen");
    assert_eq!(read_all(&log, 0), after);
    log.close().expect("close");
}
