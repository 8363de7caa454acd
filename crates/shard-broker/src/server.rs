//! Accepting connections, background maintenance, and graceful shutdown.

use std::sync::Arc;
use std::time::Duration;

use shard_log::PartitionLog;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::admission::Admission;
use crate::broker::Broker;
use crate::config::{BrokerConfig, FlushPolicy};
use crate::connection::{self, NetLimits};
use crate::frame::{FrameLimits, RequestBudget};

/// How long shutdown waits for in-flight requests before closing the logs anyway.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    /// The listen address could not be bound.
    #[error("cannot listen on {addr}: {source}")]
    Bind {
        /// The address.
        addr: std::net::SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The data directory could not be opened or recovered.
    #[error("cannot open data directory: {0}")]
    Storage(#[from] crate::broker::OpenError),
}

/// A bound broker, ready to serve.
#[derive(Debug)]
pub struct Server {
    listener: TcpListener,
    broker: Arc<Broker>,
}

impl Server {
    /// Binds the listen address and opens (recovering) the data directory.
    pub async fn bind(config: Arc<BrokerConfig>) -> Result<Self, ServerError> {
        let addr = config.listen_addr();
        let listener = TcpListener::bind(addr).await.map_err(|source| ServerError::Bind { addr, source })?;
        let bound = listener.local_addr().map_err(|source| ServerError::Bind { addr, source })?;
        let broker = tokio::task::spawn_blocking(move || Broker::open(config, bound))
            .await
            .map_err(|e| ServerError::Storage(std::io::Error::other(e.to_string()).into()))??;
        Ok(Self {
            listener,
            broker: Arc::new(broker),
        })
    }

    /// The broker this server serves (for tests that reach past the wire, e.g. to inject a
    /// storage failure).
    #[doc(hidden)]
    pub fn broker(&self) -> &Arc<Broker> {
        &self.broker
    }

    /// The address actually bound (useful with port 0).
    pub fn local_addr(&self) -> std::io::Result<std::net::SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` is cancelled; then stops accepting, lets in-flight requests
    /// finish, and flushes and closes every log.
    pub async fn run(self, shutdown: CancellationToken) -> Result<(), ServerError> {
        let Server { listener, broker } = self;
        let config = broker.config.clone();
        tracing::info!(listen = %listener.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            advertised = %format!("{}:{}", broker.advertised_host, broker.advertised_port),
            cluster_id = %broker.cluster_id, topics = broker.topics.list().len(), "shard-broker started");
        let tracker = TaskTracker::new();
        tracker.spawn(retention_loop(broker.clone(), shutdown.clone()));
        tracker.spawn(share_loop(broker.clone(), shutdown.clone()));
        tracker.spawn(share_state_loop(broker.clone(), shutdown.clone()));
        if config.log_flush_mode == FlushPolicy::PageCache {
            tracker.spawn(flush_loop(broker.clone(), shutdown.clone()));
            tracker.spawn(share_state_flush_loop(broker.clone(), shutdown.clone()));
        }
        let admission = Admission::new(config.max_connections, config.max_connections_per_ip);
        let limits = net_limits(&config);
        loop {
            tokio::select! {
                accepted = listener.accept() => match accepted {
                    Ok((stream, peer)) => {
                        // Over a connection limit: dropping the stream closes it (logged by admit).
                        if let Ok(slot) = admission.admit(peer.ip()) {
                            tracker.spawn(connection::serve(stream, peer, broker.clone(), limits.clone(), slot, shutdown.clone()));
                        }
                    }
                    Err(e) => {
                        // Out of file descriptors and the like: back off instead of spinning.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                },
                _ = shutdown.cancelled() => break,
            }
        }
        drop(listener);
        // Long polls answer now with what they have (as on their timeout).
        broker.stopping.cancel();
        tracing::info!("shutting down: finishing in-flight requests");
        tracker.close();
        if tokio::time::timeout(SHUTDOWN_GRACE, tracker.wait()).await.is_err() {
            tracing::warn!("in-flight requests did not finish in time");
        }
        let closing = broker.clone();
        let _ = tokio::task::spawn_blocking(move || {
            closing.topics.close_all();
            if let Err(e) = closing.share_store.close() {
                tracing::error!(error = %e, "closing the share-group state log failed");
            }
        })
        .await;
        tracing::info!("shard-broker stopped");
        Ok(())
    }
}

/// The network limits from the broker's settings.
fn net_limits(config: &BrokerConfig) -> NetLimits {
    NetLimits {
        frames: FrameLimits {
            max_frame: config.socket_request_max_bytes as usize,
            read_timeout: Duration::from_millis(config.socket_request_read_timeout_ms),
            idle_timeout: Duration::from_millis(config.connections_max_idle_ms),
        },
        budget: RequestBudget::new(config.queued_max_request_bytes),
    }
}

/// Every `every`, until shutdown, runs `pass` on each partition log in a blocking thread.
async fn every_partition<F>(broker: Arc<Broker>, every: Duration, shutdown: CancellationToken, pass: F)
where
    F: Fn(&str, usize, &PartitionLog) + Send + Sync + 'static,
{
    let pass = Arc::new(pass);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let (b, pass) = (broker.clone(), pass.clone());
        let _ = tokio::task::spawn_blocking(move || {
            for topic in b.topics.list() {
                for (p, log) in topic.partitions().iter().enumerate() {
                    pass(&topic.name, p, log);
                }
            }
        })
        .await;
    }
}

/// How often acquisition locks and member session timeouts are checked. Locks expire at most
/// this late.
const SHARE_TICK: Duration = Duration::from_millis(50);

async fn share_loop(broker: Arc<Broker>, shutdown: CancellationToken) {
    let mut tick = tokio::time::interval(SHARE_TICK);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = shutdown.cancelled() => return,
        }
        broker.shares.tick(&broker.group_configs, &broker.topics, crate::clock::now_ms());
    }
}

async fn retention_loop(broker: Arc<Broker>, shutdown: CancellationToken) {
    let every = Duration::from_millis(broker.config.log_retention_check_interval_ms);
    every_partition(broker, every, shutdown, |topic, partition, log| {
        match log.apply_retention(crate::clock::now_ms()) {
            Ok(0) => {}
            Ok(n) => tracing::info!(topic, partition, segments = n, "retention deleted segments"),
            Err(e) => tracing::warn!(topic, partition, error = %e, "retention failed"),
        }
    })
    .await;
}

async fn flush_loop(broker: Arc<Broker>, shutdown: CancellationToken) {
    let every = Duration::from_millis(broker.config.log_flush_interval_ms);
    every_partition(broker, every, shutdown, |topic, partition, log| {
        if let Err(e) = log.flush() {
            tracing::error!(topic, partition, error = %e, "background flush failed");
        }
    })
    .await;
}

/// Every `share.coordinator.state.topic.prune.interval.ms`: snapshots cold share-partitions,
/// then deletes the `__share_group_state` segments nothing needs any more.
async fn share_state_loop(broker: Arc<Broker>, shutdown: CancellationToken) {
    let every = Duration::from_millis(
        u64::try_from(broker.config.share_coordinator_state_topic_prune_interval_ms)
            .unwrap_or(1)
            .max(1),
    );
    let cold_ms = i64::from(broker.config.share_coordinator_cold_partition_snapshot_interval_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let store = broker.share_store.clone();
        let _ = tokio::task::spawn_blocking(move || {
            match store.snapshot_cold(crate::clock::now_ms(), cold_ms) {
                Ok(0) => {}
                Ok(n) => tracing::debug!(records = n, "snapshotted cold share-partitions"),
                Err(e) => {
                    tracing::error!(error = %e, "snapshotting cold share-partitions failed");
                    return;
                }
            }
            match store.prune() {
                Ok(p) if p.segments_deleted > 0 => tracing::info!(
                    segments = p.segments_deleted,
                    log_start_offset = p.log_start_offset,
                    "pruned __share_group_state"
                ),
                Ok(_) => {}
                Err(e) => tracing::error!(error = %e, "pruning __share_group_state failed"),
            }
        })
        .await;
    }
}

/// In page-cache mode, fsyncs the share-group state log as often as the topic logs.
async fn share_state_flush_loop(broker: Arc<Broker>, shutdown: CancellationToken) {
    let every = Duration::from_millis(broker.config.log_flush_interval_ms);
    loop {
        tokio::select! {
            _ = tokio::time::sleep(every) => {}
            _ = shutdown.cancelled() => return,
        }
        let store = broker.share_store.clone();
        if let Ok(Err(e)) = tokio::task::spawn_blocking(move || store.flush()).await {
            tracing::error!(error = %e, "background flush of __share_group_state failed");
        }
    }
}
