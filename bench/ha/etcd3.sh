#!/bin/bash
# Starts (start) or stops (stop) a 3-member etcd on 127.0.0.1 for the HA measurements in
# bench/results/ha_failover.md: client ports 24801-24803, peer ports 24811-24813, data and
# PIDs under ${ETCD_DIR:-/tmp/etcdbench}. `restart I` brings member I (1-3) back.
set -e
DIR=${ETCD_DIR:-/tmp/etcdbench}
IC="c1=http://127.0.0.1:24811,c2=http://127.0.0.1:24812,c3=http://127.0.0.1:24813"
member() {  # member I new|existing
  etcd --name c$1 --data-dir $DIR/c$1 \
    --listen-client-urls http://127.0.0.1:2480$1 --advertise-client-urls http://127.0.0.1:2480$1 \
    --listen-peer-urls http://127.0.0.1:2481$1 --initial-advertise-peer-urls http://127.0.0.1:2481$1 \
    --initial-cluster $IC --initial-cluster-state $2 --initial-cluster-token bench \
    --logger zap --log-level warn >> $DIR/c$1.log 2>&1 &
  echo $! > $DIR/pid$1
}
case "$1" in
  start) rm -rf $DIR; mkdir -p $DIR; for i in 1 2 3; do member $i new; done
         until ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:24801 endpoint health >/dev/null 2>&1; do sleep 0.1; done ;;
  restart) member $2 existing
         until ETCDCTL_API=3 etcdctl --endpoints 127.0.0.1:2480$2 endpoint health >/dev/null 2>&1; do sleep 0.1; done ;;
  stop) for i in 1 2 3; do kill $(cat $DIR/pid$i) 2>/dev/null || true; done ;;
esac
