#!/bin/sh
# dev decodes of weighted ensemble candidates: NAME "WEIGHTS" MODEL...
cd /work/main
name=$1; shift; weights=$1; shift
args=""
for m in "$@"; do args="$args --model $m"; done
for w in $weights; do args="$args --weight $w"; done
/usr/bin/time -f "%e s" runs/bin-f21e762-s2s evaluate $args --beam 5 --length-penalty 1.0 --workers 2 \
  --src data/cmudict/g014b2b/dev.tsv --ref data/cmudict/g014b2b/dev.ref \
  --output runs/ens3/$name.dev.hyp --json > runs/ens3/$name.dev.json 2> runs/ens3/$name.dev.err
echo "$name [$weights] $(cat runs/ens3/$name.dev.json) $(tail -1 runs/ens3/$name.dev.err)"
