#!/usr/bin/env bash
# Exp. 1 (3x2, lr 0.5, the paper's protocol of 3 data pairs x 10) under readings of the paper
# that the main rows do not use (issue 11, point 4). Each writes results/exp1_reber_3x2_lr0.5_*.json.
set -u
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
X=".venv/bin/python -m minilstm.experiments exp1_reber --trials 30 --budget 20000 --set net=\"3x2\" --set lr=0.5 --set data_sets=3 --quiet"
echo "== $(date -u +%H:%M:%S) success checked after every 10 steps (about every string)"
$X --set check_every_steps=10 --time-limit 2400 --out results/exp1_reber_3x2_lr0.5_check10.json
echo "== $(date -u +%H:%M:%S) one-hot targets: the actual next symbol"
$X --set target="\"next\"" --time-limit 1200 --out results/exp1_reber_3x2_lr0.5_next.json
echo "== $(date -u +%H:%M:%S) done"
