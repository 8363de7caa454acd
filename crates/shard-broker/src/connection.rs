//! One client connection.
//!
//! Requests are read and *dispatched* strictly in order (so two produce requests on one
//! connection append in order), but a dispatched request may finish later (waiting for an fsync
//! or a long-poll fetch). Finished replies are written in request order by a writer task, so a
//! pipelining producer gets group commit across its in-flight requests.

use std::net::SocketAddr;
use std::sync::Arc;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use tokio_util::codec::{FramedRead, LengthDelimitedCodec};
use tokio_util::sync::CancellationToken;

use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;

use crate::broker::Broker;
use crate::handlers::{self, ConnInfo, Reply};

/// Source of connection ids (share sessions are bound to the connection that opened them).
static NEXT_CONNECTION_ID: AtomicU64 = AtomicU64::new(1);

/// Requests dispatched but not yet answered, per connection (Kafka clients pipeline at most 5
/// by default; the bound applies back-pressure to misbehaving ones).
const MAX_IN_FLIGHT: usize = 64;

/// Serves one connection until the peer closes it, it breaks the protocol, or shutdown.
pub async fn serve(stream: TcpStream, peer: SocketAddr, broker: Arc<Broker>, shutdown: CancellationToken) {
    let _ = stream.set_nodelay(true);
    let (read_half, mut write_half) = stream.into_split();
    let codec = LengthDelimitedCodec::builder()
        .length_field_length(4)
        .max_frame_length(broker.config.socket_request_max_bytes as usize)
        .new_codec();
    let mut frames = FramedRead::new(read_half, codec);
    let (tx, mut rx) = mpsc::channel::<Reply>(MAX_IN_FLIGHT);
    let conn = Arc::new(ConnInfo {
        id: NEXT_CONNECTION_ID.fetch_add(1, Ordering::Relaxed),
        peer,
    });

    let writer = tokio::spawn(async move {
        while let Some(reply) = rx.recv().await {
            let chunks = match reply {
                Reply::Now(bytes) => Some(vec![bytes]),
                Reply::Later(fut) => fut.await.map(|b| vec![b]),
                Reply::LaterChunks(fut) => fut.await,
                Reply::Nothing => None,
                Reply::Close(_) => break,
            };
            if let Some(chunks) = chunks
                && write_chunks(&mut write_half, chunks).await.is_err()
            {
                break;
            }
        }
        let _ = write_half.shutdown().await;
    });

    loop {
        let frame = tokio::select! {
            frame = frames.next() => frame,
            _ = shutdown.cancelled() => break,
        };
        let frame = match frame {
            None => {
                // The peer is gone: release its share records now rather than after its pending
                // replies (a long-polling ShareFetch) finish.
                broker.shares.connection_closed(conn.id);
                break;
            }
            Some(Ok(frame)) => frame.freeze(),
            Some(Err(e)) => {
                tracing::warn!(%peer, reason = %e, "closing connection: unreadable request frame");
                break;
            }
        };
        let reply = handlers::dispatch(&broker, &conn, frame).await;
        if let Reply::Close(reason) = &reply {
            tracing::warn!(%peer, %reason, "closing connection: malformed request");
            let _ = tx.send(reply).await;
            break;
        }
        if tx.send(reply).await.is_err() {
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
