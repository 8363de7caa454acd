#!/usr/bin/env bash
# Fuzz the share-partition state machine (crates/shard-share) against its reference model for a
# bounded time. Part of step 3 of tests/run-all.sh; see docs/testing.md ("Fuzzing").
#
#   tests/fuzz-share.sh                          # 60 s
#   SHARD_FUZZ_SECONDS=3600 tests/fuzz-share.sh  # longer
#
# The target reads at most 4 config bytes + 400 ops of at most 6 bytes (max_len 2404); longer
# inputs only repeat the same run. Knobs: see tests/fuzz.sh.
exec "$(dirname "${BASH_SOURCE[0]}")/fuzz.sh" crates/shard-share share_partition 2404
