//! The open-file limit (`RLIMIT_NOFILE`): raised to the hard limit at start-up, and the budget
//! that refuses new partitions before they would take the descriptors connections and the
//! broker's own work need ("Too many open files" would otherwise fail a creation half-way, or
//! later an accept, a segment roll or a share-state write).

use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

/// Descriptors a new partition holds: its active segment's `.log`, `.index` and `.timeindex`.
/// (Every later segment holds three more; the budget counts what is really open, so rolled
/// segments are included.)
pub const FDS_PER_PARTITION: u64 = 3;

/// Descriptors kept for the broker's own work besides connections: listener, epoll, the share
/// coordinator's log rolls, metadata and snapshot writes, recovery's reads.
pub const INTERNAL_RESERVE: u64 = 64;

/// Raises the soft `RLIMIT_NOFILE` to the hard limit and logs the outcome. Returns the soft limit
/// in force afterwards (`None` when it is unlimited or cannot be read).
pub fn raise_to_hard_limit() -> Option<u64> {
    let limit = getrlimit(Resource::Nofile);
    let (soft, hard) = (limit.current, limit.maximum);
    if soft == hard {
        tracing::info!(soft = ?soft, hard = ?hard, "open-file limit (RLIMIT_NOFILE) already at the hard limit");
        return soft;
    }
    match setrlimit(
        Resource::Nofile,
        Rlimit {
            current: hard,
            maximum: hard,
        },
    ) {
        Ok(()) => {
            tracing::info!(from = ?soft, to = ?hard, "raised the open-file limit (RLIMIT_NOFILE) to the hard limit");
            hard
        }
        Err(e) => {
            tracing::warn!(soft = ?soft, hard = ?hard, error = %e, "cannot raise the open-file limit (RLIMIT_NOFILE)");
            soft
        }
    }
}

/// How many more partitions the open-file limit leaves room for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdBudget {
    /// The soft `RLIMIT_NOFILE`.
    pub soft_limit: u64,
    /// Descriptors kept free for connections and internal work.
    pub reserve: u64,
}

/// What the budget found at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FdRoom {
    /// Descriptors open now.
    pub in_use: u64,
    /// Partitions that can still be created.
    pub partitions: u64,
}

impl FdBudget {
    /// The budget under the process's current soft limit, keeping room for `max_connections`
    /// connections (at most a quarter of the limit: `max.connections` defaults to unbounded) plus
    /// [`INTERNAL_RESERVE`]. `None` when the limit is unlimited or unknown.
    pub fn for_process(max_connections: u32) -> Option<Self> {
        let soft = getrlimit(Resource::Nofile).current?;
        Some(Self::new(soft, max_connections))
    }

    /// The budget under a soft limit of `soft_limit` descriptors.
    pub fn new(soft_limit: u64, max_connections: u32) -> Self {
        let connections = u64::from(max_connections).min(soft_limit / 4);
        Self {
            soft_limit,
            reserve: connections + INTERNAL_RESERVE,
        }
    }

    /// Room left with `in_use` descriptors open.
    pub fn room_with(&self, in_use: u64) -> FdRoom {
        FdRoom {
            in_use,
            partitions: self.soft_limit.saturating_sub(in_use + self.reserve) / FDS_PER_PARTITION,
        }
    }

    /// Room left now, counting the descriptors this process has open (`/proc/self/fd`); `None`
    /// where that cannot be counted.
    pub fn room(&self) -> Option<FdRoom> {
        open_fds().map(|n| self.room_with(n))
    }
}

/// Descriptors this process has open (the directory listing's own descriptor included).
pub fn open_fds() -> Option<u64> {
    std::fs::read_dir("/proc/self/fd").ok().map(|d| d.count() as u64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reserve_is_bounded_by_a_quarter_of_the_limit() {
        assert_eq!(FdBudget::new(1024, u32::MAX).reserve, 256 + INTERNAL_RESERVE);
        assert_eq!(FdBudget::new(1024, 100).reserve, 100 + INTERNAL_RESERVE);
        let b = FdBudget::new(1024, 100);
        assert_eq!(b.room_with(100).partitions, (1024 - 100 - 164) / 3);
        assert_eq!(b.room_with(5000).partitions, 0);
    }
}
