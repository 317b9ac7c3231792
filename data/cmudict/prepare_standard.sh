#!/usr/bin/env bash
# Turns the standard CMUdict G2P split "g014b2b" (Phonetisaurus's test/g014b2b: g014b2b.train and
# g014b2b.ref) into the layout fetch.sh writes:
#   OUT/train.tsv  g014b2b.train minus the dev carve-out, one line per (word, pronunciation)
#   OUT/dev.tsv    the carve-out: every training word whose hash bucket (g2p_split.awk) is 0,
#   OUT/dev.ref    i.e. about 1 word in 20, removed from train with all its pronunciations
#   OUT/test.tsv   the 12,000 g014b2b test words, first reference pronunciation
#   OUT/test.ref   every reference pronunciation of each test word, TAB-separated
# Words are lowercased and spelled as space-separated letters (formats: data/README.md).
# The input files are not copied anywhere else and must not be committed.
#
# Idempotent: inputs and outputs are checked against pinned checksums; nothing is rewritten
# when the outputs are already there and match.
#
# usage: data/cmudict/prepare_standard.sh DIR [OUT]
#   DIR  folder holding g014b2b.train and g014b2b.ref (e.g. shared/data/cmudict-g014b2b)
#   OUT  defaults to data/cmudict/g014b2b
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
if [[ $# -lt 1 || $# -gt 2 ]]; then
  echo "usage: $0 DIR [OUT]   (DIR holds g014b2b.train and g014b2b.ref)" >&2
  exit 2
fi
DIR="$1"
OUT="${2:-$HERE/g014b2b}"
INPUT_SHA256="
5882433c3a14a9a0614b5f724ce74872851092e816852c82d6b74913b2085384  g014b2b.train
b1f24ab99ae8be1d37ee951984646a248c4fd5ae8b0a24a2f4ba2cfa0e2fc46a  g014b2b.ref
"
OUTPUT_SHA256="
2ca926990c1d2935c5d8219505dbb1b616fdde31f9516db53ba82b7ce1835a98  train.tsv
0d153f6b9db86523c49b7ceea7e64ac982d2323d36af6f3dfdeb7814d21107f5  dev.tsv
fe54ecf9b5f440eac5ab18290ca61df1a5e72e07a627b99b55dd464d5ccaa014  dev.ref
603c755301aa6590a29457ae9a08f3bda09ee29140f84511955ce7f51ee76335  test.tsv
109e14734372af140907995c94b3f71933e056ff5f5132ae6e8f128cef573744  test.ref
"

outputs_match() {  # DIR
  [[ -n "${OUTPUT_SHA256//[[:space:]]/}" ]] || return 1
  (cd "$1" && sha256sum --check --quiet --status <<<"$OUTPUT_SHA256") 2>/dev/null
}

print_counts() {  # DIR
  local split
  for split in train dev test; do
    printf '%-5s %6d words %7d lines in %s.tsv\n' "$split" \
      "$(cut -f1 "$1/$split.tsv" | uniq | wc -l)" "$(wc -l <"$1/$split.tsv")" "$split"
  done
}

for f in g014b2b.train g014b2b.ref; do
  [[ -r "$DIR/$f" ]] || { echo "prepare_standard.sh: $DIR/$f: no such file" >&2; exit 1; }
done
(cd "$DIR" && sha256sum --check --quiet <<<"$INPUT_SHA256") ||
  { echo "prepare_standard.sh: $DIR does not hold the expected g014b2b files" >&2; exit 1; }

if outputs_match "$OUT"; then
  echo "g014b2b: $OUT is up to date"
  print_counts "$OUT"
  exit 0
fi

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
awk -v out="$work" -v mode=carve_dev -f "$HERE/g2p_split.awk" "$DIR/g014b2b.train"
awk -v out="$work" -v mode=test -f "$HERE/g2p_split.awk" "$DIR/g014b2b.ref"

if [[ -z "${OUTPUT_SHA256//[[:space:]]/}" ]]; then
  echo "prepare_standard.sh: no output checksums pinned yet; computed:" >&2
  (cd "$work" && sha256sum train.tsv dev.tsv dev.ref test.tsv test.ref) >&2
  exit 1
fi
outputs_match "$work" || {
  echo "prepare_standard.sh: outputs differ from the pinned checksums" >&2
  (cd "$work" && sha256sum --check <<<"$OUTPUT_SHA256") >&2 || true
  exit 1
}
mkdir -p "$OUT"
for f in train.tsv dev.tsv dev.ref test.tsv test.ref; do mv -f "$work/$f" "$OUT/$f"; done
echo "g014b2b: wrote $OUT/{train,dev,test}.tsv and {dev,test}.ref"
