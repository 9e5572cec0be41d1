#!/bin/sh
# The Gavel-style workload on examples/clusters/gavel-108.yaml (36 V100 + 36 P100 + 36 K80)
# across arrival rates: heterogeneity-aware policies against agnostic ones. Prints one
# JSON object per (rate, seed, policy), with "rate" and "seed" added in front.
#
#   bench/gavel_sim.sh > bench/results/gavel_sim.jsonl
#
# Settings (environment): BATON (binary), TP (throughput file), RATES (jobs/hour), SEEDS,
# JOBS (jobs generated per run), WINDOW (--measure-jobs A:B), POLICIES, THREADS.
set -eu
BATON=${BATON:-./build/bin/baton}
TP=${TP:-../shared/data/gavel/isolated_throughputs.csv}
RATES=${RATES:-"0.5 1 1.5 2 2.5"}
SEEDS=${SEEDS:-"1 2"}
JOBS=${JOBS:-600}
WINDOW=${WINDOW:-200:400}
POLICIES=${POLICIES:-hetero-las,agnostic-las,las,hetero-fifo,fifo}
THREADS=${THREADS:-2}
for rate in $RATES; do
  for seed in $SEEDS; do
    "$BATON" sim --cluster examples/clusters/gavel-108.yaml --workload gavel --rate "$rate" \
      --jobs "$JOBS" --seed "$seed" --throughputs "$TP" --policy "$POLICIES" \
      --measure-jobs "$WINDOW" --format json --quiet --threads "$THREADS" |
      sed "s/^{/{\"rate\":$rate,\"seed\":$seed,/"
  done
done
