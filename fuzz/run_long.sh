#!/usr/bin/env bash
# The long fuzz runs recorded in bench/results/fuzz.md: each target (all of them, or those
# named after the run count) fuzzed for RUNS inputs, one target after another, on one core,
# starting from the committed corpus. New inputs go to build-fuzz/fuzz-long/<target>/corpus,
# crashes to build-fuzz/fuzz-long/<target>/ (crash-*, leak-*, timeout-*, oom-*), the log to
# build-fuzz/fuzz-long/<target>.log; the last lines of each log give the exec/s and coverage.
# Exits non-zero when any target found something.
#
# Usage: fuzz/run_long.sh [RUNS] [target ...]      (make fuzz-long FUZZ_RUNS=...)
# FUZZ_RSS_LIMIT_MB (default 2560) is libFuzzer's -rss_limit_mb: control_plane's RSS grows
# with its corpus (bench/results/fuzz.md), so its million-input run needs more.
set -uo pipefail
cd "$(dirname "$0")/.."
runs=${1:-1000000}
rss_limit=${FUZZ_RSS_LIMIT_MB:-2560}
shift || true
bin=build-fuzz/bin
targets=("$@")
if [ ${#targets[@]} -eq 0 ]; then
  for f in fuzz/*_fuzzer.cc; do targets+=("$(basename "$f" _fuzzer.cc)"); done
fi
status=0
for t in "${targets[@]}"; do
  out=build-fuzz/fuzz-long/$t
  mkdir -p "$out/corpus"
  dict=()
  [ -f "fuzz/dict/$t.dict" ] && dict=(-dict="fuzz/dict/$t.dict")
  extra=()
  [ -f "fuzz/flags/$t.flags" ] && read -r -a extra < "fuzz/flags/$t.flags"
  echo "== $t: $runs inputs, rss limit $rss_limit MB, flags ${extra[*]:-none} ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
  start=$(date +%s)
  "$bin/fuzz_$t" -runs="$runs" -seed=1 -timeout=30 -rss_limit_mb="$rss_limit" -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="$out/" "${dict[@]}" "${extra[@]}" \
    "$out/corpus" "fuzz/corpus/$t" \
    > "build-fuzz/fuzz-long/$t.log" 2>&1
  rc=$?
  end=$(date +%s)
  grep -E '^#[0-9]+ +DONE|^stat::' "build-fuzz/fuzz-long/$t.log" | tail -8
  echo "== $t: exit $rc after $((end - start)) s ($(date -u +%FT%TZ), load $(cut -d' ' -f1-3 /proc/loadavg))"
  [ $rc -eq 0 ] || status=1
done
exit $status
