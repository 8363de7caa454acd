//! At most one log line a second for events any client can cause at will (refused connections,
//! refused partitions, appends failing on a full disk): a flood of them must not flood the log.

use std::time::{Duration, Instant};

use parking_lot::Mutex;

/// Lets one event a second be logged and counts the ones in between.
#[derive(Debug, Default)]
pub struct LogThrottle {
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogThrottle {
    /// A throttle that lets the first event through.
    pub const fn new() -> Self {
        Self {
            state: Mutex::new((None, 0)),
        }
    }

    /// `Some(n)` when this event may be logged, `n` being how many were not logged since the last
    /// one that was; `None` (and counted) otherwise.
    pub fn allow(&self) -> Option<u64> {
        let mut state = self.state.lock();
        if state.0.is_some_and(|t| t.elapsed() < Duration::from_secs(1)) {
            state.1 += 1;
            return None;
        }
        let unlogged = std::mem::take(&mut state.1);
        state.0 = Some(Instant::now());
        Some(unlogged)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_line_a_second_with_the_count_in_between() {
        let t = LogThrottle::new();
        assert_eq!(t.allow(), Some(0));
        assert_eq!(t.allow(), None);
        assert_eq!(t.allow(), None);
        // A second later the next event is logged with the two that were not.
        t.state.lock().0 = Some(Instant::now() - Duration::from_secs(2));
        assert_eq!(t.allow(), Some(2));
        assert_eq!(t.allow(), None);
    }
}
