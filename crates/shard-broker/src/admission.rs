//! Connection admission: `max.connections` and `max.connections.per.ip`.
//!
//! Kafka's acceptor counts connections in total and per address and refuses one over either
//! limit; so does this. A refused connection is closed at once and logged (at most once a second,
//! with the number refused since, so a flood cannot flood the log too).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use parking_lot::Mutex;

use crate::log_throttle::LogThrottle;

/// Why a connection was refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    /// `max.connections` connections are open.
    #[error("max.connections ({0}) reached")]
    Total(u32),
    /// `max.connections.per.ip` connections are open from this address.
    #[error("max.connections.per.ip ({0}) reached for this address")]
    PerIp(u32),
}

#[derive(Debug, Default)]
struct Counts {
    total: u32,
    per_ip: HashMap<IpAddr, u32>,
}

/// Open connections, counted against the limits.
#[derive(Debug)]
pub struct Admission {
    max_total: u32,
    max_per_ip: u32,
    counts: Mutex<Counts>,
    refused: AtomicU64,
    log: LogThrottle,
}

/// One admitted connection; it stops counting when dropped.
#[derive(Debug)]
pub struct Slot {
    admission: Arc<Admission>,
    ip: IpAddr,
}

impl Admission {
    /// Limits of `max_total` connections and `max_per_ip` per address.
    pub fn new(max_total: u32, max_per_ip: u32) -> Arc<Self> {
        Arc::new(Self {
            max_total,
            max_per_ip,
            counts: Mutex::new(Counts::default()),
            refused: AtomicU64::new(0),
            log: LogThrottle::new(),
        })
    }

    /// Admits a connection from `ip`, or says which limit it is over (and logs it, rate-limited).
    pub fn admit(self: &Arc<Self>, ip: IpAddr) -> Result<Slot, Refused> {
        let outcome = {
            let mut c = self.counts.lock();
            let from_ip = c.per_ip.get(&ip).copied().unwrap_or(0);
            if c.total >= self.max_total {
                Err(Refused::Total(self.max_total))
            } else if from_ip >= self.max_per_ip {
                Err(Refused::PerIp(self.max_per_ip))
            } else {
                c.total += 1;
                c.per_ip.insert(ip, from_ip + 1);
                Ok(())
            }
        };
        match outcome {
            Ok(()) => Ok(Slot {
                admission: self.clone(),
                ip,
            }),
            Err(why) => {
                self.log_refusal(ip, why);
                Err(why)
            }
        }
    }

    /// Connections open now.
    pub fn open(&self) -> u32 {
        self.counts.lock().total
    }

    fn log_refusal(&self, ip: IpAddr, why: Refused) {
        let refused = self.refused.fetch_add(1, Ordering::Relaxed) + 1;
        if self.log.allow().is_some() {
            tracing::warn!(%ip, reason = %why, refused_so_far = refused, "connection refused");
        }
    }

    fn release(&self, ip: IpAddr) {
        let mut c = self.counts.lock();
        c.total = c.total.saturating_sub(1);
        if let Some(n) = c.per_ip.get_mut(&ip) {
            *n -= 1;
            if *n == 0 {
                c.per_ip.remove(&ip);
            }
        }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        self.admission.release(self.ip);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_total_and_per_ip_and_forgets_closed_connections() {
        let a = Admission::new(3, 2);
        let one: IpAddr = "10.0.0.1".parse().expect("ip");
        let two: IpAddr = "10.0.0.2".parse().expect("ip");
        let s1 = a.admit(one).expect("first");
        let _s2 = a.admit(one).expect("second");
        assert_eq!(a.admit(one).expect_err("third from one"), Refused::PerIp(2));
        let _s3 = a.admit(two).expect("other address");
        assert_eq!(a.admit(two).expect_err("total"), Refused::Total(3));
        drop(s1);
        assert_eq!(a.open(), 2);
        let _s4 = a.admit(one).expect("room again");
        drop(_s4);
        drop(_s2);
        drop(_s3);
        assert_eq!(a.open(), 0);
        assert!(a.counts.lock().per_ip.is_empty(), "no entry left for closed addresses");
    }
}
