#!/usr/bin/env bash
# The whole full-table matrix (issue 5), in the order the targets need it, as root:
#   benchmarks/fullfeed-all.sh              # everything (about 1-2 hours on a 2-CPU VM)
#   benchmarks/fullfeed-all.sh quick        # 100k announce + small receive/peers/churn
# Each step writes benchmarks/results/fullfeed-*.json and rewrites the "Full table" section of
# docs/performance.md. Extra arguments after the mode go to every announce step.
set -euo pipefail
cd "$(dirname "$0")/.."
py=${PYTHON:-.venv/bin/python}
mode=${1:-all}
shift || true
ff() { "$py" -m benchmarks.fullfeed "$@"; }
if [[ $mode == quick ]]; then
    ff announce --family ipv4 --n 100000 "$@"
    ff receive --n 100000
    ff peers --n 100 --steady 20
    ff churn --n 100000 --seconds 20
    exit 0
fi
ff announce --family ipv4 --n 100000 "$@"
ff announce --family ipv4 --n 1000000 --frr-modes fib,nofib "$@"
ff announce --family ipv6 --n 250000 "$@"
ff receive --n 1000000
ff peers --n 500 --steady 60
ff churn --n 1000000 --fraction 0.01 --seconds 60
