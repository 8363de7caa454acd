//! Producer id allocation for InitProducerId.
//!
//! Ids must never repeat across restarts (the log keeps sequence state per id), so ids are
//! handed out from blocks whose end is persisted before any id of the block is used.

use std::path::{Path, PathBuf};

use parking_lot::Mutex;
use serde::{Deserialize, Serialize};

use crate::durable_file;

const BLOCK_SIZE: i64 = 1000;

#[derive(Debug, Serialize, Deserialize)]
struct Persisted {
    /// Every id below this may have been handed out.
    reserved_until: i64,
}

#[derive(Debug)]
struct Next {
    next: i64,
    reserved_until: i64,
}

/// Hands out unique producer ids.
#[derive(Debug)]
pub struct ProducerIdAllocator {
    path: PathBuf,
    state: Mutex<Next>,
}

impl ProducerIdAllocator {
    /// Loads the allocator state from `<data_dir>/producer-ids.json`.
    pub fn open(data_dir: &Path) -> std::io::Result<Self> {
        let path = data_dir.join("producer-ids.json");
        let reserved_until = match std::fs::read(&path) {
            Ok(bytes) => {
                serde_json::from_slice::<Persisted>(&bytes)
                    .map_err(|e| std::io::Error::new(std::io::ErrorKind::InvalidData, e.to_string()))?
                    .reserved_until
            }
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 0,
            Err(e) => return Err(e),
        };
        Ok(Self {
            path,
            state: Mutex::new(Next {
                next: reserved_until,
                reserved_until,
            }),
        })
    }

    /// A producer id never handed out before.
    pub fn allocate(&self) -> std::io::Result<i64> {
        let mut s = self.state.lock();
        if s.next >= s.reserved_until {
            let until = s.next + BLOCK_SIZE;
            let json = serde_json::to_vec(&Persisted { reserved_until: until }).map_err(|e| std::io::Error::other(e.to_string()))?;
            durable_file::write_atomic(&self.path, &json)?;
            s.reserved_until = until;
        }
        let id = s.next;
        s.next += 1;
        Ok(id)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_unique_across_reopen() {
        let dir = tempfile::tempdir().expect("tempdir");
        let a = ProducerIdAllocator::open(dir.path()).expect("open");
        let first: Vec<i64> = (0..3).map(|_| a.allocate().expect("id")).collect();
        drop(a);
        let b = ProducerIdAllocator::open(dir.path()).expect("reopen");
        let next = b.allocate().expect("id");
        assert!(first.iter().all(|&id| id < next), "{first:?} then {next}");
    }
}
