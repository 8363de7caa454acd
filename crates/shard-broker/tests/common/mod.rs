//! An in-process broker on a free port and a raw Kafka client for integration tests.
#![allow(dead_code)]

pub mod child;
pub mod probe;
pub mod share;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, BufMut, Bytes, BytesMut};
use indexmap::IndexMap;
use kafka_protocol::messages::{ApiKey, RequestHeader, ResponseHeader};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};
use kafka_protocol::records::{Compression, Record, RecordBatchEncoder, RecordEncodeOptions, TimestampType};
use shard_broker::config::BrokerConfig;
use shard_broker::server::Server;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio_util::sync::CancellationToken;

/// Bound on every network wait in tests.
pub const TIMEOUT: Duration = Duration::from_secs(10);

/// A broker running inside the test process.
pub struct TestBroker {
    pub addr: SocketAddr,
    pub dir: tempfile::TempDir,
    /// The broker itself, to reach past the wire (e.g. inject a storage failure).
    pub broker: Arc<shard_broker::broker::Broker>,
    shutdown: CancellationToken,
    task: tokio::task::JoinHandle<()>,
}

impl TestBroker {
    /// Starts a broker on a free loopback port with a fresh data directory.
    pub async fn start(extra_config: &str) -> TestBroker {
        let dir = tempfile::tempdir().expect("tempdir");
        Self::start_in(dir, extra_config).await
    }

    /// Starts a broker on an existing data directory.
    pub async fn start_in(dir: tempfile::TempDir, extra_config: &str) -> TestBroker {
        // Broker logs show up in a failing test's output.
        let _ = tracing_subscriber::fmt().with_test_writer().with_env_filter("info").try_init();
        let text = format!(
            "listeners = \"127.0.0.1:0\"\nlog.dir = \"{}\"\n{extra_config}",
            dir.path().display()
        );
        let config = Arc::new(BrokerConfig::parse(&text).expect("config"));
        let server = Server::bind(config).await.expect("bind");
        let addr = server.local_addr().expect("addr");
        let broker = server.broker().clone();
        let shutdown = CancellationToken::new();
        let token = shutdown.clone();
        let task = tokio::spawn(async move {
            server.run(token).await.expect("server run");
        });
        TestBroker {
            addr,
            dir,
            broker,
            shutdown,
            task,
        }
    }

    /// Graceful shutdown; returns the data directory for a restart.
    pub async fn stop(self) -> tempfile::TempDir {
        self.shutdown.cancel();
        tokio::time::timeout(Duration::from_secs(20), self.task)
            .await
            .expect("shutdown in time")
            .expect("server task");
        self.dir
    }

    pub async fn client(&self) -> RawClient {
        RawClient::connect(self.addr).await
    }
}

/// A request frame, size prefix included: the request header `key` and `version` call for, then
/// `body` (encoded elsewhere).
pub fn request_frame(key: ApiKey, version: i16, correlation_id: i32, client_id: &str, body: &[u8]) -> BytesMut {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_string(client_id.to_string())));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, key.request_header_version(version)).expect("encode header");
    buf.put_slice(body);
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    buf
}

/// Speaks the Kafka protocol over one TCP connection, frame by frame.
pub struct RawClient {
    pub stream: TcpStream,
    next_correlation: i32,
}

impl RawClient {
    pub async fn connect(addr: SocketAddr) -> RawClient {
        let stream = tokio::time::timeout(TIMEOUT, TcpStream::connect(addr))
            .await
            .expect("connect in time")
            .expect("connect");
        RawClient {
            stream,
            next_correlation: 1,
        }
    }

    /// Writes raw bytes.
    pub async fn write_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.expect("write");
    }

    /// Reads one response frame; `None` when the broker closed the connection.
    pub async fn read_frame(&mut self) -> Option<Bytes> {
        let mut len = [0u8; 4];
        match tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut len))
            .await
            .expect("response in time")
        {
            Ok(_) => {}
            Err(_) => return None,
        }
        let len = i32::from_be_bytes(len) as usize;
        let mut body = vec![0u8; len];
        tokio::time::timeout(TIMEOUT, self.stream.read_exact(&mut body))
            .await
            .expect("body in time")
            .ok()?;
        Some(Bytes::from(body))
    }

    /// True if the broker closes the connection (EOF) within the timeout.
    pub async fn is_closed_by_broker(&mut self) -> bool {
        let mut buf = [0u8; 64];
        matches!(
            tokio::time::timeout(TIMEOUT, self.stream.read(&mut buf)).await,
            Ok(Ok(0)) | Ok(Err(_))
        )
    }

    /// Encodes a request frame.
    pub fn frame<T: Encodable>(&mut self, key: ApiKey, version: i16, body: &T) -> (i32, Bytes) {
        let mut encoded = BytesMut::new();
        body.encode(&mut encoded, version).expect("encode body");
        self.frame_body(key, version, &encoded)
    }

    /// Frames a request body that was encoded elsewhere (the hand-written ShareFetch /
    /// ShareAcknowledge codecs), behind the request header `key` and `version` call for.
    pub fn frame_body(&mut self, key: ApiKey, version: i16, body: &[u8]) -> (i32, Bytes) {
        let correlation_id = self.next_correlation;
        self.next_correlation += 1;
        (
            correlation_id,
            request_frame(key, version, correlation_id, "shard-test", body).freeze(),
        )
    }

    /// Sends an already-encoded request body; returns the response body (after the response
    /// header, whose correlation id is checked) for a hand-written decoder.
    pub async fn call_body(&mut self, key: ApiKey, version: i16, body: &[u8]) -> Bytes {
        let (correlation_id, frame) = self.frame_body(key, version, body);
        self.write_raw(&frame).await;
        let mut resp = self.read_frame().await.expect("response frame");
        let header = ResponseHeader::decode(&mut resp, key.response_header_version(version)).expect("response header");
        assert_eq!(header.correlation_id, correlation_id);
        resp
    }

    /// Sends a request and decodes its response.
    pub async fn call<Req: Encodable, Resp: Decodable>(&mut self, key: ApiKey, version: i16, body: &Req) -> Resp {
        let (correlation_id, frame) = self.frame(key, version, body);
        self.write_raw(&frame).await;
        let mut resp = self.read_frame().await.expect("response frame");
        let header = ResponseHeader::decode(&mut resp, key.response_header_version(version)).expect("response header");
        assert_eq!(header.correlation_id, correlation_id);
        let decoded = Resp::decode(&mut resp, version).unwrap_or_else(|e| panic!("decode {key:?} v{version} response: {e}"));
        assert_eq!(resp.remaining(), 0, "{key:?} v{version}: trailing bytes in response");
        decoded
    }
}

/// One v2 record batch of `count` records with keys, values and a header.
pub fn batch(count: i32, producer_id: i64, base_sequence: i32) -> Bytes {
    let records: Vec<Record> = (0..count)
        .map(|i| {
            let mut headers = IndexMap::new();
            headers.insert(StrBytes::from_static_str("h"), Some(Bytes::from(format!("hv-{i}"))));
            Record {
                transactional: false,
                control: false,
                delete_horizon: false,
                partition_leader_epoch: -1,
                producer_id,
                producer_epoch: if producer_id >= 0 { 0 } else { -1 },
                timestamp_type: TimestampType::Creation,
                offset: i64::from(i),
                // Without a producer id the base sequence is -1; the per-record values only keep
                // the encoder from starting a new batch per record.
                sequence: if base_sequence >= 0 { base_sequence + i } else { i - 1 },
                timestamp: 1_700_000_000_000 + i64::from(i),
                key: Some(Bytes::from(format!("key-{i}"))),
                value: Some(Bytes::from(format!("value-{i}"))),
                headers,
            }
        })
        .collect();
    let mut buf = BytesMut::new();
    RecordBatchEncoder::encode(
        &mut buf,
        records.iter(),
        &RecordEncodeOptions {
            version: 2,
            compression: Compression::None,
        },
    )
    .expect("encode batch");
    buf.freeze()
}

/// One v2 record batch of one record with `value`, no key and no producer id.
pub fn value_batch(value: Bytes) -> Bytes {
    let record = Record {
        transactional: false,
        control: false,
        delete_horizon: false,
        partition_leader_epoch: -1,
        producer_id: -1,
        producer_epoch: -1,
        timestamp_type: TimestampType::Creation,
        offset: 0,
        sequence: -1,
        timestamp: 1_700_000_000_000,
        key: None,
        value: Some(value),
        headers: Default::default(),
    };
    let mut buf = BytesMut::new();
    let options = RecordEncodeOptions {
        version: 2,
        compression: Compression::None,
    };
    RecordBatchEncoder::encode(&mut buf, [record].iter(), &options).expect("encode batch");
    buf.freeze()
}
