//! The health of one log directory, shared by every log in it.
//!
//! Kafka takes a whole log directory offline when one I/O operation in it fails
//! (`LogDirFailureChannel`): the disk is suspect, so no partition in it may acknowledge writes.
//! Here a failed fsync (or a write that could not be undone) in any log that joined the
//! directory takes it offline: every log in it then refuses appends and flushes with
//! [`LogError::LogDirOffline`](crate::LogError::LogDirOffline) until the broker restarts.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;

/// One log directory's health.
#[derive(Debug)]
pub struct LogDirHealth {
    path: PathBuf,
    offline: AtomicBool,
    reason: Mutex<Option<String>>,
}

impl LogDirHealth {
    /// A healthy directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        Self {
            path: path.into(),
            offline: AtomicBool::new(false),
            reason: Mutex::new(None),
        }
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Whether a failure took the directory offline.
    pub fn is_offline(&self) -> bool {
        self.offline.load(Ordering::SeqCst)
    }

    /// What took it offline (the first failure), if it is.
    pub fn offline_reason(&self) -> Option<String> {
        self.reason.lock().clone()
    }

    /// Takes the directory offline because of `reason` in the log at `log`; logged once, by
    /// the first failure.
    pub(crate) fn take_offline(&self, log: &Path, reason: &str) {
        let mut r = self.reason.lock();
        if self.offline.swap(true, Ordering::SeqCst) {
            return;
        }
        *r = Some(format!("{reason} (in {})", log.display()));
        tracing::error!(
            log_dir = %self.path.display(),
            log = %log.display(),
            reason,
            "log directory offline: every partition in it refuses produce with KAFKA_STORAGE_ERROR until restart"
        );
    }
}
