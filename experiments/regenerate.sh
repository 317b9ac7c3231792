#!/usr/bin/env bash
# Reruns a fast subset of the README's results in portable mode (README, Reproducibility) and
# compares them bit for bit with the references committed in experiments/reference/NAME/:
#   quickstart         experiments/g2p/quickstart.ini, then its dev-set evaluation   (~2 min)
#   reverse-none       experiments/reverse/none_gru.ini                              (~3 min)
#   reverse-bahdanau   experiments/reverse/bahdanau_gru.ini                          (~3 min)
#   reverse-luong      experiments/reverse/luong_general_lstm.ini                    (~4 min)
#   g2p-short          experiments/g2p/g014b2b_bahdanau_gru.ini, 1,000 steps, on g014b2b (~2 min)
# (times on 2 cores). Each reference holds:
#   command.txt        the command that made it, and config.ini, the config it resolved to
#   provenance.json    where it ran (the log's first line; shown, not compared)
#   log.jsonl          train_log.jsonl without that line and without timings
#   digests.txt        sha256 of best.ckpt, and of last.ckpt with its wall-clock field masked
#                      (scripts/ckpt_digest.py)
#   *_metrics.json, *_hyps.txt, by_length.txt   the scores and outputs the README quotes
#
# usage: experiments/regenerate.sh [--update] [NAME ...]     (default: all of them)
#   --update   rewrite the references from this run instead of comparing (after a change that
#              is meant to change results; say so in the commit)
# Environment: S2S_G2P_DATA  folder with g014b2b.train and g014b2b.ref
#                            (default ../shared/data/cmudict-g014b2b)
# Exits 0 when every file matches, 1 when any differs (each difference is named), 2 on misuse.
set -euo pipefail
cd "$(dirname "$0")/.."

all=(quickstart reverse-none reverse-bahdanau reverse-luong g2p-short)
update=0
names=()
for arg in "$@"; do
  case "$arg" in
    --update) update=1 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    -*) echo "regenerate: unknown option $arg" >&2; exit 2 ;;
    *) [[ " ${all[*]} " == *" $arg "* ]] ||
         { echo "regenerate: unknown result '$arg' (known: ${all[*]})" >&2; exit 2; }
       names+=("$arg") ;;
  esac
done
[ ${#names[@]} -gt 0 ] || names=("${all[@]}")

scripts/build.sh >/dev/null
s2s=build/bin/s2s
runs=runs/regenerate
mkdir -p "$runs"

# Exact match of test_hyps.txt against the test set's targets, by source length 1-20/21-25/26-30.
exact_by_length() {  # TEST_TSV HYPS
  paste "$1" "$2" | awk -F'\t' '
    { n = split($1, w, " "); b = n <= 20 ? "1-20" : n <= 25 ? "21-25" : "26-30"
      total[b]++; if ($2 == $3) ok[b]++ }
    END { for (b in total) printf "%s %d/%d %.1f %%\n", b, ok[b], total[b], 100 * ok[b] / total[b] }' |
    sort -n
}

# NAME DIR: writes the comparable files of the run in DIR into $runs/NAME.out/.
collect() {
  local name=$1 dir=$2 out="$runs/$1.out"
  rm -rf "$out"
  mkdir -p "$out"
  head -n 1 "$dir/train_log.jsonl" > "$out/provenance.json"
  tail -n +2 "$dir/train_log.jsonl" |
    sed -E 's/,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*//g' > "$out/log.jsonl"
  {
    echo "best.ckpt $(sha256sum < "$dir/best.ckpt" | cut -d' ' -f1)"
    echo "last.ckpt $(scripts/ckpt_digest.py "$dir/last.ckpt" | cut -d' ' -f1)"
  } > "$out/digests.txt"
  for f in config.ini test_metrics.json test_hyps.txt; do
    [ -f "$dir/$f" ] && cp "$dir/$f" "$out/$f"
  done
  return 0
}

# NAME COMMAND...: runs the training command, recording it.
train() {
  local name=$1
  shift
  echo "== $name: $*"
  "$@" --train.output_dir "$runs/$name" --train.reproducible portable --overwrite --quiet \
    > "$runs/$name.stdout"
  collect "$name" "$runs/$name"
  echo "$* --train.output_dir DIR --train.reproducible portable" > "$runs/$name.out/command.txt"
}

run_one() {
  case "$1" in
    quickstart)
      data/cmudict/fetch.sh >/dev/null
      train quickstart "$s2s" train --config experiments/g2p/quickstart.ini
      "$s2s" evaluate --model "$runs/quickstart" --src data/cmudict/dev.tsv \
        --ref data/cmudict/dev.ref --json > "$runs/quickstart.out/dev_metrics.json"
      "$s2s" evaluate --model "$runs/quickstart" --src data/cmudict/dev.tsv \
        --ref data/cmudict/dev.ref --output "$runs/quickstart.out/dev_hyps.txt" > /dev/null
      ;;
    reverse-*)
      [ -f data/reverse/test.tsv ] || "$s2s" generate --benchmark reverse --out-dir data/reverse
      local config
      case "$1" in
        reverse-none) config=none_gru ;;
        reverse-bahdanau) config=bahdanau_gru ;;
        reverse-luong) config=luong_general_lstm ;;
      esac
      train "$1" "$s2s" train --config "experiments/reverse/$config.ini"
      exact_by_length data/reverse/test.tsv "$runs/$1/test_hyps.txt" > "$runs/$1.out/by_length.txt"
      ;;
    g2p-short)
      data/cmudict/prepare_standard.sh "${S2S_G2P_DATA:-../shared/data/cmudict-g014b2b}" >/dev/null
      train g2p-short "$s2s" train --config experiments/g2p/g014b2b_bahdanau_gru.ini \
        --train.max_steps 1000 --train.valid_every 500 --train.workers 2
      ;;
  esac
}

status=0
for name in "${names[@]}"; do
  run_one "$name"
  out="$runs/$name.out" ref="experiments/reference/$name"
  if [ "$update" = 1 ]; then
    rm -rf "$ref"
    mkdir -p "$ref"
    cp "$out"/* "$ref"/
    echo "   $ref updated: $(cat "$ref/test_metrics.json" "$ref/dev_metrics.json" 2>/dev/null | head -n 1)"
    continue
  fi
  [ -d "$ref" ] || { echo "   $name: no reference in $ref (run with --update first)"; status=1; continue; }
  for f in "$ref"/*; do
    file=$(basename "$f")
    case "$file" in provenance.json|command.txt) continue ;; esac
    if cmp -s "$f" "$out/$file"; then
      echo "   same       $file"
    else
      echo "   DIFFERENT  $file  (diff $f $out/$file)"
      status=1
    fi
  done
done
[ "$update" = 1 ] || { [ $status = 0 ] && echo "regenerate: every result is bit-identical to its reference" ||
                       echo "regenerate: some results differ from their references"; }
exit $status
