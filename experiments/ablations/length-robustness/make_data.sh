#!/usr/bin/env bash
# Data of the length-robustness ablation: the reverse task (tokens 0-49) trained on sequences
# of 1-20 tokens and tested on 1-40, so that half of the test set is longer than anything seen
# in training. Deterministic: the same files on every machine.
#   experiments/ablations/length-robustness/make_data.sh [S2S_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../../.."
s2s=${1:-build/bin/s2s}
out=data/reverse-length
"$s2s" generate --task reverse --out $out/train.tsv --count 30000 --seed 11 --min-len 1 --max-len 20
"$s2s" generate --task reverse --out $out/dev.tsv --count 500 --seed 12 --min-len 1 --max-len 20
"$s2s" generate --task reverse --out $out/test.tsv --count 2000 --seed 13 --min-len 1 --max-len 40
echo "length-robustness: wrote $out/{train,dev,test}.tsv"
