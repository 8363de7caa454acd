//! A parallel ApiVersions probe: proves the broker keeps answering while a test loads it.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use kafka_protocol::messages::{ApiKey, ApiVersionsRequest, ApiVersionsResponse};

use super::{RawClient, TIMEOUT};

/// ApiVersions requests on their own connection, one after another, until stopped.
pub struct Probe {
    stop: Arc<AtomicBool>,
    answered: Arc<AtomicU64>,
    task: tokio::task::JoinHandle<()>,
}

impl Probe {
    pub async fn start(addr: SocketAddr) -> Probe {
        let stop = Arc::new(AtomicBool::new(false));
        let answered = Arc::new(AtomicU64::new(0));
        let mut client = RawClient::connect(addr).await;
        let task = tokio::spawn({
            let (stop, answered) = (stop.clone(), answered.clone());
            async move {
                while !stop.load(Ordering::Relaxed) {
                    // `call` fails the test unless the answer comes within TIMEOUT.
                    let v: ApiVersionsResponse = client.call(ApiKey::ApiVersions, 3, &ApiVersionsRequest::default()).await;
                    assert_eq!(v.error_code, 0);
                    answered.fetch_add(1, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                }
            }
        });
        Probe { stop, answered, task }
    }

    /// Stops the probe; it must have been answered every time, and at least once more.
    pub async fn finish(self) -> u64 {
        let before = self.answered.load(Ordering::Relaxed);
        // One more answer after the work, so a probe stuck behind it would show.
        let deadline = tokio::time::Instant::now() + TIMEOUT;
        while self.answered.load(Ordering::Relaxed) == before {
            assert!(
                tokio::time::Instant::now() < deadline,
                "the ApiVersions probe stopped being answered"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
        self.stop.store(true, Ordering::Relaxed);
        self.task.await.expect("probe task");
        self.answered.load(Ordering::Relaxed)
    }
}
