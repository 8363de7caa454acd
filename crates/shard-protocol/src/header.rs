//! Request headers.
//!
//! Every request starts with api key (i16), api version (i16) and correlation id (i32), whatever
//! the header version. Reading that prefix first lets the broker answer unknown keys and
//! versions with an error instead of dropping the connection without a word.

use bytes::{Buf, Bytes};
use kafka_protocol::messages::{ApiKey, RequestHeader};
use kafka_protocol::protocol::Decodable;

/// The fixed first eight bytes of every request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RequestPrefix {
    /// Raw API key (may be one this broker does not know).
    pub api_key: i16,
    /// Requested API version.
    pub api_version: i16,
    /// Correlation id echoed in the response.
    pub correlation_id: i32,
}

/// Why a request header could not be read.
#[derive(Debug, thiserror::Error)]
pub enum HeaderError {
    /// The frame is shorter than the fixed prefix.
    #[error("request frame of {0} bytes is too short for a header")]
    TooShort(usize),
    /// The header is malformed (bad client id length, bad tagged fields...).
    #[error("malformed request header: {0}")]
    Malformed(String),
}

impl RequestPrefix {
    /// Reads the prefix without consuming the frame.
    pub fn peek(frame: &[u8]) -> Result<Self, HeaderError> {
        if frame.len() < 8 {
            return Err(HeaderError::TooShort(frame.len()));
        }
        let mut b = &frame[..8];
        Ok(Self {
            api_key: b.get_i16(),
            api_version: b.get_i16(),
            correlation_id: b.get_i32(),
        })
    }
}

/// Decodes the full header of a request for a known API key, leaving `frame` at the body.
pub fn decode_request_header(frame: &mut Bytes, api_key: ApiKey, api_version: i16) -> Result<RequestHeader, HeaderError> {
    let header_version = api_key.request_header_version(api_version);
    RequestHeader::decode(frame, header_version).map_err(|e| HeaderError::Malformed(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peek_reads_prefix_of_unknown_api() {
        let frame = [0x7f, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00, 0x2a, 0xff];
        let p = RequestPrefix::peek(&frame).expect("prefix");
        assert_eq!(p.api_key, 0x7f00);
        assert_eq!(p.api_version, 3);
        assert_eq!(p.correlation_id, 42);
    }

    #[test]
    fn peek_refuses_short_frame() {
        assert!(matches!(RequestPrefix::peek(&[0, 1, 2]), Err(HeaderError::TooShort(3))));
    }
}
