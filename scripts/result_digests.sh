#!/usr/bin/env bash
# Digests of what a build computes, for checking that a change (a refactoring, another compiler
# or machine) leaves every result bit-identical: 16 short trainings covering every RNN flow
# (none, Bahdanau, Luong with and without input feeding, local attention), both cells, every
# bridge, scheduled sampling, tied embeddings, worker threads, and the Transformer's norms,
# activations and position kinds; then beam-4 decoding with attention output of three of them.
# One line per run: name, digest of last.ckpt (scripts/ckpt_digest.py: the wall-clock field
# masked), of best.ckpt, and of train_log.jsonl without its timings and its provenance line (commit, machine). About 30 s on 2 cores.
#
#   scripts/result_digests.sh build/bin/s2s OUT_DIR > before.txt
#   ... change, rebuild ...
#   scripts/result_digests.sh build/bin/s2s OUT_DIR2 > after.txt && diff before.txt after.txt
set -euo pipefail
if [ $# -ne 2 ]; then echo "usage: scripts/result_digests.sh S2S_BINARY OUT_DIR" >&2; exit 2; fi
S2S=$(realpath "$1"); OUT=$(realpath -m "$2")
HERE=$(cd "$(dirname "$0")" && pwd)
[ -x "$S2S" ] || { echo "result_digests: $1 is not an executable" >&2; exit 2; }
mkdir -p "$OUT"
DATA=$OUT/data
[ -f "$DATA/train.tsv" ] || "$S2S" generate --benchmark reverse --out-dir "$DATA" > /dev/null
cat > "$OUT/base.ini" <<INI
[data]
train = $DATA/train.tsv
dev = $DATA/dev.tsv
src_tokenizer = space
tgt_tokenizer = space
[model]
embed_size = 16
hidden_size = 32
dropout = 0.1
embed_dropout = 0.1
[train]
max_steps = 300
valid_every = 150
log_every = 10
batch_size = 32
threads = 1
early_stopping_metric = acc
INI
digest() { sha256sum | cut -c1-16; }
run() {
  local name=$1; shift
  "$S2S" train --config "$OUT/base.ini" --overwrite --train.output_dir "$OUT/$name" "$@" \
    > "$OUT/$name.stdout" 2>&1 || { echo "result_digests: $name failed (see $OUT/$name.stdout)" >&2; exit 1; }
  echo "$name $("$HERE/ckpt_digest.py" "$OUT/$name/last.ckpt" | cut -c1-16)" \
    "$(digest < "$OUT/$name/best.ckpt")" \
    "$(grep -v '^{"provenance"' "$OUT/$name/train_log.jsonl" |
       sed -E 's/,"tokens_per_s":[^,}]*|,"elapsed_s":[^,}]*//g' | digest)"
}
run gru-none --model.attention none
run gru-dot --model.attention dot --model.dot_scale true
run gru-bah --model.attention bahdanau --model.bridge copy
run gru-bah-ss --model.attention bahdanau --train.sampling_ratio 0.3
run lstm-bah --model.cell lstm --model.attention bahdanau --model.encoder_layers 2 --model.decoder_layers 2
run lstm-lg-feed --model.cell lstm --model.attention luong-general --model.input_feeding true --model.bridge zero
run lstm-lg-nofeed --model.cell lstm --model.attention luong-general --model.input_feeding false
run gru-lc-feed-ss --model.attention luong-concat --train.sampling_ratio 0.3 --model.decoder_layers 2
run gru-ld-tie --model.attention luong-dot --model.tie_embeddings true --model.embed_size 32 --model.bidirectional false
run lstm-lm --model.cell lstm --model.attention luong-local-m --model.bridge copy --model.encoder_layers 2
run gru-lp --model.attention luong-local-p --train.workers 2
run lstm-none-tanh --model.cell lstm --model.attention none --model.bridge tanh --train.sampling_ratio 0.2
tf=(--model.type transformer --model.d_model 32 --model.ff_size 64)
run tf-pre "${tf[@]}" --model.heads 4 --model.transformer_layers 2
run tf-post-gelu-t5 "${tf[@]}" --model.heads 2 --model.transformer_layers 1 --model.norm post --model.activation gelu --model.positions t5
run tf-alibi-share "${tf[@]}" --model.heads 2 --model.transformer_layers 1 --model.positions alibi --model.share_embeddings true
run tf-learned "${tf[@]}" --model.heads 2 --model.transformer_layers 1 --model.positions learned --train.workers 2
head -50 "$DATA/test.tsv" | cut -f1 > "$OUT/src.txt"
for m in lstm-lg-feed tf-pre gru-lp; do
  "$S2S" translate --model "$OUT/$m" --input "$OUT/src.txt" --beam 4 \
    --attention-out "$OUT/$m.attn.jsonl" > "$OUT/$m.beam.txt"
  echo "decode-$m $(cat "$OUT/$m.beam.txt" "$OUT/$m.attn.jsonl" | digest)"
done
