//! A request for every served API: the first input byte picks the API from the served table,
//! the second a version within its served range, the rest is the header after the fixed prefix
//! (client id and, for flexible versions, tagged fields) followed by the body. Decoded through
//! `shard_protocol::decode_request`, as the broker does; it must never panic or abort, and must
//! stay within the allocation bound of `alloc_bound.rs`.
#![no_main]

mod alloc_bound;

use libfuzzer_sys::fuzz_target;
use shard_protocol::SERVED_APIS;

#[global_allocator]
static ALLOC: alloc_bound::Counting = alloc_bound::Counting;

fuzz_target!(|data: &[u8]| {
    let [api, version, rest @ ..] = data else { return };
    let served = &SERVED_APIS[usize::from(*api) % SERVED_APIS.len()];
    let span = (served.max - served.min + 1) as u16;
    let version = served.min + (u16::from(*version) % span) as i16;
    let mut frame = Vec::with_capacity(8 + rest.len());
    frame.extend_from_slice(&(served.key as i16).to_be_bytes());
    frame.extend_from_slice(&version.to_be_bytes());
    frame.extend_from_slice(&7i32.to_be_bytes());
    frame.extend_from_slice(rest);
    let len = frame.len();
    let frame = bytes::Bytes::from(frame);
    let decoded = alloc_bound::measure(len, || {
        shard_protocol::decode_request(frame, shard_protocol::DEFAULT_NON_PRODUCE_MAX_BYTES)
    });
    if let Ok(shard_protocol::Decoded::Unsupported { .. }) = decoded {
        panic!("{:?} v{version} is served but was answered as unsupported", served.key);
    }
});
