#!/usr/bin/env bash
# Agent footprint: resident memory and CPU of one baton-agent with 8 GPUs (the fake NVML,
# DGX H100 fixture, through the real NVML code path) heartbeating with telemetry every
# second to a local batond. Usage: bench/agent_footprint.sh [build dir] [seconds]
# Prints the agent's VmRSS / VmHWM and the CPU it used over the window (utime + stime
# from /proc/<pid>/stat), as a share of one core.
set -euo pipefail
build=${1:-build}
secs=${2:-60}
tmp=$(mktemp -d)
trap 'kill $agent $batond 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$tmp"' EXIT
cp testing/fake_nvml/fixtures/dgx_h100.txt "$tmp/nvml.txt"
"$build/bin/batond" --store memory --plaintext --listen 127.0.0.1:0 --http '' --port-file "$tmp/port" \
  --admin-token-file "$tmp/admin.token" --agent-token-file "$tmp/agent.token" \
  > "$tmp/batond.log" 2>&1 &
batond=$!
for _ in $(seq 100); do [[ -s $tmp/port ]] && break; sleep 0.1; done
BATON_FAKE_NVML_FIXTURE=$tmp/nvml.txt "$build/bin/baton-agent" --server "127.0.0.1:$(cat "$tmp/port")" \
  --name footprint --data-dir "$tmp/agent" --log-listen 127.0.0.1:0 --token-file "$tmp/agent.token" \
  --nvml-lib "$build/testing/fake_nvml/libnvidia-ml.so.1" > "$tmp/agent.log" 2>&1 &
agent=$!
sleep 5  # registered and heartbeating
ticks=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$agent/stat"; }
c0=$(cpu); t0=$(date +%s.%N)
sleep "$secs"
c1=$(cpu); t1=$(date +%s.%N)
rss=$(awk '/VmRSS/ {print $2}' "/proc/$agent/status")
hwm=$(awk '/VmHWM/ {print $2}' "/proc/$agent/status")
threads=$(awk '/Threads/ {print $2}' "/proc/$agent/status")
echo "gpus=8 heartbeat=1s window_s=$(echo "$t1 - $t0" | bc)"
echo "rss_kib=$rss hwm_kib=$hwm threads=$threads"
echo "cpu_percent_of_one_core=$(echo "scale=3; 100 * ($c1 - $c0) / $ticks / ($t1 - $t0)" | bc)"
grep -c "registered: 8 GPUs" "$tmp/batond.log" | sed 's/^/registrations_with_8_gpus=/'
