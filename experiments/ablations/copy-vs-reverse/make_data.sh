#!/bin/bash
# The copy and reverse tasks side by side for experiments/ablations/copy-vs-reverse: the same
# token distributions and lengths as the length-robustness ablation (train 1-20 tokens, test
# 1-40), the reverse data shared with it (data/reverse-length), the copy data in data/copy-length.
#   experiments/ablations/copy-vs-reverse/make_data.sh [S2S_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../../.."
s2s=${1:-build/bin/s2s}
experiments/ablations/length-robustness/make_data.sh "$s2s"
out=data/copy-length
"$s2s" generate --task copy --out $out/train.tsv --count 30000 --seed 11 --min-len 1 --max-len 20
"$s2s" generate --task copy --out $out/dev.tsv --count 500 --seed 12 --min-len 1 --max-len 20
"$s2s" generate --task copy --out $out/test.tsv --count 2000 --seed 13 --min-len 1 --max-len 40
echo "copy-vs-reverse: wrote $out/{train,dev,test}.tsv"
