#!/usr/bin/env bash
# The reverse benchmark (issue 4): attention against no attention.
#   experiments/reverse/run.sh [CONFIG ...]     (default: every *.ini here)
# Generates the data (deterministic), trains each config, and prints test exact match.
set -euo pipefail
cd "$(dirname "$0")/../.."
scripts/build.sh >/dev/null
s2s=build/bin/s2s
[ -f data/reverse/test.tsv ] || "$s2s" generate --benchmark reverse --out-dir data/reverse
configs=("$@")
[ ${#configs[@]} -gt 0 ] || configs=(experiments/reverse/*.ini)
for config in "${configs[@]}"; do
  echo "== $config"
  /usr/bin/time -f "wall %e s" "$s2s" train --config "$config" --overwrite --quiet
  dir=$(sed -n 's/^output_dir *= *//p' "$config")
  echo "$(basename "$config" .ini): $(cat "$dir/test_metrics.json")"
done
