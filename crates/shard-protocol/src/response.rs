//! Response framing: 4-byte size, response header, body.

use bytes::{BufMut, Bytes, BytesMut};
use kafka_protocol::messages::{ApiKey, ResponseHeader};
use kafka_protocol::protocol::Encodable;

/// A response could not be encoded (a field does not fit the requested version).
#[derive(Debug, thiserror::Error)]
#[error("cannot encode response: {0}")]
pub struct EncodeError(pub String);

/// Encodes `body` as the complete response frame (size prefix included) to a request of
/// `api_key` at `version` with `correlation_id`.
pub fn encode_response<T: Encodable>(api_key: ApiKey, version: i16, correlation_id: i32, body: &T) -> Result<Bytes, EncodeError> {
    let header = ResponseHeader::default().with_correlation_id(correlation_id);
    let header_version = api_key.response_header_version(version);
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    header.encode(&mut buf, header_version).map_err(|e| EncodeError(e.to_string()))?;
    body.encode(&mut buf, version).map_err(|e| EncodeError(e.to_string()))?;
    let len = (buf.len() - 4) as i32;
    buf[0..4].copy_from_slice(&len.to_be_bytes());
    Ok(buf.freeze())
}

/// A response frame carrying only a header v0 and an error code: the answer to an API key or
/// version the broker does not serve, whose real response layout is unknown.
pub fn encode_error_only_response(correlation_id: i32, error_code: i16) -> Bytes {
    let mut buf = BytesMut::with_capacity(10);
    buf.put_i32(6);
    buf.put_i32(correlation_id);
    buf.put_i16(error_code);
    buf.freeze()
}
