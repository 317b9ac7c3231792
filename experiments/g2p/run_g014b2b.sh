#!/usr/bin/env bash
# Attention against no attention on the standard G2P split (issue 4).
#   experiments/g2p/run_g014b2b.sh [SHARED_DATA_DIR]   (default ../shared/data/cmudict-g014b2b)
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh >/dev/null
data/cmudict/prepare_standard.sh "${1:-../shared/data/cmudict-g014b2b}" >/dev/null
for config in experiments/g2p/g014b2b_none_gru.ini experiments/g2p/g014b2b_bahdanau_gru.ini; do
  echo "== $config"
  /usr/bin/time -f "wall %e s" build/bin/s2s train --config "$config" --overwrite --quiet
  dir=$(sed -n 's/^output_dir *= *//p' "$config")
  echo "$(basename "$config" .ini): $(cat "$dir/test_metrics.json")"
done
