#!/usr/bin/env bash
# Fuzz the broker's request decoding (shard_protocol::decode_request, what handlers::dispatch
# calls) under an allocation bound: every input must decode or fail without panicking and
# without allocating more than 256 bytes per frame byte + 64 KiB (fuzz/fuzz_targets/alloc_bound.rs).
# Two targets, each for SHARD_FUZZ_SECONDS (default 30 here):
#   request  the first two bytes pick a served API and version, the rest is header + body
#   frame    arbitrary bytes as a whole frame (garbage, unknown keys, bad versions)
# Seeds are real client traffic (fuzz/capture-seeds.py). Part of step 3 of tests/run-all.sh; see
# docs/reliability.md for the long runs. Knobs: see tests/fuzz.sh.
set -uo pipefail
HERE="$(dirname "${BASH_SOURCE[0]}")"
export SHARD_FUZZ_SECONDS="${SHARD_FUZZ_SECONDS:-30}"
rc=0
for target in request frame; do
    bash "$HERE/fuzz.sh" crates/shard-protocol "$target" 1048576 || rc=1
done
exit $rc
