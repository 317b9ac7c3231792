#include "s2s/core/config.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <vector>

namespace s2s {

namespace {

void check_choice(const std::string& key, const std::string& value,
                  const std::vector<std::string>& valid) {
  if (std::find(valid.begin(), valid.end(), value) != valid.end()) return;
  std::string list;
  for (const auto& v : valid) list += (list.empty() ? "" : ", ") + v;
  throw std::invalid_argument("unknown " + key + ": '" + value + "'. Valid options: " + list);
}

void check(bool ok, const std::string& message) {
  if (!ok) throw std::invalid_argument(message);
}

}  // namespace

void validate(const RunConfig& c) {
  const auto& d = c.data;
  check_choice("data.src_tokenizer", d.src_tokenizer, {"char", "space", "spm"});
  check_choice("data.tgt_tokenizer", d.tgt_tokenizer, {"char", "space", "spm"});
  check_choice("data.spm_model_type", d.spm_model_type, {"unigram", "bpe"});
  check(d.min_freq >= 1, "data.min_freq must be at least 1");
  check(d.max_vocab >= 0 && d.max_src_len >= 0 && d.max_tgt_len >= 0,
        "data.max_vocab, data.max_src_len and data.max_tgt_len must be >= 0");
  check(d.dev_tgt.empty() || !d.dev.empty(), "data.dev_tgt is set but data.dev is not");
  check(d.test_tgt.empty() || !d.test.empty(), "data.test_tgt is set but data.test is not");

  const auto& m = c.model;
  check_choice("model.type", m.type, {"rnn", "transformer"});
  check_choice("model.cell", m.cell, {"gru", "lstm"});
  check_choice("model.attention", m.attention,
               {"none", "dot", "bahdanau", "luong-dot", "luong-general", "luong-concat",
                "luong-local-m", "luong-local-p", "monotonic", "monotonic-chunk"});
  check_choice("model.bridge", m.bridge, {"zero", "copy", "tanh"});
  check_choice("model.norm", m.norm, {"pre", "post"});
  check_choice("model.activation", m.activation, {"relu", "gelu"});
  check_choice("model.positions", m.positions, {"sinusoidal", "learned", "alibi", "t5"});
  check(m.type == "transformer" || m.positions == "sinusoidal" || m.positions == "learned",
        "model.positions=" + m.positions + " is a Transformer attention bias; model.type=" +
            m.type + " has no positions to replace (use model.type=transformer)");
  check(m.embed_size > 0 && m.hidden_size > 0, "model.embed_size and model.hidden_size must be > 0");
  check(m.encoder_layers >= 1 && m.decoder_layers >= 1,
        "model.encoder_layers and model.decoder_layers must be >= 1");
  check(m.dropout >= 0 && m.dropout < 1 && m.embed_dropout >= 0 && m.embed_dropout < 1 &&
            m.attention_dropout >= 0 && m.attention_dropout < 1,
        "dropout probabilities must be in [0, 1)");
  check(m.local_window >= 1, "model.local_window must be >= 1");
  check(m.chunk_width >= 1, "model.chunk_width must be >= 1");
  check(std::isfinite(m.monotonic_noise) && m.monotonic_noise >= 0,
        "model.monotonic_noise must be a finite number >= 0");
  check(!m.coverage || (m.type == "rnn" && (m.attention == "bahdanau" ||
                                            m.attention == "luong-concat")),
        "model.coverage=true applies to model.type=rnn with model.attention=bahdanau or "
        "luong-concat (got " + m.type + ", " + m.attention + ")");
  check(!m.copy || (m.type == "rnn" && m.attention != "none"),
        "model.copy=true applies to model.type=rnn with attention (it copies through the "
        "attention weights; got " + m.type + ", " + m.attention + ")");
  check(!m.copy || d.joint_vocab,
        "model.copy=true needs data.joint_vocab=true (one vocabulary for both sides, so that a "
        "copied source token is the same target token)");
  check(m.d_model > 0 && m.heads > 0 && m.d_model % m.heads == 0,
        "model.d_model must be a positive multiple of model.heads");
  check(m.ff_size > 0 && m.transformer_layers >= 1, "model.ff_size and model.transformer_layers must be > 0");
  check(m.type != "rnn" || !m.bidirectional || m.hidden_size % 2 == 0,
        "model.hidden_size must be even with model.bidirectional=true (each direction gets half)");
  check(m.type != "rnn" || m.attention != "none" || m.bridge != "zero",
        "model.attention=none with model.bridge=zero gives the decoder no information about the "
        "source; use model.bridge=tanh or copy");
  check(m.type == "transformer" || !m.share_embeddings,
        "model.share_embeddings applies to model.type=transformer (an RNN model would ignore it; "
        "model.tie_embeddings ties its output layer to the target embedding)");
  check(!m.share_embeddings || d.joint_vocab,
        "model.share_embeddings=true needs data.joint_vocab=true (one vocabulary for both sides, "
        "so that a shared row is the same token on both)");
  check(m.type != "rnn" || !m.tie_embeddings || m.embed_size == m.hidden_size,
        "model.tie_embeddings=true needs model.embed_size == model.hidden_size");

  const auto& t = c.train;
  check(t.epochs >= 0 && t.max_steps >= 0 && (t.epochs > 0 || t.max_steps > 0),
        "train.epochs or train.max_steps must be > 0");
  check(t.batch_size >= 1, "train.batch_size must be >= 1");
  check_choice("train.batch_unit", t.batch_unit, {"sentences", "tokens"});
  check_choice("train.optimizer", t.optimizer, {"sgd", "adam", "adamw"});
  check(std::isfinite(t.lr) && t.lr > 0, "train.lr must be a finite number > 0");
  check(t.momentum >= 0 && t.momentum < 1, "train.momentum must be in [0, 1)");
  check(t.beta1 >= 0 && t.beta1 < 1 && t.beta2 >= 0 && t.beta2 < 1,
        "train.beta1 and train.beta2 must be in [0, 1)");
  check(std::isfinite(t.adam_eps) && t.adam_eps > 0, "train.adam_eps must be a finite number > 0");
  check(std::isfinite(t.weight_decay) && t.weight_decay >= 0,
        "train.weight_decay must be a finite number >= 0");
  check_choice("train.schedule", t.schedule,
               {"constant", "step", "plateau", "noam", "cosine", "linear"});
  check(t.decay_factor > 0 && t.decay_factor <= 1, "train.decay_factor must be in (0, 1]");
  check(t.decay_every >= 1 && t.plateau_patience >= 1,
        "train.decay_every and train.plateau_patience must be >= 1");
  check(t.warmup_steps >= (t.schedule == "noam" ? 1 : 0),
        "train.warmup_steps must be >= 1 with train.schedule=noam and >= 0 otherwise");
  if (t.schedule == "cosine" || t.schedule == "linear") {
    check(t.decay_steps >= 0, "train.decay_steps must be >= 0 (0: train.max_steps)");
    const int total = t.decay_steps > 0 ? t.decay_steps : t.max_steps;
    check(total > t.warmup_steps,
          "train.schedule=" + t.schedule + " decays over train.decay_steps, or train.max_steps "
          "when that is 0: it needs one of them greater than train.warmup_steps (" +
          std::to_string(t.warmup_steps) + ")");
    check(std::isfinite(t.min_lr) && t.min_lr >= 0 && t.min_lr <= t.lr,
          "train.min_lr must be a finite number in [0, train.lr]");
  }
  check(t.label_smoothing >= 0 && t.label_smoothing < 1, "train.label_smoothing must be in [0, 1)");
  check_choice("train.normalization", t.normalization, {"tokens", "sentences", "none"});
  check(t.sampling_ratio >= 0 && t.sampling_ratio <= 1, "train.sampling_ratio must be in [0, 1]");
  check(t.label_smoothing == 0 || !m.copy,
        "train.label_smoothing > 0 is not defined for model.copy=true (smoothing would spread "
        "mass over a vocabulary that changes with every source); set it to 0");
  check(std::isfinite(t.coverage_loss) && t.coverage_loss >= 0,
        "train.coverage_loss must be a finite number >= 0");
  check(t.coverage_loss == 0 || m.coverage,
        "train.coverage_loss > 0 needs model.coverage=true (the loss penalises attention that "
        "repeats the coverage vector)");
  check(t.valid_every >= 0 && t.patience >= 0 && t.log_every >= 1 && t.threads >= 0,
        "train.valid_every, train.patience, train.threads must be >= 0 and train.log_every >= 1");
  check(std::isfinite(t.ema_decay) && t.ema_decay >= 0 && t.ema_decay < 1,
        "train.ema_decay must be in [0, 1)");
  check(t.keep_checkpoints >= 0 && t.keep_checkpoints <= 1000,
        "train.keep_checkpoints must be in [0, 1000]");
  check(t.keep_checkpoints == 0 || !d.dev.empty(),
        "train.keep_checkpoints keeps validation checkpoints: it needs a dev set (data.dev)");
  check(t.valid_beam >= 0 && t.valid_beam <= 1000, "train.valid_beam must be in [0, 1000]");
  check(t.accumulate >= 1 && t.accumulate <= 4096,
        "train.accumulate must be between 1 and 4096, got " + std::to_string(t.accumulate));
  check(t.workers >= 1 && t.workers <= 256,
        "train.workers must be between 1 and 256, got " + std::to_string(t.workers));
  check_choice("train.early_stopping_metric", t.early_stopping_metric,
               {"loss", "per", "wer", "acc", "bleu", "chrf"});
  check_choice("train.reproducible", t.reproducible, {"fast", "portable"});
  check_choice("train.precision", t.precision, {"fp32", "bf16"});
  check(t.precision != "bf16" || t.reproducible != "portable",
        "train.precision = bf16 runs kernels that exist only on CPUs with AVX512_BF16; "
        "train.reproducible = portable needs train.precision = fp32");
  check(t.reproducible != "portable" || t.threads <= 1,
        "train.reproducible = portable runs BLAS on one thread (use train.workers to use more "
        "cores); train.threads must be 0 or 1");
  check(t.checkpoint_every >= 0, "train.checkpoint_every must be >= 0");
  check(std::isfinite(t.clip_norm) && t.clip_norm >= 0,
        "train.clip_norm must be a finite number >= 0 (0: no clipping)");
  check(!t.output_dir.empty(), "train.output_dir must not be empty");
  check(t.patience == 0 || !d.dev.empty(), "train.patience needs a dev set (data.dev)");
  check(t.schedule != "plateau" || !d.dev.empty(), "train.schedule=plateau needs a dev set (data.dev)");

  const auto& k = c.decode;
  check(k.beam_size >= 1, "decode.beam_size must be >= 1");
  check(k.max_length_ratio > 0 && k.max_length_ratio <= kMaxLengthRatio,
        "decode.max_length_ratio must be in (0, " + std::to_string(int(kMaxLengthRatio)) + "]");
  check(k.max_length_extra >= 0 && k.max_length_extra <= kMaxLengthExtra,
        "decode.max_length_extra must be in [0, " + std::to_string(kMaxLengthExtra) + "]");
  check(std::isfinite(k.length_penalty) && k.length_penalty >= 0,
        "decode.length_penalty must be a finite number >= 0");
  check(std::isfinite(k.coverage_penalty) && k.coverage_penalty >= 0,
        "decode.coverage_penalty must be a finite number >= 0");
}

}  // namespace s2s
