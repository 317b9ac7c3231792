#!/bin/sh
# Dev decode of one weighted ensemble candidate (beam 5, length penalty 1.0, 2 workers), for
# choosing an ensemble's members and weights on dev before its one test decode:
#
#   S2S=runs/bin-COMMIT-s2s experiments/g2p/ensemble_dev.sh OUT_DIR NAME "WEIGHTS" MODEL...
#
# Writes OUT_DIR/NAME.json (the metrics), the hypotheses and stderr under runs/ensemble-dev/, and
# prints one line with the metrics and the decoding time. WEIGHTS may be "" (equal weights).
set -eu
[ $# -ge 4 ] || { echo "usage: experiments/g2p/ensemble_dev.sh OUT_DIR NAME \"WEIGHTS\" MODEL..." >&2; exit 2; }
out=$(cd "$1" 2>/dev/null && pwd) || { echo "ensemble_dev: $1: no such directory" >&2; exit 2; }
name=$2 weights=$3
shift 3
cd "$(dirname "$0")/../.."
s2s=${S2S:-build/bin/s2s}
args=""
for m in "$@"; do args="$args --model $m"; done
for w in $weights; do args="$args --weight $w"; done
mkdir -p runs/ensemble-dev
/usr/bin/time -f "%e s" "$s2s" evaluate $args --beam 5 --length-penalty 1.0 --workers 2 \
  --src data/cmudict/g014b2b/dev.tsv --ref data/cmudict/g014b2b/dev.ref \
  --output "runs/ensemble-dev/$name.dev.hyp" --json > "$out/$name.json" 2> "runs/ensemble-dev/$name.dev.err"
echo "$name [$weights] $(cat "$out/$name.json") $(tail -1 "runs/ensemble-dev/$name.dev.err")"
