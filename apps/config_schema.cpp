#include "config_schema.hpp"

#include <filesystem>
#include <fstream>
#include <cstdint>
#include <iomanip>
#include <sstream>
#include <stdexcept>

namespace po = boost::program_options;

namespace s2s::app {

namespace {

template <typename T>
std::string to_text(const T& value) {
  std::ostringstream out;
  if constexpr (std::is_same_v<T, bool>)
    out << (value ? "true" : "false");
  else if constexpr (std::is_floating_point_v<T>)
    out << std::setprecision(17) << value;
  else
    out << value;
  return out.str();
}

}  // namespace

template <typename T>
void ConfigSchema::add(const std::string& key, T* field, const std::string& help) {
  const std::string default_value = to_text(*field);
  options_.add_options()(key.c_str(), po::value<T>(field)->default_value(*field, default_value),
                         help.c_str());
  keys_.push_back({key, help, default_value, [field] { return to_text(*field); }});
}

// Unsigned fields (train.seed) are read as text and parsed strictly: boost's lexical_cast takes
// "-1" as 2^64 − 1.
template <>
void ConfigSchema::add(const std::string& key, std::uint64_t* field, const std::string& help) {
  const std::string default_value = to_text(*field);
  auto parse_unsigned = [key, field](const std::string& text) {
    std::size_t used = 0;
    bool ok = !text.empty() && text.find_first_not_of("0123456789") == std::string::npos;
    try {
      if (ok) *field = std::stoull(text, &used);
    } catch (const std::exception&) {
      ok = false;
    }
    if (!ok || used != text.size())
      throw std::runtime_error(key + " must be a whole number from 0 to 18446744073709551615, got '" +
                               text + "'");
  };
  options_.add_options()(
      key.c_str(),
      po::value<std::string>()->default_value(default_value)->notifier(parse_unsigned),
      help.c_str());
  keys_.push_back({key, help, default_value, [field] { return to_text(*field); }});
}

ConfigSchema::ConfigSchema(RunConfig& c) : options_("Configuration (INI [section] key = value, or --section.key VALUE)") {
  auto& d = c.data;
  add("data.train", &d.train, "training data: a TSV file (source<TAB>target), or the source file when data.train_tgt is set");
  add("data.train_tgt", &d.train_tgt, "training target file (one sequence per line, aligned with data.train)");
  add("data.dev", &d.dev, "dev data (TSV, or source file with data.dev_tgt); TAB-separated alternatives after the first target are extra references");
  add("data.dev_tgt", &d.dev_tgt, "dev target file");
  add("data.test", &d.test, "test data, same forms as data.dev");
  add("data.test_tgt", &d.test_tgt, "test target file");
  add("data.src_tokenizer", &d.src_tokenizer, "source tokenizer: char | space | spm");
  add("data.tgt_tokenizer", &d.tgt_tokenizer, "target tokenizer: char | space | spm");
  add("data.spm_model_type", &d.spm_model_type, "SentencePiece model trained on the training data: unigram | bpe");
  add("data.spm_vocab_size", &d.spm_vocab_size, "SentencePiece vocabulary size");
  add("data.src_spm_model", &d.src_spm_model, "existing SentencePiece .model for the source (instead of training one)");
  add("data.tgt_spm_model", &d.tgt_spm_model, "existing SentencePiece .model for the target");
  add("data.min_freq", &d.min_freq, "vocabulary: minimum token count in the training data");
  add("data.max_vocab", &d.max_vocab, "vocabulary: maximum size without specials (0: no limit)");
  add("data.joint_vocab", &d.joint_vocab, "one vocabulary built from the source and target sides together (src.vocab and tgt.vocab are then the same), so a token has the same id on both sides: needed by model.share_embeddings");
  add("data.max_src_len", &d.max_src_len, "drop training pairs whose source has more tokens (0: keep all)");
  add("data.max_tgt_len", &d.max_tgt_len, "drop training pairs whose target has more tokens (0: keep all)");

  auto& m = c.model;
  add("model.type", &m.type, "rnn | transformer");
  add("model.cell", &m.cell, "RNN cell: gru | lstm");
  add("model.attention", &m.attention, "none | dot | bahdanau | luong-dot | luong-general | luong-concat | luong-local-m | luong-local-p | monotonic (Raffel et al. 2017; hard at decoding) | monotonic-chunk (MoChA, Chiu & Raffel 2018)");
  add("model.embed_size", &m.embed_size, "RNN: embedding size");
  add("model.hidden_size", &m.hidden_size, "RNN: encoder output and decoder state size; each direction of a bidirectional encoder has half");
  add("model.encoder_layers", &m.encoder_layers, "RNN: encoder layers");
  add("model.decoder_layers", &m.decoder_layers, "RNN: decoder layers");
  add("model.bidirectional", &m.bidirectional, "RNN: bidirectional encoder");
  add("model.bridge", &m.bridge, "decoder initial state from the encoder's final states: zero | copy | tanh");
  add("model.input_feeding", &m.input_feeding, "Luong attention: feed the attentional state into the next step's input");
  add("model.dot_scale", &m.dot_scale, "dot attention: divide scores by sqrt(d)");
  add("model.local_window", &m.local_window, "luong-local-*: window half-width D");
  add("model.monotonic_noise", &m.monotonic_noise, "monotonic, monotonic-chunk: standard deviation of the Gaussian noise added to the energies before the sigmoid in training (Raffel et al. 2017: it makes the alignment probabilities near 0 or 1, as hard decoding uses them)");
  add("model.chunk_width", &m.chunk_width, "monotonic-chunk: the chunk width w (softmax attention over the w source positions ending where monotonic attention stops)");
  add("model.coverage", &m.coverage, "bahdanau, luong-concat: the coverage vector (sum of past attention weights) enters the attention scores (See et al. 2017)");
  add("model.copy", &m.copy, "RNN with attention: pointer-generator output (See et al. 2017): each output token is generated from the vocabulary or copied from the source through the attention weights, source tokens outside the vocabulary included; needs data.joint_vocab=true");
  add("model.dropout", &m.dropout, "dropout between layers and before the output layer");
  add("model.embed_dropout", &m.embed_dropout, "dropout on embeddings");
  add("model.tie_embeddings", &m.tie_embeddings, "output layer shares the target embedding matrix");
  add("model.d_model", &m.d_model, "Transformer: model size");
  add("model.heads", &m.heads, "Transformer: attention heads");
  add("model.ff_size", &m.ff_size, "Transformer: feed-forward inner size");
  add("model.transformer_layers", &m.transformer_layers, "Transformer: encoder layers and decoder layers (each)");
  add("model.norm", &m.norm, "Transformer: layer norm placement: pre | post");
  add("model.activation", &m.activation, "Transformer: feed-forward activation: relu | gelu");
  add("model.positions", &m.positions, "Transformer: positions: sinusoidal | learned (absolute, added to the embeddings) | alibi (linear distance penalty on self-attention scores, Press et al. 2022) | t5 (learned bucketed relative bias on self-attention scores, Raffel et al. 2020)");
  add("model.attention_dropout", &m.attention_dropout, "Transformer: dropout on attention weights");
  add("model.share_embeddings", &m.share_embeddings, "Transformer: share source, target and output embeddings (joint vocabulary)");

  auto& t = c.train;
  add("train.seed", &t.seed, "seed of every random choice (init, dropout, data order)");
  add("train.epochs", &t.epochs, "epochs (0: only train.max_steps limits)");
  add("train.max_steps", &t.max_steps, "optimizer steps (0: only train.epochs limits)");
  add("train.batch_size", &t.batch_size, "batch size, in train.batch_unit");
  add("train.batch_unit", &t.batch_unit, "sentences | tokens");
  add("train.accumulate", &t.accumulate, "batches whose gradients are summed before one optimizer step (gradient accumulation: an effective batch of accumulate x batch_size); steps count optimizer steps");
  add("train.ema", &t.ema, "keep an exponential moving average of the weights: validation, best.ckpt and the test set use it, last.ckpt keeps it for resume");
  add("train.ema_decay", &t.ema_decay, "train.ema: after each optimizer step, average = decay * average + (1 - decay) * weights");
  add("train.keep_checkpoints", &t.keep_checkpoints, "also keep step-N.ckpt, the weights of each of the last K validations (0: none), for `s2s average --model DIR --last K`");
  add("train.optimizer", &t.optimizer, "sgd | adam | adamw");
  add("train.lr", &t.lr, "learning rate (peak rate for noam, cosine and linear)");
  add("train.momentum", &t.momentum, "sgd momentum");
  add("train.beta1", &t.beta1, "adam beta1");
  add("train.beta2", &t.beta2, "adam beta2");
  add("train.adam_eps", &t.adam_eps, "adam epsilon");
  add("train.weight_decay", &t.weight_decay, "weight decay (L2 for sgd/adam, decoupled for adamw)");
  add("train.clip_norm", &t.clip_norm, "global gradient-norm clipping threshold (0: off)");
  add("train.schedule", &t.schedule, "learning-rate schedule: constant | step | plateau | noam | cosine | linear (lib/s2s/training/schedule.hpp)");
  add("train.decay_factor", &t.decay_factor, "step/plateau: multiply the rate by this");
  add("train.decay_every", &t.decay_every, "step: steps between decays");
  add("train.plateau_patience", &t.plateau_patience, "plateau: validations without improvement before a decay");
  add("train.warmup_steps", &t.warmup_steps, "noam, cosine, linear: warm-up steps (peak train.lr at the end of warm-up; cosine and linear take 0)");
  add("train.decay_steps", &t.decay_steps, "cosine, linear: the step at which the rate reaches train.min_lr (0: train.max_steps, so a resume with another train.max_steps changes the decay from there on)");
  add("train.min_lr", &t.min_lr, "cosine, linear: the rate at the end of the decay, and after it");
  add("train.label_smoothing", &t.label_smoothing, "label smoothing epsilon");
  add("train.normalization", &t.normalization, "loss normalisation: tokens | sentences | none");
  add("train.sampling_ratio", &t.sampling_ratio, "scheduled sampling: probability of feeding the model's own prediction");
  add("train.coverage_loss", &t.coverage_loss, "coverage loss weight lambda (See et al. 2017; needs model.coverage): adds lambda * sum over steps and source positions of min(attention, coverage)");
  add("train.valid_every", &t.valid_every, "validate every N steps (0: at the end of each epoch)");
  add("train.valid_beam", &t.valid_beam, "beam width of the dev set's decoding at validation (1: greedy; 0: as the test set is decoded, decode.beam_size and decode.length_penalty), so that the best checkpoint is chosen by the metric the test reports");
  add("train.checkpoint_every", &t.checkpoint_every, "also write last.ckpt (for --resume) every N steps, dev set or not (0: only at validations and at the end)");
  add("train.early_stopping_metric", &t.early_stopping_metric, "metric for best checkpoint and early stopping: loss | per | wer | acc | bleu | chrf");
  add("train.patience", &t.patience, "stop after this many validations without improvement (0: never)");
  add("train.log_every", &t.log_every, "log a line every N steps");
  add("train.threads", &t.threads, "BLAS threads (0: OpenBLAS default, or 1 when train.workers > 1)");
  add("train.workers", &t.workers, "worker threads that split each batch, each with single-threaded BLAS (1: none); results are reproducible for a fixed count");
  add("train.reproducible", &t.reproducible, "fast: this CPU's fastest kernels, bit-identical reruns on the same kind of machine | portable: the AVX2 kernels and one BLAS thread, bit-identical on any x86-64 machine with AVX2 (README, Reproducibility)");
  add("train.precision", &t.precision, "fp32 | bf16: the weight products (every Linear, output layer and RNN product) in bfloat16 with fp32 accumulation, through oneDNN; weights, gradients, optimizer, softmax, layer norm and loss stay fp32. Needs a CPU with AVX512_BF16 and reproducible = fast (README, bf16 products)");
  add("train.output_dir", &t.output_dir, "model directory: config, vocabularies, checkpoints, logs");

  auto& k = c.decode;
  add("decode.beam_size", &k.beam_size, "beam width (1: greedy)");
  add("decode.length_penalty", &k.length_penalty, "GNMT length penalty alpha (0: none)");
  add("decode.coverage_penalty", &k.coverage_penalty, "GNMT coverage penalty beta (0: none): a finished output's score adds beta * sum over source positions of log(min(attention received, 1)), favouring outputs that attend to every source token");
  add("decode.max_length_ratio", &k.max_length_ratio, "maximum output length = ratio * source length + extra");
  add("decode.max_length_extra", &k.max_length_extra, "see decode.max_length_ratio");
}

std::string ConfigSchema::to_ini() const {
  std::string out, section;
  for (const Key& key : keys_) {
    const auto dot = key.name.find('.');
    const std::string sec = key.name.substr(0, dot);
    if (sec != section) {
      out += (out.empty() ? "[" : "\n[") + sec + "]\n";
      section = sec;
    }
    out += key.name.substr(dot + 1) + " = " + key.current() + "\n";
  }
  return out;
}

std::string ConfigSchema::markdown() const {
  std::string out, section;
  for (const Key& key : keys_) {
    const std::string sec = key.name.substr(0, key.name.find('.'));
    if (sec != section) {
      out += "\n## [" + sec + "]\n\n| key | default | meaning |\n| --- | --- | --- |\n";
      section = sec;
    }
    std::string help;
    for (char c : key.help) help += c == '|' ? std::string("\\|") : std::string(1, c);
    out += "| `" + key.name + "` | `" + (key.default_value.empty() ? "\"\"" : key.default_value) +
           "` | " + help + " |\n";
  }
  return out;
}

namespace {

RunConfig parse(std::istream* ini, const std::string& origin,
                const std::vector<std::string>& overrides) {
  RunConfig config;
  ConfigSchema schema(config);
  po::variables_map vm;
  try {
    // Stored first, so they win over the file.
    po::store(po::command_line_parser(overrides).options(schema.options()).run(), vm);
    if (ini != nullptr) po::store(po::parse_config_file(*ini, schema.options(), false), vm);
    po::notify(vm);
  } catch (const po::error& e) {
    throw std::runtime_error((ini ? origin + ": " : std::string()) + e.what());
  }
  try {
    validate(config);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(std::string("invalid configuration: ") + e.what());
  }
  return config;
}

}  // namespace

RunConfig load_config(const std::string& ini_path, const std::vector<std::string>& overrides) {
  if (ini_path.empty()) return parse(nullptr, "", overrides);
  if (std::filesystem::is_directory(ini_path))
    throw std::runtime_error(ini_path + ": is a directory, not a config file");
  std::ifstream in(ini_path);
  if (!in) throw std::runtime_error(ini_path + ": cannot open config file");
  return parse(&in, ini_path, overrides);
}

RunConfig parse_config_text(const std::string& ini_text, const std::string& origin) {
  std::istringstream in(ini_text);
  return parse(&in, origin, {});
}

}  // namespace s2s::app
