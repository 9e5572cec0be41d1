#!/bin/bash
# kill -9 of the batond leader with 100,000 jobs and 1,000 nodes in etcd: seconds until the
# other replica serves (it must win the election, then load everything from etcd).
# Needs bench/ha/etcd3.sh start, and the big/ prefix filled first by:
#   ./build/bin/e2e_bench --agents 1000 --gpus 8 --jobs 100000 --batond-args \
#     "--store etcd --etcd-endpoints 127.0.0.1:24801,127.0.0.1:24802,127.0.0.1:24803 --etcd-prefix big/ --advertise bench"
# (e2e_bench without --tls runs batond --plaintext, as the replicas here do.)
EP=127.0.0.1:24801,127.0.0.1:24802,127.0.0.1:24803
T=$(mktemp -d)
# The big/ prefix was bootstrapped by the e2e_bench run above (its users are in etcd): the
# replicas only need token file paths, which they leave alone on a store that has users.
TOK="--admin-token-file $T/admin.token --agent-token-file $T/agent.token"
port() { python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])'; }
for run in 1 2 3; do
  rm -f $T/port0 $T/port1
  ./build/bin/batond --store etcd --etcd-endpoints $EP --etcd-prefix big/ --listen 127.0.0.1:$(port) \
    --plaintext --http "" --port-file $T/port0 $TOK > $T/b0.log 2>&1 & B0=$!
  while [ ! -e $T/port0 ]; do sleep 0.01; done
  ./build/bin/batond --store etcd --etcd-endpoints $EP --etcd-prefix big/ --listen 127.0.0.1:$(port) \
    --plaintext --http "" --port-file $T/port1 $TOK > $T/b1.log 2>&1 & B1=$!
  while ! grep -q following $T/b1.log; do sleep 0.01; done
  sleep 1  # the kill lands at some point of the leader's renewal cycle
  t0=$(date +%s.%N); kill -9 $B0
  while [ ! -e $T/port1 ]; do sleep 0.01; done
  t1=$(date +%s.%N)
  echo "{\"run\": $run, \"jobs_in_store\": 100000, \"etcd_members\": 3, \"kill9_to_serving_s\": $(echo "$t1 - $t0" | bc)}"
  kill $B1; wait $B1 $B0 2>/dev/null
done
rm -rf $T
