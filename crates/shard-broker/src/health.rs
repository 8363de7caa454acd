//! `shard-broker health`: whether a broker answers a Kafka ApiVersions request and, when it
//! serves DescribeLogDirs, whether its log directories are online (a failed fsync takes one
//! offline and it refuses produce: unhealthy).
//!
//! Made for container HEALTHCHECKs in images without a shell or curl: blocking std sockets, one
//! request, a deadline over the whole exchange, a bounded response frame.

use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, Instant};

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{
    ApiKey, ApiVersionsRequest, ApiVersionsResponse, DescribeLogDirsRequest, DescribeLogDirsResponse, RequestHeader, ResponseHeader,
};
use kafka_protocol::protocol::{Decodable, Encodable, StrBytes};

use crate::config::BrokerConfig;

/// ApiVersions version sent (v3: the flexible version current clients start with).
const VERSION: i16 = 3;
/// Correlation id of the request.
const CORRELATION_ID: i32 = 0x5348_4400;
/// Largest response frame read; an ApiVersions answer is a few kilobytes.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;

/// Why a broker is not healthy (or could not be asked).
#[derive(Debug, thiserror::Error)]
pub enum HealthError {
    /// The address has no host:port form or does not resolve.
    #[error("cannot resolve {address}: {reason}")]
    Resolve {
        /// The address given.
        address: String,
        /// What went wrong.
        reason: String,
    },
    /// No TCP connection.
    #[error("cannot connect to {address}: {source}")]
    Connect {
        /// The address tried last.
        address: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The deadline passed.
    #[error("{address}: no answer within {timeout_ms} ms ({stage})")]
    Timeout {
        /// The broker's address.
        address: SocketAddr,
        /// The whole check's time limit.
        timeout_ms: u128,
        /// What was being waited for.
        stage: &'static str,
    },
    /// Sending or receiving failed.
    #[error("{address}: {stage} failed: {source}")]
    Io {
        /// The broker's address.
        address: SocketAddr,
        /// What was being done.
        stage: &'static str,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The answer is not a well-formed ApiVersions response.
    #[error("{address}: bad response: {reason}")]
    BadResponse {
        /// The broker's address.
        address: SocketAddr,
        /// What is wrong with it.
        reason: String,
    },
    /// The request could not be encoded (a bug, not the broker's).
    #[error("cannot encode the ApiVersions request: {0}")]
    Encode(String),
    /// A log directory is offline: a failed fsync took it offline and it refuses produce.
    #[error("{address}: log directory {log_dir} is offline (error code {code}); it refuses produce until restart")]
    LogDirOffline {
        /// The broker's address.
        address: SocketAddr,
        /// The directory.
        log_dir: String,
        /// The error code DescribeLogDirs gave it (KAFKA_STORAGE_ERROR).
        code: i16,
    },
    /// The broker answered with an error code.
    #[error("{address}: ApiVersions answered with error code {code}")]
    ErrorCode {
        /// The broker's address.
        address: SocketAddr,
        /// The Kafka error code.
        code: i16,
    },
}

/// A successful check.
#[derive(Debug, Clone, Copy)]
pub struct Healthy {
    /// The address that answered.
    pub address: SocketAddr,
    /// Connect to response, wall clock.
    pub elapsed: Duration,
    /// APIs the broker listed.
    pub api_count: usize,
    /// Whether DescribeLogDirs was asked (and said every log directory is online).
    pub log_dirs_checked: bool,
}

/// The address `health` checks when none is given: the listen address of `config`, with an
/// unspecified IP (`0.0.0.0`, `::`) replaced by loopback. `None` when the port is 0 (chosen by
/// the OS at start-up, so unknown here).
pub fn address_from_config(config: &BrokerConfig) -> Option<SocketAddr> {
    let mut addr = config.listen_addr();
    if addr.port() == 0 {
        return None;
    }
    if addr.ip().is_unspecified() {
        addr.set_ip(match addr.ip() {
            IpAddr::V4(_) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            IpAddr::V6(_) => IpAddr::V6(Ipv6Addr::LOCALHOST),
        });
    }
    Some(addr)
}

/// Connects to `address` (host:port; a `PLAINTEXT://` prefix is accepted), sends ApiVersions
/// and checks the answer: same correlation id, error code 0. The whole exchange, connection
/// included, must end within `timeout`.
pub fn check(address: &str, timeout: Duration) -> Result<Healthy, HealthError> {
    let start = Instant::now();
    let deadline = start + timeout;
    let target = address.strip_prefix("PLAINTEXT://").unwrap_or(address);
    let candidates: Vec<SocketAddr> = target
        .to_socket_addrs()
        .map_err(|e| HealthError::Resolve {
            address: address.to_string(),
            reason: e.to_string(),
        })?
        .collect();
    let mut last_error = None;
    let mut connected = None;
    for candidate in &candidates {
        let Some(remaining) = remaining(deadline) else {
            break;
        };
        match TcpStream::connect_timeout(candidate, remaining) {
            Ok(stream) => {
                connected = Some((stream, *candidate));
                break;
            }
            Err(e) => last_error = Some((*candidate, e)),
        }
    }
    let (mut stream, addr) = match (connected, last_error) {
        (Some(c), _) => c,
        (None, Some((addr, e))) if e.kind() == std::io::ErrorKind::TimedOut => {
            return Err(HealthError::Timeout {
                address: addr,
                timeout_ms: timeout.as_millis(),
                stage: "connect",
            });
        }
        (None, Some((addr, source))) => {
            return Err(HealthError::Connect {
                address: addr.to_string(),
                source,
            });
        }
        (None, None) => {
            return Err(HealthError::Resolve {
                address: address.to_string(),
                reason: if candidates.is_empty() {
                    "no addresses".into()
                } else {
                    "time limit reached before connecting".into()
                },
            });
        }
    };
    let mut io = Exchange {
        stream: &mut stream,
        addr,
        deadline,
        timeout,
    };
    io.write_all(&request_frame()?)?;
    let body = io.read_frame()?;
    let elapsed = start.elapsed();
    let response = decode_response(addr, body)?;
    if response.error_code != 0 {
        return Err(HealthError::ErrorCode {
            address: addr,
            code: response.error_code,
        });
    }
    // A broker that serves DescribeLogDirs is asked whether its log directories are online.
    let mut log_dirs_checked = false;
    if let Some(v) = response.api_keys.iter().find(|k| k.api_key == ApiKey::DescribeLogDirs as i16) {
        let version = v.max_version.min(LOG_DIRS_VERSION);
        if version >= v.min_version && version >= 1 {
            io.write_all(&log_dirs_frame(version)?)?;
            let body = io.read_frame()?;
            check_log_dirs(addr, body, version)?;
            log_dirs_checked = true;
        }
    }
    Ok(Healthy {
        address: addr,
        elapsed,
        api_count: response.api_keys.len(),
        log_dirs_checked,
    })
}

fn remaining(deadline: Instant) -> Option<Duration> {
    deadline.checked_duration_since(Instant::now()).filter(|d| !d.is_zero())
}

/// Socket reads and writes under one deadline (a per-call socket timeout alone would let a
/// peer that trickles bytes keep the check going).
struct Exchange<'a> {
    stream: &'a mut TcpStream,
    addr: SocketAddr,
    deadline: Instant,
    timeout: Duration,
}

impl Exchange<'_> {
    /// One response frame (without its length prefix), bounded by [`MAX_RESPONSE_BYTES`].
    fn read_frame(&mut self) -> Result<Bytes, HealthError> {
        let mut len = [0u8; 4];
        self.read_exact(&mut len, "response length")?;
        let len = i32::from_be_bytes(len);
        let len = usize::try_from(len)
            .ok()
            .filter(|&n| (1..=MAX_RESPONSE_BYTES).contains(&n))
            .ok_or_else(|| HealthError::BadResponse {
                address: self.addr,
                reason: format!("frame length {len} outside [1, {MAX_RESPONSE_BYTES}]"),
            })?;
        let mut body = vec![0u8; len];
        self.read_exact(&mut body, "response body")?;
        Ok(Bytes::from(body))
    }

    fn timed_out(&self, stage: &'static str) -> HealthError {
        HealthError::Timeout {
            address: self.addr,
            timeout_ms: self.timeout.as_millis(),
            stage,
        }
    }

    fn io_error(&self, stage: &'static str, source: std::io::Error) -> HealthError {
        if matches!(source.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) {
            self.timed_out(stage)
        } else {
            HealthError::Io {
                address: self.addr,
                stage,
                source,
            }
        }
    }

    fn write_all(&mut self, mut buf: &[u8]) -> Result<(), HealthError> {
        const STAGE: &str = "sending the request";
        while !buf.is_empty() {
            let left = remaining(self.deadline).ok_or_else(|| self.timed_out(STAGE))?;
            self.stream.set_write_timeout(Some(left)).map_err(|e| self.io_error(STAGE, e))?;
            match self.stream.write(buf) {
                Ok(0) => return Err(self.io_error(STAGE, std::io::ErrorKind::WriteZero.into())),
                Ok(n) => buf = &buf[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(STAGE, e)),
            }
        }
        Ok(())
    }

    fn read_exact(&mut self, mut buf: &mut [u8], stage: &'static str) -> Result<(), HealthError> {
        while !buf.is_empty() {
            let left = remaining(self.deadline).ok_or_else(|| self.timed_out(stage))?;
            self.stream.set_read_timeout(Some(left)).map_err(|e| self.io_error(stage, e))?;
            match self.stream.read(buf) {
                Ok(0) => {
                    return Err(HealthError::BadResponse {
                        address: self.addr,
                        reason: format!("connection closed while reading the {stage}"),
                    });
                }
                Ok(n) => buf = &mut buf[n..],
                Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
                Err(e) => return Err(self.io_error(stage, e)),
            }
        }
        Ok(())
    }
}

/// The framed ApiVersions request.
fn request_frame() -> Result<Bytes, HealthError> {
    let body = ApiVersionsRequest::default()
        .with_client_software_name(StrBytes::from_static_str("shard-health"))
        .with_client_software_version(StrBytes::from_static_str(env!("CARGO_PKG_VERSION")));
    frame(ApiKey::ApiVersions, VERSION, CORRELATION_ID, &body)
}

/// `body` as a size-prefixed request of `key` at `version`, with this tool's client id.
fn frame<T: Encodable>(key: ApiKey, version: i16, correlation_id: i32, body: &T) -> Result<Bytes, HealthError> {
    let header = RequestHeader::default()
        .with_request_api_key(key as i16)
        .with_request_api_version(version)
        .with_correlation_id(correlation_id)
        .with_client_id(Some(StrBytes::from_static_str("shard-health")));
    let mut buf = BytesMut::new();
    buf.put_i32(0);
    header.encode(&mut buf, key.request_header_version(version)).map_err(encode_error)?;
    body.encode(&mut buf, version).map_err(encode_error)?;
    let len = i32::try_from(buf.len() - 4).unwrap_or(i32::MAX);
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// Highest DescribeLogDirs version sent.
const LOG_DIRS_VERSION: i16 = 4;
/// Correlation id of the DescribeLogDirs request.
const LOG_DIRS_CORRELATION_ID: i32 = CORRELATION_ID + 1;

/// The framed DescribeLogDirs request: no topics (an empty list, not null), so the answer is one
/// entry per directory with its error code and nothing per partition.
fn log_dirs_frame(version: i16) -> Result<Bytes, HealthError> {
    let body = DescribeLogDirsRequest::default().with_topics(Some(Vec::new()));
    frame(ApiKey::DescribeLogDirs, version, LOG_DIRS_CORRELATION_ID, &body)
}

/// Fails with [`HealthError::LogDirOffline`] for the first directory answered with an error.
fn check_log_dirs(addr: SocketAddr, mut frame: Bytes, version: i16) -> Result<(), HealthError> {
    let key = ApiKey::DescribeLogDirs;
    let bad = |reason: String| HealthError::BadResponse { address: addr, reason };
    let header =
        ResponseHeader::decode(&mut frame, key.response_header_version(version)).map_err(|e| bad(format!("response header: {e}")))?;
    if header.correlation_id != LOG_DIRS_CORRELATION_ID {
        return Err(bad(format!(
            "correlation id {} instead of {LOG_DIRS_CORRELATION_ID}",
            header.correlation_id
        )));
    }
    let resp = DescribeLogDirsResponse::decode(&mut frame, version).map_err(|e| bad(format!("DescribeLogDirs v{version} body: {e}")))?;
    if resp.error_code != 0 {
        return Err(bad(format!("DescribeLogDirs answered with error code {}", resp.error_code)));
    }
    match resp.results.iter().find(|r| r.error_code != 0) {
        Some(r) => Err(HealthError::LogDirOffline {
            address: addr,
            log_dir: r.log_dir.to_string(),
            code: r.error_code,
        }),
        None => Ok(()),
    }
}

fn encode_error(e: impl std::fmt::Display) -> HealthError {
    HealthError::Encode(e.to_string())
}

/// Decodes a response frame (without its length) and checks the correlation id.
fn decode_response(addr: SocketAddr, mut frame: Bytes) -> Result<ApiVersionsResponse, HealthError> {
    let key = ApiKey::ApiVersions;
    let bad = |reason: String| HealthError::BadResponse { address: addr, reason };
    let header =
        ResponseHeader::decode(&mut frame, key.response_header_version(VERSION)).map_err(|e| bad(format!("response header: {e}")))?;
    if header.correlation_id != CORRELATION_ID {
        return Err(bad(format!("correlation id {} instead of {CORRELATION_ID}", header.correlation_id)));
    }
    // A broker that does not know v3 answers in the v0 format (with UNSUPPORTED_VERSION);
    // its error code is read the same way, in the first two bytes.
    if frame.len() >= 2 {
        let code = i16::from_be_bytes([frame[0], frame[1]]);
        if code != 0 {
            return Err(HealthError::ErrorCode { address: addr, code });
        }
    }
    ApiVersionsResponse::decode(&mut frame, VERSION).map_err(|e| bad(format!("ApiVersions v{VERSION} body: {e}")))
}

/// Exit status of `shard-broker health`: the broker answered.
pub const EXIT_HEALTHY: u8 = 0;
/// Exit status of `shard-broker health`: the broker did not answer properly.
pub const EXIT_UNHEALTHY: u8 = 1;
/// Exit status of `shard-broker health`: bad arguments or configuration.
pub const EXIT_USAGE: u8 = 2;

/// Runs `shard-broker health`: checks `address`, or else the listen address of the effective
/// configuration (file at `config_path` if given, overridden by the `SHARD_*` variables among
/// `env`). Prints one line to stdout, `ok: ...` or `unhealthy: ...`, and returns the exit
/// status ([`EXIT_HEALTHY`], [`EXIT_UNHEALTHY`] or [`EXIT_USAGE`]).
pub fn run(
    config_path: Option<&std::path::Path>,
    address: Option<&str>,
    timeout: Duration,
    env: impl IntoIterator<Item = (String, String)>,
) -> u8 {
    let address = match address {
        Some(a) => a.to_string(),
        None => match BrokerConfig::load_with_env(config_path, env) {
            Ok(config) => match address_from_config(&config) {
                Some(a) => a.to_string(),
                None => {
                    println!("unhealthy: listeners `{}` has port 0; pass --address", config.listeners);
                    return EXIT_USAGE;
                }
            },
            Err(e) => {
                println!("unhealthy: bad configuration: {e}");
                return EXIT_USAGE;
            }
        },
    };
    match check(&address, timeout) {
        Ok(h) => {
            let dirs = if h.log_dirs_checked { ", log directories online" } else { "" };
            println!("ok: {} answered ApiVersions in {} ms{dirs}", h.address, h.elapsed.as_millis());
            EXIT_HEALTHY
        }
        Err(e) => {
            println!("unhealthy: {e}");
            EXIT_UNHEALTHY
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unspecified_listen_address_becomes_loopback() {
        let c = BrokerConfig::parse("listeners = \"0.0.0.0:9092\"").expect("v4");
        assert_eq!(address_from_config(&c), Some("127.0.0.1:9092".parse().expect("addr")));
        let c = BrokerConfig::parse("listeners = \"PLAINTEXT://[::]:19092\"").expect("v6");
        assert_eq!(address_from_config(&c), Some("[::1]:19092".parse().expect("addr")));
        let c = BrokerConfig::parse("listeners = \"10.1.2.3:9092\"").expect("specific");
        assert_eq!(address_from_config(&c), Some("10.1.2.3:9092".parse().expect("addr")));
        let c = BrokerConfig::parse("listeners = \"127.0.0.1:0\"").expect("port 0");
        assert_eq!(address_from_config(&c), None);
    }

    #[test]
    fn request_and_response_round_trip() {
        let frame = request_frame().expect("frame");
        let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
        assert_eq!(usize::try_from(len).expect("len"), frame.len() - 4);
        let addr: SocketAddr = "127.0.0.1:1".parse().expect("addr");
        let mut buf = BytesMut::new();
        ResponseHeader::default()
            .with_correlation_id(CORRELATION_ID)
            .encode(&mut buf, ApiKey::ApiVersions.response_header_version(VERSION))
            .expect("header");
        ApiVersionsResponse::default().encode(&mut buf, VERSION).expect("body");
        decode_response(addr, buf.clone().freeze()).expect("good response");
        let mut wrong = buf.clone();
        wrong[0..4].copy_from_slice(&7i32.to_be_bytes());
        let e = decode_response(addr, wrong.freeze()).expect_err("correlation id");
        assert!(e.to_string().contains("correlation id 7"), "{e}");
        let e = decode_response(addr, Bytes::from_static(&[0, 0])).expect_err("short");
        assert!(matches!(e, HealthError::BadResponse { .. }), "{e}");
    }
}
