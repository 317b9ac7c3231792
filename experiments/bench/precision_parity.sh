#!/usr/bin/env bash
# Issue 18 item 3: the same config trained the same number of steps with fp32 and with bf16
# products (train.precision), both in fast mode (bf16 has no portable mode), dev WER compared.
#
#   [SEEDS="1 2 3"] experiments/bench/precision_parity.sh [NAME CONFIG STEPS]...
#   (default: quickstart experiments/g2p/quickstart.ini 2500 transformer
#    experiments/g2p/transformer_small.ini 3000; SEEDS default "1")
#
# Trains into runs/parity/NAME-PRECISION[-sSEED] (no test set; the seed suffix when SEEDS is
# set) and prints, per run, the last validation's dev PER/WER and the time per step, then per
# NAME and precision the mean and sd of dev WER over the seeds.
set -euo pipefail
cd "$(dirname "$0")/../.."
s2s=${S2S:-build/bin/s2s}
[ $# -gt 0 ] || set -- quickstart experiments/g2p/quickstart.ini 2500 \
                       transformer experiments/g2p/transformer_small.ini 3000
[ $(($# % 3)) -eq 0 ] || { echo "usage: precision_parity.sh [NAME CONFIG STEPS]..." >&2; exit 2; }
while [ $# -ge 3 ]; do
  name=$1 config=$2 steps=$3
  shift 3
  logs=()
  for precision in fp32 bf16; do
    for seed in ${SEEDS:-1}; do
      dir=runs/parity/$name-$precision${SEEDS:+-s$seed}
      "$s2s" train --config "$config" --overwrite --quiet --train.output_dir "$dir" \
        --train.max_steps "$steps" --train.reproducible fast --train.precision "$precision" \
        --train.seed "$seed" --data.test "" --data.test_tgt ""
      logs+=("$precision" "$seed" "$dir/train_log.jsonl")
    done
  done
  /usr/bin/python3 - "$name" "${logs[@]}" <<'PY'
import json, statistics, sys
name, rest = sys.argv[1], sys.argv[2:]
wer = {}
for precision, seed, path in zip(rest[0::3], rest[1::3], rest[2::3]):
    rows = [json.loads(line) for line in open(path)]
    dev = [r for r in rows if "dev_wer" in r][-1]
    wer.setdefault(precision, []).append(dev["dev_wer"])
    print(f"{name} {precision} seed {seed}: step {dev['step']} dev PER {dev['dev_per']:.2f} % "
          f"WER {dev['dev_wer']:.2f} %, {dev['elapsed_s'] / dev['step']:.3f} s a step, "
          f"{dev['elapsed_s']:.0f} s in all")
for precision, values in wer.items():
    sd = statistics.stdev(values) if len(values) > 1 else 0.0
    print(f"{name} {precision}: dev WER {statistics.mean(values):.2f} ± {sd:.2f} % "
          f"over {len(values)} seed(s)")
PY
done
