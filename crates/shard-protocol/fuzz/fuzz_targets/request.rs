//! A request for every API with a codec: the first input byte picks the API from
//! `shard_protocol::codec_apis()` (the served table first, then codecs written ahead of their
//! handlers, such as OffsetCommit and OffsetFetch), the second a version within its range, the
//! rest is the header after the fixed prefix (client id and, for flexible versions, tagged
//! fields) followed by the body. Decoded through `shard_protocol::decode_any_codec_request`,
//! the broker's `decode_request` path with the codec table in place of the served one; it must
//! never panic or abort, and must stay within the allocation bound of `alloc_bound.rs`.
#![no_main]

mod alloc_bound;

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: alloc_bound::Counting = alloc_bound::Counting;

fuzz_target!(|data: &[u8]| {
    let [api, version, rest @ ..] = data else { return };
    let count = shard_protocol::codec_apis().count();
    let Some(served) = shard_protocol::codec_apis().nth(usize::from(*api) % count) else { return };
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
        shard_protocol::decode_any_codec_request(frame, shard_protocol::DEFAULT_NON_PRODUCE_MAX_BYTES)
    });
    if let Ok(shard_protocol::Decoded::Unsupported { .. }) = decoded {
        panic!("{:?} v{version} has a codec but was answered as unsupported", served.key);
    }
});
