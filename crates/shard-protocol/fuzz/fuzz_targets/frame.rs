//! Arbitrary bytes as one request frame (after its size prefix), through the broker's decode
//! path: `shard_protocol::decode_request`, the function `handlers::dispatch` calls. It must never
//! panic or abort, and must stay within the allocation bound of `alloc_bound.rs`.
#![no_main]

mod alloc_bound;

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: alloc_bound::Counting = alloc_bound::Counting;

fuzz_target!(|data: &[u8]| {
    let frame = bytes::Bytes::copy_from_slice(data);
    let _ = alloc_bound::measure(data.len(), || {
        shard_protocol::decode_request(frame, shard_protocol::DEFAULT_NON_PRODUCE_MAX_BYTES).is_ok()
    });
});
