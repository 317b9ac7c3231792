#!/bin/sh
# Copies what a finished g014b2b run needs to be rescored and cited into
# experiments/g2p/results/NAME/, and checks that its test hypotheses rescore to its metrics:
#
#   experiments/g2p/collect_result.sh RUN_DIR NAME "COMMAND THAT TRAINED IT"
#
# Files: config.ini, model.json, train_log.jsonl, test_hyps.txt (test-set order),
# test_metrics.json, command.txt, time_to_quality.md (experiments/time_to_quality.py), and
# average_test_* when RUN_DIR has them. Exit 1, with one line, on a missing file or when
# `s2s score` of test_hyps.txt does not give the run's PER and WER.
set -eu
cd "$(dirname "$0")/../.."
if [ $# -ne 3 ]; then
  echo "usage: experiments/g2p/collect_result.sh RUN_DIR NAME COMMAND" >&2
  exit 2
fi
run=$1 name=$2 command=$3
case $name in
  ''|.*|*/*) echo "collect_result: NAME '$name': one directory name, not a path" >&2; exit 2 ;;
esac
s2s=${S2S:-build/bin/s2s}
out=experiments/g2p/results/$name
for f in config.ini model.json train_log.jsonl test_hyps.txt test_metrics.json; do
  [ -f "$run/$f" ] || { echo "collect_result: $run/$f: missing (has the run finished?)" >&2; exit 1; }
done
mkdir -p "$out"
for f in config.ini model.json train_log.jsonl test_hyps.txt test_metrics.json \
         average_test_hyps.txt average_test_metrics.json; do
  [ -f "$run/$f" ] && cp "$run/$f" "$out/$f"
done
printf '%s\n' "$command" > "$out/command.txt"
python3 experiments/time_to_quality.py "$run" > "$out/time_to_quality.md"
# Rescoring: s2s score on the committed hypotheses gives the committed PER and WER.
rescored=$("$s2s" score --hyp "$out/test_hyps.txt" --ref data/cmudict/g014b2b/test.ref \
  --metric per,wer --json)
python3 - "$out/test_metrics.json" "$rescored" <<'PY'
import json, sys
run = json.load(open(sys.argv[1]))
again = json.loads(sys.argv[2])
for key in ("per", "wer"):
    if abs(run[key] - again[key]) > 5e-4:
        sys.exit(f"collect_result: {sys.argv[1]}: {key} {run[key]} but s2s score gives {again[key]}")
print(f"rescored: PER {again['per']:.2f} %, WER {again['wer']:.2f} % (the run's own)")
PY
echo "collected into $out"
