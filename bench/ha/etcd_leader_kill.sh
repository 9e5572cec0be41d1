#!/bin/bash
# One batond on bench/ha/etcd3.sh's cluster; kill -9 the etcd raft leader; seconds until a
# submit is acknowledged again, and whether batond kept its leadership. Brings the member
# back at the end. Usage: bench/ha/etcd_leader_kill.sh PREFIX
EP=127.0.0.1:24801,127.0.0.1:24802,127.0.0.1:24803
DIR=${ETCD_DIR:-/tmp/etcdbench}
T=$(mktemp -d)
P=$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')
./build/bin/batond --store etcd --etcd-endpoints $EP --etcd-prefix $1/ --listen 127.0.0.1:$P \
  --plaintext --http "" --port-file $T/port --admin-token-file $T/admin.token --agent-token-file $T/agent.token \
  > $T/b.log 2>&1 & B=$!
while [ ! -e $T/port ]; do sleep 0.01; done
export BATON_SERVER=127.0.0.1:$P
# A fresh prefix bootstraps its users and writes the admin token here (docs/security.md).
export BATON_TOKEN=$(cat $T/admin.token)
./build/bin/baton run -- true > /dev/null || echo "first submit failed"
L=$(ETCDCTL_API=3 etcdctl --endpoints $EP endpoint status -w json | python3 -c 'import json,sys; d=json.load(sys.stdin); print([x["Endpoint"] for x in d if x["Status"]["leader"]==x["Status"]["header"]["member_id"]][0])')
I=${L: -1}
t0=$(date +%s.%N); kill -9 $(cat $DIR/pid$I)
n=0; until ./build/bin/baton run -- true > /dev/null 2> $T/err; do n=$((n+1)); [ $n -gt 200 ] && break; done
t1=$(date +%s.%N)
echo "{\"killed_etcd_member\": \"$L\", \"kill9_to_submit_acked_s\": $(echo "$t1 - $t0" | bc), \"failed_submits_before\": $n, \"batond_still_leader\": $(kill -0 $B 2>/dev/null && echo true || echo false)}"
kill $B; wait $B
"$(dirname "$0")/etcd3.sh" restart $I
rm -rf $T
