#!/usr/bin/env bash
# The 1997 paper's experiments with its own rule (issue 11): two queues, one per core.
# Usage: results/run_1997.sh A   (or B, or C); each run writes results/NAME.json as it lands.
# As run on 5 Dec 2026: queues A, B and C at once, with results/run_exp1_readings.sh and the
# longer Exp. 4 run (queue D) beside them, on 2 cores.
set -u
cd "$(dirname "$0")/.."
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
X=".venv/bin/python -m minilstm.experiments"
run() { echo "== $(date -u +%H:%M:%S) $*"; $X "$@" --quiet; }
queue="${1:?queue A, B, C or D}"
case "$queue" in
A)
  run exp4_adding --trials 10 --budget 150000 --time-limit 1800 --out results/exp4_adding.json
  run exp5_multiplication --trials 10 --budget 1000000 --time-limit 4200 --out results/exp5_multiplication.json
  run exp2a_long_lag --trials 18 --budget 30000 --time-limit 1800 --out results/exp2a_long_lag.json
  ;;
B)
  for row in "3x2 0.5 20000" "3x2 0.2 30000" "3x2 0.1 45000" "4x1 0.5 20000" "4x1 0.1 80000"; do
    set -- $row
    run exp1_reber --trials 30 --budget "$3" --set net="\"$1\"" --set lr="$2" --set data_sets=3 \
      --time-limit 1800 --out "results/exp1_reber_${1}_lr${2}.json"
  done
  run exp6a_temporal_order --trials 20 --budget 70000 --time-limit 1800 --out results/exp6a_temporal_order.json
  for v in 3a 3b 3c; do
    run exp${v}_two_sequence --trials 10 --budget 60000 --time-limit 1200 --out results/exp${v}_two_sequence.json
  done
  run exp2c_very_long_lag --trials 20 --budget 80000 --time-limit 1200 --out results/exp2c_very_long_lag.json
  run exp2c_very_long_lag --trials 20 --budget 80000 --set 'qp=[100,100]' --time-limit 1200 --out results/exp2c_very_long_lag_q100_p100.json
  ;;
C)  # moved out of queue B so that they started earlier
  run exp2b_long_lag_random --trials 10 --budget 30000 --time-limit 1500 --out results/exp2b_long_lag_random.json
  run exp6b_temporal_order --trials 10 --budget 1200000 --time-limit 3600 --out results/exp6b_temporal_order.json
  ;;
D)  # Exp. 4 for longer, with every trial's final weights (read by chapter 5)
  run exp4_adding --trials 10 --budget 400000 --time-limit 3600 --out results/exp4_adding_budget400k.json \
    --save-params results/exp4_adding_budget400k.npz
  ;;
esac
echo "== $(date -u +%H:%M:%S) queue $queue done"
