#!/usr/bin/env bash
# The matrix products of the benchmark models, timed on each GEMM backend (issue 18, item 1).
# For each model of experiments/bench/run.sh: bench_train exports BATCHES CMUdict batches, runs
# them once (training; then greedy and beam-5 decoding) under the gemm_trace shim, which records
# the shape of every sgemm/sgemv call, and bench_gemm_shapes times those shapes on OpenBLAS,
# libxsmm, oneDNN's sgemm and oneDNN's matmul with the weight operand packed once, and (on a CPU
# with AVX512_BF16) oneDNN's bf16 matmul with f32 accumulation, operands converted per call or the
# weight packed once. One thread; run it on an otherwise idle machine. The openblas column runs
# the kernels of OPENBLAS_CORETYPE when it is set (the header's core=), else OpenBLAS's own choice.
#   experiments/bench/gemm_shapes.sh          -> experiments/bench/results/gemm-shapes-DATE.txt
# Needs Debian's libxsmm-dev and libdnnl-dev: installed here when missing
# (S2S_WITH_GEMM_BACKENDS=1 scripts/install-deps.sh), before the build.
set -euo pipefail
cd "$(dirname "$0")/../.."
BIN=${BENCH_BIN:-build/bin}
TRACE_LIB=${TRACE_LIB:-build/experiments/bench/libgemm_trace.so}
BATCHES=${BATCHES:-4}
MODELS=${MODELS:-"gru-bahdanau lstm-luong transformer"}
OUT=experiments/bench/results/gemm-shapes-${BENCH_NAME:-$(date +%Y-%m-%d)}.txt
WORK=runs/bench/gemm-shapes
S2S_WITH_GEMM_BACKENDS=1 scripts/install-deps.sh >&2
[ -n "${BENCH_BIN:-}" ] || scripts/build.sh --target bench_train bench_gemm_shapes gemm_trace >/dev/null
for f in "$BIN/bench_train" "$BIN/bench_gemm_shapes" "$TRACE_LIB"; do
  [ -e "$f" ] || { echo "gemm_shapes: $f is missing (libxsmm-dev and libdnnl-dev installed?)" >&2; exit 1; }
done
[ -f data/cmudict/train.tsv ] || data/cmudict/fetch.sh
cores=$(nproc)  # before OMP_NUM_THREADS=1, which nproc obeys
export OPENBLAS_NUM_THREADS=1 OMP_NUM_THREADS=1
mkdir -p "$WORK" "$(dirname "$OUT")"
{
  echo "# GEMM backends on the products of the benchmark models ($(date -u +%FT%TZ))"
  echo "# $("$BIN/s2s" --version | tr "\n" " ")"
  echo "# $(git rev-parse --short HEAD); $BATCHES CMUdict batches of 64; $cores cores; one thread"
  for model in $MODELS; do
    "$BIN/bench_train" --export "$WORK/$model" --model "$model" --data data/cmudict/train.tsv \
      --batches "$BATCHES" --pretrain 0 >/dev/null
    for phase in train decode; do
      flags=(--no-decode)
      [ $phase = decode ] && flags=(--no-train --beams 1,5)
      LD_PRELOAD=$PWD/$TRACE_LIB GEMM_TRACE_OUT=$WORK/$model-$phase.trace \
        "$BIN/bench_train" --from "$WORK/$model" --threads 1 "${flags[@]}" >/dev/null
      echo
      echo "## $model, $phase ($BATCHES batches)"
      "$BIN/bench_gemm_shapes" "$WORK/$model-$phase.trace" --top 12
    done
  done
} | tee "$OUT"
echo "gemm_shapes: wrote $OUT" >&2
