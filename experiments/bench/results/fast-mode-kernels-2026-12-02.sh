#!/bin/bash
# fast-mode training time, Haswell kernels (this workplace's environment) against OpenBLAS's own choice
# Run on an idle machine: experiments/bench/results/fast-mode-kernels-2026-12-02.sh (the .txt beside it is its output)
cd "$(dirname "$0")/../../.."
BIN=${BIN:-build/bin/s2s}
mkdir -p /tmp/speed
run() { # label core args...
  local label=$1 core=$2; shift 2
  if [ "$core" = own ]; then env -u OPENBLAS_CORETYPE $BIN train "$@" --train.output_dir /tmp/speed/$label-$core --overwrite --quiet --train.reproducible fast
  else OPENBLAS_CORETYPE=$core $BIN train "$@" --train.output_dir /tmp/speed/$label-$core --overwrite --quiet --train.reproducible fast; fi
  python3 -c "
import json,sys
L=[json.loads(l) for l in open('/tmp/speed/$label-$core/train_log.jsonl')]
print('$label', '$core', L[0]['provenance']['blas_core'], L[-1]['step'], L[-1]['elapsed_s'])"
}
for rep in 1 2; do
for core in Haswell own; do
  run quickstart $core --config experiments/g2p/quickstart.ini --train.max_steps 600 --train.valid_every 0 --data.test "" --data.test_tgt ""
  run best_lstm $core --config experiments/g2p/best_lstm.ini --train.max_steps 400 --train.valid_every 0 --train.workers 2 --train.threads 1 --data.test "" --data.test_tgt ""
  run transformer $core --config experiments/g2p/transformer_small.ini --train.max_steps 100 --train.valid_every 0 --data.test "" --data.test_tgt ""
done
done
