#!/usr/bin/env bash
# Multi-process scaling on this machine (issue 8), printed as a small Markdown-ready report:
#   1. training tokens/s of the G2P quickstart model (experiments/g2p/quickstart.ini: BiGRU 256 +
#      Bahdanau, global batch 64) with 1 and 2 MPI ranks, one BLAS thread each; tokens are the
#      target tokens of the global batch, the mean of the log's tokens_per_s after the first line
#   2. the time of one all-reduce against the buffer size (bench_allreduce, 2 ranks)
#
#   experiments/bench/mpi_scaling.sh              (about 2 minutes on 2 idle cores)
#   STEPS=50 experiments/bench/mpi_scaling.sh     a quick check
# Needs an MPI build (S2S_WITH_MPI, the default when libopenmpi-dev is installed) in BIN.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BENCH_BIN:-build/bin}  # BENCH_BIN=DIR: binaries already built there
STEPS=${STEPS:-200}
DATA=data/cmudict/train.tsv
WORK=runs/bench/mpi_scaling
[ -n "${BENCH_BIN:-}" ] || scripts/build.sh --target s2s_cli bench_allreduce >/dev/null
[ -f "$DATA" ] || data/cmudict/fetch.sh
command -v mpirun >/dev/null || { echo "mpi_scaling: mpirun not found (apt-get install openmpi-bin)" >&2; exit 1; }
"$BIN/s2s" version | grep -q "MPI: yes" || { echo "mpi_scaling: $BIN/s2s was built without MPI" >&2; exit 1; }
export OPENBLAS_NUM_THREADS=1
# Open MPI refuses root without these; --oversubscribe lets 2 ranks share fewer free slots.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
MPIRUN=(mpirun --oversubscribe --bind-to none)
mkdir -p "$WORK"
# The quickstart config without its dev set: the timed steps only, no validation decoding.
sed '/^dev/d' experiments/g2p/quickstart.ini > "$WORK/quickstart_nodev.ini"

echo "machine: $(nproc) cores; $(uptime | sed 's/.*\(load average\)/\1/')"
echo
echo "| ranks | global batch | steps | tokens/s | speed-up |"
echo "|---|---|---|---|---|"
base=""
for ranks in 1 2; do
  dir=$WORK/np$ranks
  "${MPIRUN[@]}" -np "$ranks" "$BIN/s2s" train --config "$WORK/quickstart_nodev.ini" --quiet \
    --overwrite --train.output_dir "$dir" --train.max_steps "$STEPS" --train.threads 1 \
    --train.log_every 10
  rate=$(grep -v dev_loss "$dir/train_log.jsonl" | tail -n +2 |
         sed 's/.*"tokens_per_s":\([0-9.]*\).*/\1/' |
         awk '{ s += $1; n++ } END { if (n) printf "%.0f", s / n }')
  [ -n "$base" ] || base=$rate
  echo "| $ranks | 64 | $STEPS | $rate | $(awk -v a="$rate" -v b="$base" 'BEGIN { printf "%.2f", a / b }') |"
done
echo
echo "parameters: $(sed 's/.*"parameters": \([0-9]*\).*/\1/' "$WORK/np1/model.json" 2>/dev/null || echo '?')"
echo
"${MPIRUN[@]}" -np 2 "$BIN/bench_allreduce"
echo "after: $(uptime | sed 's/.*\(load average\)/\1/')"
