#!/usr/bin/env bash
# Issue 18 item 3: the same config trained the same number of steps with fp32 and with bf16
# products (train.precision), both in fast mode (bf16 has no portable mode), dev WER compared.
#
#   experiments/bench/precision_parity.sh [NAME CONFIG STEPS]...
#   (default: quickstart experiments/g2p/quickstart.ini 2500 transformer
#    experiments/g2p/transformer_small.ini 3000)
#
# Trains into runs/parity/NAME-{fp32,bf16} (no test set) and prints, per pair, the last
# validation's dev PER/WER of each precision and the time per step over the run.
set -euo pipefail
cd "$(dirname "$0")/../.."
s2s=${S2S:-build/bin/s2s}
[ $# -gt 0 ] || set -- quickstart experiments/g2p/quickstart.ini 2500 \
                       transformer experiments/g2p/transformer_small.ini 3000
while [ $# -ge 3 ]; do
  name=$1 config=$2 steps=$3
  shift 3
  for precision in fp32 bf16; do
    dir=runs/parity/$name-$precision
    "$s2s" train --config "$config" --overwrite --quiet --train.output_dir "$dir" \
      --train.max_steps "$steps" --train.reproducible fast --train.precision "$precision" \
      --data.test "" --data.test_tgt ""
    /usr/bin/python3 - "$name" "$precision" "$dir/train_log.jsonl" <<'PY'
import json, sys
name, precision, path = sys.argv[1:]
rows = [json.loads(line) for line in open(path)]
dev = [r for r in rows if "dev_wer" in r][-1]
print(f"{name} {precision}: step {dev['step']} dev PER {dev['dev_per']:.2f} % WER "
      f"{dev['dev_wer']:.2f} %, {dev['elapsed_s'] / dev['step']:.3f} s a step, "
      f"{dev['elapsed_s']:.0f} s in all")
PY
  done
done
