#!/usr/bin/env bash
# s2s vs PyTorch on the issue-6 models, same data, same batches, same weights (issue 6).
#
#   experiments/bench/run.sh            the full run (REPEATS=2: 46 minutes on this 2-core machine)
#   BATCHES=4 PRETRAIN=20 SWEEP_BATCHES=1 experiments/bench/run.sh     a quick check
#
# Builds bench_train and bench_sgemm (scripts/build.sh), fetches CMUdict if needed, then:
#   1. sgemm n=1024 GFLOP/s at 1 and 2 threads (the machine's peak)
#   2. per model: bench_train --export DIR (batches + weights after PRETRAIN untimed steps), then
#      bench_train --from at each setting of S2S_SETTINGS and bench_torch.py --from at each of
#      TORCH_SETTINGS; at one thread also beam widths 2 and 10 (the "cost against beam width"
#      table). Settings (each side gets its best; the table names it):
#        s2s      N   N OpenBLAS threads          Nw  N worker threads, 1 BLAS thread each
#        PyTorch  N   N ATen and N BLAS threads   A+B A ATen (torch.set_num_threads), B BLAS
#   3. synthetic batches of source (and target) length 10, 20, 50, 100: training tokens/s of
#      gru-bahdanau and transformer, 1 thread
#   4. report.py: the Markdown table, printed and written to experiments/bench/results/NAME.md
#      (the raw JSON lines next to it, NAME.jsonl); NAME = BENCH_NAME, default the date
# PRECISIONS: "fp32 bf16" (the default on a CPU with AVX512_BF16, else "fp32") measures each
# setting of both sides again with bf16 products: s2s --precision bf16 (train.precision = bf16),
# PyTorch under torch.autocast("cpu", dtype=torch.bfloat16). The report keeps fp32 against fp32 as
# its headline and adds the bf16 rows. The length sweep stays fp32.
# REPEATS=N measures every setting N times, the two sides taking turns, and the report keeps each
# side's best: on shared cores a slow spell then costs a repeat, not the comparison.
# OPENBLAS_CORETYPE is left as the environment gives it; PyTorch is /usr/bin/python3 (Debian's
# python3-torch, on the same OpenBLAS).
set -euo pipefail
cd "$(dirname "$0")/../.."

BATCHES=${BATCHES:-100}
PRETRAIN=${PRETRAIN:-300}
SWEEP_BATCHES=${SWEEP_BATCHES:-5}
S2S_SETTINGS=${S2S_SETTINGS:-"1 2 2w"}
TORCH_SETTINGS=${TORCH_SETTINGS:-"1 2 1+2 2+1"}
MODELS=${MODELS:-"gru-bahdanau lstm-luong transformer"}
SWEEP_MODELS=${SWEEP_MODELS-"gru-bahdanau transformer"}  # empty: no sweep
SWEEP_LENGTHS=${SWEEP_LENGTHS:-"10 20 50 100"}
DATA=data/cmudict/train.tsv
PY=/usr/bin/python3
BIN=${BENCH_BIN:-build/bin}  # BENCH_BIN=DIR: use binaries already built there, skip the build
DATE=$(date +%Y-%m-%d)
NAME=${BENCH_NAME:-$DATE}  # results/NAME.md and .jsonl (an existing pair is never overwritten)
REPEATS=${REPEATS:-1}      # measure every setting this many times; the report keeps the best
if grep -qw avx512_bf16 /proc/cpuinfo; then
  PRECISIONS=${PRECISIONS:-"fp32 bf16"}
else
  PRECISIONS=${PRECISIONS:-fp32}
fi
WORK=runs/bench/$NAME
RESULTS=experiments/bench/results
RAW=$WORK/raw.jsonl

if [ -e "$RESULTS/$NAME.md" ] || [ -e "$RESULTS/$NAME.jsonl" ]; then
  echo "bench: $RESULTS/$NAME.md exists; set BENCH_NAME to another name" >&2
  exit 2
fi
# The PyTorch side needs Debian's python3-torch and python3-numpy: installed here when missing
# (scripts/install-deps.sh with S2S_WITH_PYTORCH=1), or one line saying how.
if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
  S2S_WITH_PYTORCH=1 scripts/install-deps.sh >&2 || true
  if ! "$PY" -c "import torch, numpy" 2>/dev/null; then
    echo "bench: $PY cannot import torch and numpy; install them with" \
         "S2S_WITH_PYTORCH=1 scripts/install-deps.sh (Debian's python3-torch, python3-numpy)" >&2
    exit 1
  fi
fi
[ -n "${BENCH_BIN:-}" ] || scripts/build.sh --target bench_train bench_sgemm >/dev/null
[ -f "$DATA" ] || data/cmudict/fetch.sh
mkdir -p "$WORK" "$RESULTS"
: > "$RAW"

load_average() { cut -d' ' -f1-3 /proc/loadavg; }
LOAD_START=$(load_average)
GIT=$(git describe --always --dirty)  # what the binaries were built from
echo "bench: load average $LOAD_START; OPENBLAS_CORETYPE=${OPENBLAS_CORETYPE:-unset}" >&2

# Runs a benchmark command with OpenBLAS and OpenMP thread counts B and A, appending its JSON
# lines to the raw file.
measure() {
  local blas=$1 aten=$2; shift 2
  OPENBLAS_NUM_THREADS=$blas OMP_NUM_THREADS=$aten "$@" | tee -a "$RAW" >&2
}

# A setting's flags: s2s "2" -> --threads 2, "2w" -> --workers 2; PyTorch "2" -> --threads 2,
# "1+2" -> --threads 1 --blas-threads 2. total_threads: the cores it keeps busy.
s2s_flags() { case $1 in *w) echo "--workers ${1%w}" ;; *) echo "--threads $1" ;; esac; }
torch_flags() { case $1 in *+*) echo "--threads ${1%+*} --blas-threads ${1#*+}" ;; *) echo "--threads $1" ;; esac; }
total_threads() { local s=${1%w}; case $s in *+*) a=${s%+*}; b=${s#*+}; echo $((a > b ? a : b)) ;; *) echo "$s" ;; esac; }
beams_for() { [ "$(total_threads "$1")" = 1 ] && echo 1,2,5,10 || echo 1,5; }

"$BIN/bench_sgemm" --threads 1,2 | tee -a "$RAW" >&2
TORCH_INFO=$($PY experiments/bench/bench_torch.py --from . --info)
echo "$TORCH_INFO" >&2

# Exports DIR for a model; returns 1 (and records why) when s2s does not have the model.
export_model() {
  local status=0
  "$BIN/bench_train" --export "$@" --threads 2 | tee -a "$RAW" >&2 || status=$?
  [ "$status" -eq 0 ] && return 0
  [ "$status" -eq 3 ] && return 1  # the "unavailable" line is in the raw file
  echo "bench: bench_train --export $* failed ($status)" >&2
  exit "$status"
}

for model in $MODELS; do
  dir=$WORK/$model
  export_model "$dir" --model "$model" --data "$DATA" --batches "$BATCHES" \
    --pretrain "$PRETRAIN" || continue
  for _ in $(seq "$REPEATS"); do  # the two sides alternate, so slow spells hit both
    for precision in $PRECISIONS; do
      for setting in $S2S_SETTINGS; do
        # shellcheck disable=SC2046
        measure "$(total_threads "$setting")" 1 "$BIN/bench_train" --from "$dir" \
          $(s2s_flags "$setting") --beams "$(beams_for "$setting")" --precision "$precision"
      done
      for setting in $TORCH_SETTINGS; do
        aten=${setting%+*}
        # shellcheck disable=SC2046
        measure "$(total_threads "$setting")" "$aten" $PY experiments/bench/bench_torch.py \
          --from "$dir" $(torch_flags "$setting") --beams "$(beams_for "$setting")" \
          --pretrain-if-unloaded "$PRETRAIN" --precision "$precision"
      done
    done
  done
done

for model in $SWEEP_MODELS; do
  for len in $SWEEP_LENGTHS; do
    dir=$WORK/$model-len$len
    export_model "$dir" --model "$model" --src-len "$len" --batches "$SWEEP_BATCHES" || continue
    for _ in $(seq "$REPEATS"); do
      measure 1 1 "$BIN/bench_train" --from "$dir" --threads 1 --no-decode
      measure 1 1 $PY experiments/bench/bench_torch.py --from "$dir" --threads 1 --no-decode
    done
  done
done

LOAD_END=$(load_average)
$PY - "$RAW" <<EOF
import json, sys
torch_info = json.loads('''$TORCH_INFO''')
header = {"event": "header", "date": "$DATE", "load_start": "$LOAD_START", "load_end": "$LOAD_END",
          "cpu": "$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)",
          "cores": "$(nproc)", "openblas_coretype": "${OPENBLAS_CORETYPE:-unset}",
          "s2s_blas": "OpenBLAS via Armadillo, core " + next(
              (json.loads(l)["core"] for l in open(sys.argv[1]) if '"sgemm_gflops"' in l), "?"),
          "torch": torch_info["torch"], "torch_blas": torch_info["blas_info"],
          "torch_openblas": torch_info.get("openblas_config", "?"),
          "batches": "$BATCHES", "batch_size": "64", "data": "$DATA", "pretrain": "$PRETRAIN",
          "s2s_settings": "$S2S_SETTINGS", "torch_settings": "$TORCH_SETTINGS",
          "repeats": "$REPEATS", "precisions": "$PRECISIONS", "git": "$GIT"}
with open(sys.argv[1], "a") as f:
    f.write(json.dumps(header) + "\n")
EOF
cp "$RAW" "$RESULTS/$NAME.jsonl"
$PY experiments/bench/report.py "$RAW" | tee "$RESULTS/$NAME.md"
