//! Reading request frames without trusting their announced size.
//!
//! A frame is a 4-byte big-endian length and that many bytes. The reader never reserves the
//! announced length: it takes memory as bytes arrive, in chunks, each first taken from the
//! broker-wide [`RequestBudget`] (`queued.max.request.bytes`), and gives the budget back when the
//! [`Frame`] is dropped. A frame must arrive whole within `socket.request.read.timeout.ms` of its
//! first byte; a connection with nothing in flight that sends nothing for
//! `connections.max.idle.ms` is closed.

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use tokio::io::{AsyncRead, AsyncReadExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio::time::{Instant, timeout, timeout_at};

/// Largest piece of a frame read (and taken from the budget) at once.
const CHUNK: usize = 64 * 1024;

/// Bytes of partly received (and not yet dispatched) requests, shared by all connections.
#[derive(Debug, Clone)]
pub struct RequestBudget {
    bytes: Arc<Semaphore>,
}

impl RequestBudget {
    /// A budget of `bytes` (at most [`Semaphore::MAX_PERMITS`]).
    pub fn new(bytes: u64) -> Self {
        let bytes = usize::try_from(bytes).unwrap_or(usize::MAX).min(Semaphore::MAX_PERMITS);
        Self {
            bytes: Arc::new(Semaphore::new(bytes)),
        }
    }

    /// Bytes not taken at the moment.
    pub fn available(&self) -> usize {
        self.bytes.available_permits()
    }
}

/// The limits a connection reads frames under.
#[derive(Debug, Clone, Copy)]
pub struct FrameLimits {
    /// `socket.request.max.bytes`.
    pub max_frame: usize,
    /// `socket.request.read.timeout.ms`: from a frame's first byte to its last.
    pub read_timeout: Duration,
    /// `connections.max.idle.ms`: waiting for the first byte of a frame with nothing in flight.
    pub idle_timeout: Duration,
}

/// One request frame (without its size prefix), holding its share of the budget until dropped.
#[derive(Debug)]
pub struct Frame {
    /// The frame's bytes.
    pub bytes: Bytes,
    _budget: Option<OwnedSemaphorePermit>,
}

/// Why a connection stops reading frames. Every case closes the connection.
#[derive(Debug, thiserror::Error)]
pub enum FrameError {
    /// The announced size is negative or above `socket.request.max.bytes`.
    #[error("frame of {size} bytes is above socket.request.max.bytes ({max})")]
    TooLarge {
        /// The announced size.
        size: i64,
        /// The limit.
        max: usize,
    },
    /// The frame did not arrive whole within `socket.request.read.timeout.ms`.
    #[error("frame not complete after {timeout_ms} ms ({received} of {size} bytes received)")]
    TooSlow {
        /// The limit.
        timeout_ms: u128,
        /// Bytes received.
        received: usize,
        /// The announced size.
        size: usize,
    },
    /// Nothing arrived for `connections.max.idle.ms` with nothing in flight.
    #[error("idle for {0} ms")]
    Idle(u128),
    /// The peer closed the connection in the middle of a frame.
    #[error("connection closed after {received} of {size} bytes of a frame")]
    Truncated {
        /// Bytes received.
        received: usize,
        /// The announced size (0 when the size prefix itself was cut).
        size: usize,
    },
    /// A socket error.
    #[error("read failed: {0}")]
    Io(#[from] std::io::Error),
}

/// Reads the next frame. `Ok(None)` when the peer closed the connection between frames.
/// `busy()` says whether the connection has requests in flight (then it is not idle).
pub async fn read_frame<R: AsyncRead + Unpin>(
    r: &mut R,
    limits: &FrameLimits,
    budget: &RequestBudget,
    busy: impl Fn() -> bool,
) -> Result<Option<Frame>, FrameError> {
    let mut prefix = [0u8; 4];
    let first = loop {
        match timeout(limits.idle_timeout, r.read(&mut prefix)).await {
            Ok(Ok(0)) => return Ok(None),
            Ok(Ok(n)) => break n,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) if busy() => continue,
            Err(_) => return Err(FrameError::Idle(limits.idle_timeout.as_millis())),
        }
    };
    let deadline = Instant::now() + limits.read_timeout;
    let too_slow = |received, size| FrameError::TooSlow {
        timeout_ms: limits.read_timeout.as_millis(),
        received,
        size,
    };
    match timeout_at(deadline, r.read_exact(&mut prefix[first..])).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) if e.kind() == std::io::ErrorKind::UnexpectedEof => {
            return Err(FrameError::Truncated { received: 0, size: 0 });
        }
        Ok(Err(e)) => return Err(e.into()),
        Err(_) => return Err(too_slow(0, 0)),
    }
    let announced = i32::from_be_bytes(prefix);
    let size = usize::try_from(announced)
        .ok()
        .filter(|&s| s <= limits.max_frame)
        .ok_or(FrameError::TooLarge {
            size: i64::from(announced),
            max: limits.max_frame,
        })?;
    let mut buf = BytesMut::new();
    let mut held: Option<OwnedSemaphorePermit> = None;
    while buf.len() < size {
        let chunk = (size - buf.len()).min(CHUNK);
        let take = budget.bytes.clone().acquire_many_owned(chunk as u32);
        let mut permit = match timeout_at(deadline, take).await {
            Ok(Ok(p)) => p,
            // The semaphore is never closed; treat it as a slow frame all the same.
            Ok(Err(_)) | Err(_) => return Err(too_slow(buf.len(), size)),
        };
        buf.reserve(chunk);
        let n = match timeout_at(deadline, r.read_buf(&mut (&mut buf).limit(chunk))).await {
            Ok(Ok(0)) => {
                return Err(FrameError::Truncated { received: buf.len(), size });
            }
            Ok(Ok(n)) => n,
            Ok(Err(e)) => return Err(e.into()),
            Err(_) => return Err(too_slow(buf.len(), size)),
        };
        // Keep budget for the bytes that came; give the rest of the chunk back now.
        drop(permit.split(chunk - n));
        match held.as_mut() {
            Some(h) => h.merge(permit),
            None => held = Some(permit),
        }
    }
    Ok(Some(Frame {
        bytes: buf.freeze(),
        _budget: held,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::AsyncWriteExt;

    fn limits() -> FrameLimits {
        FrameLimits {
            max_frame: 1024 * 1024,
            read_timeout: Duration::from_millis(300),
            idle_timeout: Duration::from_millis(300),
        }
    }

    #[tokio::test]
    async fn reads_frames_and_returns_the_budget_when_dropped() {
        let (mut client, mut server) = tokio::io::duplex(1024);
        let budget = RequestBudget::new(1024 * 1024);
        let body = vec![7u8; 200_000];
        let writer = tokio::spawn(async move {
            client.write_all(&(body.len() as u32).to_be_bytes()).await?;
            client.write_all(&body).await?;
            client.write_all(&3u32.to_be_bytes()).await?;
            client.write_all(b"abc").await?;
            client.shutdown().await
        });
        let frame = read_frame(&mut server, &limits(), &budget, || false)
            .await
            .expect("read")
            .expect("frame");
        assert_eq!(frame.bytes.len(), 200_000);
        assert_eq!(budget.available(), 1024 * 1024 - 200_000);
        drop(frame);
        assert_eq!(budget.available(), 1024 * 1024);
        let frame = read_frame(&mut server, &limits(), &budget, || false)
            .await
            .expect("read")
            .expect("frame");
        assert_eq!(&frame.bytes[..], b"abc");
        assert!(read_frame(&mut server, &limits(), &budget, || false).await.expect("eof").is_none());
        writer.await.expect("join").expect("write");
    }

    #[tokio::test]
    async fn refuses_oversized_and_negative_sizes_without_reading_on() {
        for size in [2_000_000i32, -1, i32::MIN] {
            let (mut client, mut server) = tokio::io::duplex(64);
            client.write_all(&size.to_be_bytes()).await.expect("write");
            let err = read_frame(&mut server, &limits(), &RequestBudget::new(1 << 20), || false)
                .await
                .expect_err("refused");
            assert!(matches!(err, FrameError::TooLarge { .. }), "{err}");
        }
    }

    #[tokio::test]
    async fn a_trickled_frame_times_out_and_holds_only_what_arrived() {
        let (mut client, mut server) = tokio::io::duplex(64);
        let budget = RequestBudget::new(1 << 20);
        client.write_all(&100_000u32.to_be_bytes()).await.expect("write");
        let trickle = tokio::spawn(async move {
            for _ in 0..100 {
                if client.write_all(&[1u8; 10]).await.is_err() {
                    break;
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        });
        let probe = budget.clone();
        let watcher = tokio::spawn(async move {
            let mut least = usize::MAX;
            for _ in 0..10 {
                tokio::time::sleep(Duration::from_millis(25)).await;
                least = least.min(probe.available());
            }
            least
        });
        let err = read_frame(&mut server, &limits(), &budget, || false).await.expect_err("too slow");
        assert!(matches!(err, FrameError::TooSlow { size: 100_000, .. }), "{err}");
        // At most the bytes received plus one chunk in flight were ever taken.
        let least = watcher.await.expect("join");
        assert!((1 << 20) - least <= CHUNK + 1000, "budget taken: {}", (1 << 20) - least);
        assert_eq!(budget.available(), 1 << 20);
        trickle.abort();
    }

    #[tokio::test]
    async fn idle_closes_only_when_nothing_is_in_flight() {
        let (_client, mut server) = tokio::io::duplex(64);
        let budget = RequestBudget::new(1 << 20);
        let err = read_frame(&mut server, &limits(), &budget, || false).await.expect_err("idle");
        assert!(matches!(err, FrameError::Idle(_)));
        let busy_for_a_while = tokio::time::timeout(Duration::from_millis(900), read_frame(&mut server, &limits(), &budget, || true)).await;
        assert!(busy_for_a_while.is_err(), "a busy connection is not idle");
    }

    #[tokio::test]
    async fn a_frame_waits_for_budget_held_by_another() {
        let budget = RequestBudget::new(100_000);
        let (mut a_client, mut a_server) = tokio::io::duplex(1 << 20);
        let (mut b_client, mut b_server) = tokio::io::duplex(1 << 20);
        a_client.write_all(&90_000u32.to_be_bytes()).await.expect("write");
        a_client.write_all(&vec![0u8; 90_000]).await.expect("write");
        let a = read_frame(&mut a_server, &limits(), &budget, || false)
            .await
            .expect("read")
            .expect("frame");
        b_client.write_all(&50_000u32.to_be_bytes()).await.expect("write");
        b_client.write_all(&vec![0u8; 50_000]).await.expect("write");
        let b_limits = FrameLimits {
            read_timeout: Duration::from_secs(5),
            ..limits()
        };
        let b = tokio::spawn(async move {
            read_frame(&mut b_server, &b_limits, &budget, || false)
                .await
                .map(|f| f.map(|f| f.bytes.len()))
        });
        tokio::time::sleep(Duration::from_millis(100)).await;
        assert!(!b.is_finished(), "b must wait while a holds the budget");
        drop(a);
        assert_eq!(b.await.expect("join").expect("read"), Some(50_000));
    }
}
