#!/bin/bash
# The data of experiments/ablations/copy-unseen: the copy and the reverse task over 200 token
# types (lengths 1-10), of which the vocabulary keeps the 50 most frequent (data.max_vocab in
# base.ini): three in four token types are outside it in training, as rare words are in See et
# al.'s summarisation data. The test sets draw from 300 types, so a third of their types never
# occur in training at all: only copying can produce those.
#   experiments/ablations/copy-unseen/make_data.sh [S2S_BINARY]
set -euo pipefail
cd "$(dirname "$0")/../../.."
s2s=${1:-build/bin/s2s}
for task in copy reverse; do
  out=data/$task-unseen
  "$s2s" generate --task $task --out $out/train.tsv --count 20000 --seed 21 --max-len 10 --max-token 199
  "$s2s" generate --task $task --out $out/dev.tsv --count 500 --seed 22 --max-len 10 --max-token 199
  "$s2s" generate --task $task --out $out/test.tsv --count 1000 --seed 23 --max-len 10 --max-token 299
done
echo "copy-unseen: wrote data/{copy,reverse}-unseen/{train,dev,test}.tsv"
