#!/bin/sh
# Dev decode of one weighted ensemble candidate (beam 5, length penalty 1.0, 2 workers):
#   S2S=runs/bin-COMMIT-s2s experiments/g2p/results/ensemble-lstm3-transformer2/dev/dev.sh NAME "WEIGHTS" MODEL...
# Writes NAME.json (the metrics) beside this script, NAME.dev.hyp under runs/ens4/, and prints
# one line with the metrics and the decoding time.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/../../../../.."
[ $# -ge 3 ] || { echo "usage: dev.sh NAME \"WEIGHTS\" MODEL..." >&2; exit 2; }
name=$1; shift; weights=$1; shift
s2s=${S2S:-build/bin/s2s}
args=""
for m in "$@"; do args="$args --model $m"; done
for w in $weights; do args="$args --weight $w"; done
mkdir -p runs/ens4
/usr/bin/time -f "%e s" "$s2s" evaluate $args --beam 5 --length-penalty 1.0 --workers 2 \
  --src data/cmudict/g014b2b/dev.tsv --ref data/cmudict/g014b2b/dev.ref \
  --output "runs/ens4/$name.dev.hyp" --json > "$here/$name.json" 2> "runs/ens4/$name.dev.err"
echo "$name [$weights] $(cat "$here/$name.json") $(tail -1 "runs/ens4/$name.dev.err")"
