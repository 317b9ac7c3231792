#pragma once
// Typed configuration of a run. apps/ parses INI files and command-line overrides into these
// structs (every key is "<section>.<field>", documented in docs/config.md); lib/ only ever sees
// the structs. validate() rejects values that are unknown or contradict each other, with a
// message that lists the valid options.
#include <cstdint>
#include <string>

namespace s2s {

struct DataConfig {
  std::string train;          // TSV "source<TAB>target", or the source side if train_tgt is set
  std::string train_tgt;
  std::string dev;
  std::string dev_tgt;
  std::string test;
  std::string test_tgt;
  std::string src_tokenizer = "char";   // char | space | spm
  std::string tgt_tokenizer = "space";
  std::string spm_model_type = "unigram";  // unigram | bpe (for spm tokenizers trained here)
  int spm_vocab_size = 8000;
  std::string src_spm_model;            // an existing .model instead of training one
  std::string tgt_spm_model;
  int min_freq = 1;
  int max_vocab = 0;                    // 0: no limit
  bool joint_vocab = false;             // one vocabulary from both sides (src.vocab = tgt.vocab)
  int max_src_len = 0;                  // length filter in tokens, 0: none (training data only)
  int max_tgt_len = 0;
};

struct ModelConfig {
  std::string type = "rnn";             // rnn | transformer
  // RNN encoder-decoder
  std::string cell = "gru";             // gru | lstm
  std::string attention = "bahdanau";   // none | dot | bahdanau | luong-dot | luong-general |
                                        // luong-concat | luong-local-m | luong-local-p
  int embed_size = 128;
  int hidden_size = 256;                // encoder output = decoder state; a bidirectional
                                        // encoder gives each direction half (as OpenNMT)
  int encoder_layers = 1;
  int decoder_layers = 1;
  bool bidirectional = true;
  std::string bridge = "tanh";          // zero | copy | tanh
  bool input_feeding = true;            // Luong variants
  bool dot_scale = false;               // dot: scores / sqrt(d)
  int local_window = 5;                 // D, luong-local-*
  bool coverage = false;                // bahdanau, luong-concat: See et al. 2017 coverage
  double monotonic_noise = 1.0;         // monotonic*: sd of the pre-sigmoid training noise
  int chunk_width = 2;                  // w, monotonic-chunk (MoChA)
  bool copy = false;                    // pointer-generator output (See et al. 2017; needs
                                        // data.joint_vocab)
  double dropout = 0.2;
  double embed_dropout = 0.0;
  bool tie_embeddings = false;          // output layer shares the target embedding
  // Transformer
  int d_model = 256;
  int heads = 4;
  int ff_size = 1024;
  int transformer_layers = 3;           // encoder and decoder layers each
  std::string norm = "pre";             // pre | post
  std::string activation = "relu";      // relu | gelu
  std::string positions = "sinusoidal"; // sinusoidal | learned | alibi | t5
  double attention_dropout = 0.1;
  bool share_embeddings = false;        // source, target and output embeddings (shared vocab)
};

struct TrainConfig {
  std::uint64_t seed = 1;
  int epochs = 10;
  int max_steps = 0;                    // 0: no limit; stops at whichever comes first
  int batch_size = 64;
  std::string batch_unit = "sentences"; // sentences | tokens
  int accumulate = 1;                   // batches per optimizer step (gradient accumulation)
  bool ema = false;                     // validate and keep an exponential moving average
  double ema_decay = 0.999;             // of the weights (weight_averaging.hpp)
  int keep_checkpoints = 0;             // step-N.ckpt of the last K validations (s2s average)
  std::string optimizer = "adam";       // sgd | adam | adamw
  double lr = 1e-3;
  double momentum = 0.0;
  double beta1 = 0.9;
  double beta2 = 0.999;
  double adam_eps = 1e-8;
  double weight_decay = 0.0;
  double clip_norm = 5.0;               // 0: no clipping
  std::string schedule = "constant";    // constant | step | plateau | noam | cosine | linear
  double decay_factor = 0.5;            // step and plateau
  int decay_every = 1000;               // step: steps between decays
  int plateau_patience = 2;             // plateau: validations without improvement
  int warmup_steps = 4000;              // noam, cosine, linear
  int decay_steps = 0;                  // cosine, linear: steps to min_lr; 0: train.max_steps
  double min_lr = 0.0;                  // cosine, linear: the rate at the end
  double label_smoothing = 0.0;
  std::string normalization = "tokens"; // tokens | sentences | none
  double sampling_ratio = 0.0;          // scheduled sampling
  double coverage_loss = 0.0;           // See et al. 2017 coverage loss weight (model.coverage)
  int valid_every = 500;                // steps; 0: once per epoch
  int valid_beam = 1;                   // beam width of dev decoding; 0: decode.beam_size
  int checkpoint_every = 1000;          // steps between last.ckpt saves besides validations;
                                        // 0: only at validations and at the end
  std::string early_stopping_metric = "loss";  // loss | per | wer | acc | bleu | chrf
  int patience = 0;                     // validations without improvement; 0: off
  int log_every = 50;
  int threads = 0;                      // BLAS threads; 0: leave as is (1 when workers > 1)
  int workers = 1;                      // threads that split each batch (data_parallel.hpp)
  std::string reproducible = "fast";    // fast | portable (provenance.hpp)
  std::string precision = "fp32";       // fp32 | bf16: of the weight products (gemm.hpp)
  std::string output_dir = "runs/model";
};

// Bounds of decode.max_length_ratio and decode.max_length_extra: outputs stay finite, and the
// limit ratio · S + extra stays far inside an integer.
inline constexpr double kMaxLengthRatio = 100;
inline constexpr int kMaxLengthExtra = 100000;

struct DecodeConfig {
  int beam_size = 1;
  double length_penalty = 0.0;
  double coverage_penalty = 0.0;
  double max_length_ratio = 2.0;
  int max_length_extra = 10;
};

struct RunConfig {
  DataConfig data;
  ModelConfig model;
  TrainConfig train;
  DecodeConfig decode;
};

// Throws std::invalid_argument naming the key, the bad value and the valid options.
void validate(const RunConfig& config);

}  // namespace s2s
