//! One client connection.
//!
//! Requests are read and *dispatched* strictly in order (so two produce requests on one
//! connection append in order), but a dispatched request may finish later (waiting for an fsync
//! or a long-poll fetch). Finished replies are written in request order by a writer task, so a
//! pipelining producer gets group commit across its in-flight requests.
//!
//! Frames are read under the limits of [`crate::frame`]. Responses waiting to be written are
//! bounded too: at most [`MAX_IN_FLIGHT`] requests and [`MAX_PENDING_RESPONSE_BYTES`] of ready
//! responses per connection, after which reading stops until the client reads; a client that
//! does not take a whole response within `connections.max.idle.ms` is disconnected.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use bytes::Bytes;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_util::sync::CancellationToken;

use crate::admission::Slot;
use crate::broker::Broker;
use crate::frame::{FrameLimits, RequestBudget, read_frame};
use crate::handlers::{self, ConnInfo, Reply};

/// Source of connection ids (share sessions are bound to the connection that opened them).
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Requests dispatched but not yet answered, per connection (Kafka clients pipeline at most 5
/// by default; the bound applies back-pressure to misbehaving ones).
const MAX_IN_FLIGHT: usize = 64;

/// Bytes of responses ready but not yet written, per connection, before reading stops. (Deferred
/// replies such as Fetch are only built when the writer gets to them, one at a time.)
pub const MAX_PENDING_RESPONSE_BYTES: usize = 16 * 1024 * 1024;

/// What every connection reads and writes under.
#[derive(Debug, Clone)]
pub struct NetLimits {
    /// Frame size and time limits.
    pub frames: FrameLimits,
    /// `queued.max.request.bytes`, shared by all connections.
    pub budget: RequestBudget,
}

/// Serves one connection until the peer closes it, it breaks the protocol, or shutdown.
pub async fn serve(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>, limits: NetLimits, _slot: Slot, shutdown: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let (mut read_half, mut write_half) = stream.into_split();
    let (tx, mut rx) = mpsc::channel::<(Reply, Option<OwnedSemaphorePermit>)>(MAX_IN_FLIGHT);
    let in_flight = Arc::new(AtomicUsize::new(0));
    let pending_bytes = Arc::new(Semaphore::new(MAX_PENDING_RESPONSE_BYTES));
    let write_timeout = limits.frames.idle_timeout;
    let conn = Arc::new(ConnInfo {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        peer,
    });

    let writer_in_flight = in_flight.clone();
    let writer = tokio::spawn(async move {
        while let Some((reply, _pending)) = rx.recv().await {
            let chunks = match reply {
                Reply::Now(bytes) => Some(vec![bytes]),
                Reply::Later(fut) => fut.await.map(|b| vec![b]),
                Reply::LaterChunks(fut) => fut.await,
                Reply::Nothing => None,
                Reply::Close(_) => break,
            };
            if let Some(chunks) = chunks {
                match tokio::time::timeout(write_timeout, write_chunks(&mut write_half, chunks)).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => break,
                    Err(_) => {
                        tracing::warn!(%peer, "closing connection: a response was not taken within connections.max.idle.ms");
                        break;
                    }
                }
            }
            writer_in_flight.fetch_sub(1, Ordering::Relaxed);
        }
        let _ = write_half.shutdown().await;
    });

    loop {
        let busy = || in_flight.load(Ordering::Relaxed) > 0;
        let frame = tokio::select! {
            frame = read_frame(&mut read_half, &limits.frames, &limits.budget, busy) => frame,
            _ = shutdown.cancelled() => break,
        };
        let frame = match frame {
            Ok(None) => {
                // The peer is gone: release its share records now rather than after its pending
                // replies (a long-polling ShareFetch) finish.
                broker.shares.connection_closed(conn.id);
                break;
            }
            Ok(Some(frame)) => frame,
            Err(e) => {
                tracing::warn!(%peer, reason = %e, "closing connection: unreadable request frame");
                break;
            }
        };
        let reply = handlers::dispatch(&broker, &conn, frame.bytes.clone()).await;
        // The frame's share of queued.max.request.bytes goes back once it is dispatched.
        drop(frame);
        if let Reply::Close(reason) = &reply {
            // Kafka closes the connection on a request it cannot parse; logged once, as the
            // connection ends here.
            tracing::warn!(%peer, %reason, "closing connection: malformed request");
            let _ = tx.send((reply, None)).await;
            break;
        }
        let pending = match &reply {
            Reply::Now(bytes) => {
                let want = bytes.len().clamp(1, MAX_PENDING_RESPONSE_BYTES) as u32;
                let take = pending_bytes.clone().acquire_many_owned(want);
                tokio::select! {
                    p = take => p.ok(),
                    _ = shutdown.cancelled() => break,
                }
            }
            _ => None,
        };
        in_flight.fetch_add(1, Ordering::Relaxed);
        if tx.send((reply, pending)).await.is_err() {
            break;
        }
    }
    // Let the writer finish every reply already dispatched (graceful shutdown included).
    drop(tx);
    let _ = writer.await;
    // Share sessions die with their connection, releasing the records they hold (again: a
    // fetch that was pending when the peer left may have acquired some since).
    broker.shares.connection_closed(conn.id);
    tracing::debug!(%peer, "connection closed");
}

/// Writes `chunks` back to back with vectored writes (record bytes are not copied).
async fn write_chunks<W: tokio::io::AsyncWrite + Unpin>(w: &mut W, mut chunks: Vec<Bytes>) -> std::io::Result<()> {
    chunks.retain(|c| !c.is_empty());
    if let [one] = chunks.as_slice() {
        return w.write_all(one).await;
    }
    let mut first = 0;
    while first < chunks.len() {
        let slices: Vec<std::io::IoSlice<'_>> = chunks[first..].iter().take(64).map(|c| std::io::IoSlice::new(c)).collect();
        let mut written = w.write_vectored(&slices).await?;
        if written == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while first < chunks.len() && written >= chunks[first].len() {
            written -= chunks[first].len();
            first += 1;
        }
        if written > 0 {
            let rest = chunks[first].split_off(written);
            chunks[first] = rest;
        }
    }
    Ok(())
}
