//! Group commit and poisoning.
//!
//! One caller at a time runs an fsync round (the leader); callers arriving meanwhile wait on a
//! condition variable and, when the round ends, either find their offsets covered or one of
//! them leads the next round, which covers everything written by then. A failed fsync poisons
//! the log for good: after a failed fsync the kernel may have dropped the dirty pages and
//! marked them clean, so retrying could "succeed" without the data (the fsyncgate lesson).

use std::io;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};

use parking_lot::{Condvar, Mutex};

use crate::LogError;
use crate::log_dir::LogDirHealth;

#[derive(Debug)]
struct SyncState {
    /// Every offset below this is durable.
    durable_end: i64,
    /// A leader is running an fsync round.
    in_progress: bool,
}

/// Group-commit coordinator of one partition.
#[derive(Debug)]
pub(crate) struct Durability {
    state: Mutex<SyncState>,
    done: Condvar,
    poisoned: AtomicBool,
    rounds: AtomicU64,
    fail_next: AtomicBool,
    /// The directory this log is in (with the log's own path), taken offline by its failures.
    log_dir: OnceLock<(Arc<LogDirHealth>, PathBuf)>,
}

/// Resets `in_progress` and wakes waiters even if the leader's closure panics.
struct RoundGuard<'a> {
    d: &'a Durability,
    covered: Option<i64>,
}

impl Drop for RoundGuard<'_> {
    fn drop(&mut self) {
        let mut st = self.d.state.lock();
        st.in_progress = false;
        match self.covered {
            Some(end) => st.durable_end = st.durable_end.max(end),
            None => self.d.poisoned.store(true, Ordering::SeqCst),
        }
        drop(st);
        self.d.done.notify_all();
    }
}

impl Durability {
    /// A coordinator for a log whose offsets below `durable_end` are already durable.
    pub(crate) fn new(durable_end: i64) -> Self {
        Self {
            state: Mutex::new(SyncState {
                durable_end,
                in_progress: false,
            }),
            done: Condvar::new(),
            poisoned: AtomicBool::new(false),
            rounds: AtomicU64::new(0),
            fail_next: AtomicBool::new(false),
            log_dir: OnceLock::new(),
        }
    }

    /// Whether an fsync has failed.
    pub(crate) fn is_poisoned(&self) -> bool {
        self.poisoned.load(Ordering::SeqCst)
    }

    /// Joins a log directory: this log's failures take it offline, and its being offline stops
    /// this log's writes. A log joins at most one directory (later calls are ignored).
    pub(crate) fn join_log_dir(&self, dir: Arc<LogDirHealth>, log: PathBuf) {
        let _ = self.log_dir.set((dir, log));
    }

    /// Fails if this log is poisoned or its directory is offline.
    pub(crate) fn check(&self) -> Result<(), LogError> {
        if self.is_poisoned() {
            return Err(LogError::Poisoned);
        }
        match self.log_dir.get() {
            Some((dir, _)) if dir.is_offline() => Err(LogError::LogDirOffline(dir.path().display().to_string())),
            _ => Ok(()),
        }
    }

    fn take_dir_offline(&self, reason: &str) {
        if let Some((dir, log)) = self.log_dir.get() {
            dir.take_offline(log, reason);
        }
    }

    /// Poisons the log without an fsync (a write failed in a way that cannot be undone).
    pub(crate) fn poison(&self) {
        self.take_dir_offline("a failed write could not be undone");
        self.poisoned.store(true, Ordering::SeqCst);
        let _st = self.state.lock();
        self.done.notify_all();
    }

    /// Offsets below this are durable.
    pub(crate) fn durable_end(&self) -> i64 {
        self.state.lock().durable_end
    }

    /// Number of fsync rounds run so far.
    pub(crate) fn rounds(&self) -> u64 {
        self.rounds.load(Ordering::Relaxed)
    }

    /// Makes the next fsync round fail (failure injection for tests).
    pub(crate) fn fail_next_sync(&self) {
        self.fail_next.store(true, Ordering::SeqCst);
    }

    /// Blocks until offsets below `end` are durable. When this caller has to lead a round it
    /// calls `sync`, which must fsync everything written so far and return the log end it
    /// covered (publishing any derived state, like the high watermark, before returning).
    pub(crate) fn flush_to(&self, end: i64, mut sync: impl FnMut() -> io::Result<i64>) -> Result<(), LogError> {
        let mut st = self.state.lock();
        loop {
            self.check()?;
            if st.durable_end >= end {
                return Ok(());
            }
            if st.in_progress {
                self.done.wait(&mut st);
                continue;
            }
            st.in_progress = true;
            drop(st);
            let mut guard = RoundGuard { d: self, covered: None };
            self.rounds.fetch_add(1, Ordering::Relaxed);
            let result = if self.fail_next.swap(false, Ordering::SeqCst) {
                Err(io::Error::other("injected fsync failure"))
            } else {
                sync()
            };
            match result {
                Ok(covered) => guard.covered = Some(covered),
                Err(e) => {
                    self.take_dir_offline(&format!("fsync failed: {e}"));
                    drop(guard);
                    tracing::error!(error = %e, "fsync failed; partition log poisoned");
                    return Err(LogError::Io(e));
                }
            }
            drop(guard);
            // Re-check: `end` is normally covered now (callers clamp it to the log end).
            st = self.state.lock();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
    use std::sync::atomic::AtomicI64;

    #[test]
    fn covered_callers_do_not_sync() {
        let d = Durability::new(10);
        d.flush_to(10, || panic!("no fsync needed")).unwrap();
        d.flush_to(15, || Ok(20)).unwrap();
        d.flush_to(20, || panic!("already covered")).unwrap();
        assert_eq!(d.rounds(), 1);
        assert_eq!(d.durable_end(), 20);
    }

    #[test]
    fn failure_poisons() {
        let d = Durability::new(0);
        d.fail_next_sync();
        assert!(matches!(d.flush_to(1, || Ok(1)), Err(LogError::Io(_))));
        assert!(matches!(d.flush_to(1, || Ok(1)), Err(LogError::Poisoned)));
        assert!(d.is_poisoned());
    }

    #[test]
    fn a_failure_takes_the_shared_log_dir_offline_once() {
        let dir = Arc::new(LogDirHealth::new("/data"));
        let (a, b, alone) = (Durability::new(0), Durability::new(0), Durability::new(0));
        a.join_log_dir(dir.clone(), "/data/a-0".into());
        b.join_log_dir(dir.clone(), "/data/b-0".into());
        a.fail_next_sync();
        assert!(matches!(a.flush_to(1, || Ok(1)), Err(LogError::Io(_))));
        assert!(dir.is_offline());
        let reason = dir.offline_reason().expect("reason");
        assert!(
            reason.contains("injected fsync failure") && reason.contains("/data/a-0"),
            "{reason}"
        );
        // The healthy log in the same directory refuses too; one outside it does not.
        assert!(matches!(b.check(), Err(LogError::LogDirOffline(p)) if p == "/data"));
        assert!(matches!(b.flush_to(1, || Ok(1)), Err(LogError::LogDirOffline(_))));
        assert!(!b.is_poisoned());
        alone.flush_to(1, || Ok(1)).expect("other directory");
        // A second failure keeps the first reason.
        b.poison();
        assert_eq!(dir.offline_reason().as_deref(), Some(reason.as_str()));
    }

    #[test]
    fn concurrent_waiters_share_rounds() {
        let d = Arc::new(Durability::new(0));
        let written = Arc::new(AtomicI64::new(0));
        let threads: Vec<_> = (0..8)
            .map(|_| {
                let (d, written) = (d.clone(), written.clone());
                std::thread::spawn(move || {
                    let end = written.fetch_add(1, Ordering::SeqCst) + 1;
                    d.flush_to(end, || {
                        std::thread::sleep(std::time::Duration::from_millis(20));
                        Ok(written.load(Ordering::SeqCst))
                    })
                    .unwrap();
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert!(d.rounds() < 8, "rounds: {}", d.rounds());
    }
}
