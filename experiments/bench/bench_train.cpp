// Training and decoding throughput of the issue-6 models, the s2s half of experiments/bench/run.sh
// (bench_torch.py is the PyTorch half; both read the same batches and the same weights).
//
// Two modes:
//   bench_train --export DIR --model M (--data FILE.tsv | --src-len L) [--batches N]
//               [--batch-size B] [--pretrain K] [--threads T] [--seed S]
//     builds the batches and the model, initialises it (seed S), optionally trains it K untimed
//     steps (so that decoding stops at realistic lengths), then writes DIR/:
//       meta.txt      "key value" lines: model, vocabulary sizes, parameter count, forward FLOPs
//       batches.txt   per batch 5 lines: "B S T", source ids (S·B, time-major), source lengths,
//                     target input ids (T·B), target output ids (T·B)
//       params.bin    the flat parameter buffer, float32 (params.hpp layout)
//       params.txt    per parameter "name rows cols offset"; each is column-major (rows × cols)
//   bench_train --from DIR --threads T [--workers W] [--beams 1,5] [--no-train] [--no-decode]
//     (--workers W > 1: W worker threads with single-threaded BLAS instead of T BLAS threads:
//     decoding takes whole batches in turn, decode_batches; training splits each batch over the
//     workers, data_parallel.hpp's GradientWorkers, as `s2s train` with train.workers = W)
//     loads DIR and measures, in this order: the eval-mode loss of batch 0 (the consistency
//     check), decoding words/s for every beam width (lib/s2s/decoding/decoding.hpp; beam 1 = greedy; one
//     untimed greedy warm-up batch first), training target tokens/s (zero_grad, forward_backward,
//     clip 5, Adam lr 1e-3 as the trainer's step; one untimed warm-up step first), peak RSS.
//     --precision bf16: the weight products in bf16 (core/gemm.hpp, as train.precision = bf16).
//     Prints one JSON line per measurement.
//
// Batches: with --data, the first N batches of epoch 0 of the trainer's own batching
// (batching.hpp: seed S, pools of 4096 sorted by length, shuffled), N·B words of the training
// data; vocabularies built from the whole file (space tokenizer on both sides, data/README.md).
// With --src-len L, N batches of B random pairs with source and target length L, ids uniform over
// the non-special ids of vocabularies of --src-vocab / --tgt-vocab (default 31 / 43, CMUdict's).
//
// Models (issue 6): gru-bahdanau: bi-GRU encoder (128 per direction) + GRU decoder 256 with
// Bahdanau attention, embeddings 128; lstm-luong: the same with LSTM cells and Luong-general
// attention with input feeding; transformer: 3+3 layers, d_model 256, 4 heads, ff 1024. Other
// settings are ModelConfig's defaults (tanh bridge, dropout 0.2, ...). When make_model throws
// (a model not built yet) the program prints {"event":"unavailable",...} and exits with 3.
//
// FLOPs, counted analytically per batch (shapes B, S = padded source steps, T = padded target
// steps), 2 FLOPs per multiply-add of matrix products only: elementwise maths, softmax and
// nonlinearities are not counted; padded positions are (both implementations compute them).
// Training = 3 × forward (every Y = W X has two backward products of the same size, dW and dX).
//   RNN (G = 3 GRU, 4 LSTM; E embed, H hidden, h = H/2 per direction, A = H, V target vocab):
//     encoder      2 directions · 2·G·h·(E + h) · S·B
//     bridge       2·H·H·B
//     bahdanau     keys 2·A·H·S·B; per step: W_s s 2·A·H·B, scores 2·A·S·B, context 2·H·S·B,
//                  cell 2·G·H·(E + H + H)·B, output proj 2·H·(2H + E)·B
//     luong-general keys 2·H·H·S·B; per step: scores 2·H·S·B, context 2·H·S·B,
//                  cell 2·G·H·(E + H + H)·B (input feeding), combine 2·H·2H·B
//     output layer 2·V·H·T·B
//   Transformer (d model, f feed-forward, L layers each side):
//     encoder layer 8·d²·S·B + 4·S²·d·B + 4·d·f·S·B
//     decoder layer 8·d²·T·B + 4·T²·d·B + 4·d²·T·B + 4·d²·S·B + 4·T·S·d·B + 4·d·f·T·B
//     output layer  2·V·d·T·B
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <memory>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "s2s/core/blas_setup.hpp"
#include "s2s/core/config.hpp"
#include "s2s/core/gemm.hpp"
#include "s2s/data/batching.hpp"
#include "s2s/data/task_data.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/models/model_factory.hpp"
#include "s2s/training/data_parallel.hpp"
#include "s2s/training/optim.hpp"

namespace {

using s2s::Batch;
using s2s::uword;
using Clock = std::chrono::steady_clock;
using Model = s2s::Seq2SeqModel<float>;

constexpr double kLearningRate = 1e-3;
constexpr double kClipNorm = 5.0;

struct Options {
  std::string model, data, export_dir, from_dir;
  int batches = 20, batch_size = 64, threads = 1, workers = 1, src_len = 0, pretrain = 0;
  int src_vocab = 31, tgt_vocab = 43;
  std::uint64_t seed = 1;
  std::vector<uword> beams{1, 5};
  bool train = true, decode = true;
  s2s::gemm::Precision precision = s2s::gemm::Precision::kFp32;
};

const char* kUsage =
    "usage: bench_train --export DIR --model gru-bahdanau|lstm-luong|transformer\n"
    "                   (--data FILE.tsv | --src-len L) [--batches N] [--batch-size B]\n"
    "                   [--pretrain K] [--threads T] [--seed S] [--src-vocab V] [--tgt-vocab V]\n"
    "       bench_train --from DIR [--threads T | --workers W] [--beams 1,5] [--no-train]\n"
    "                   [--no-decode] [--precision fp32|bf16]\n";

double seconds_since(Clock::time_point start) {
  return std::chrono::duration<double>(Clock::now() - start).count();
}

double peak_rss_mb() {
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  return usage.ru_maxrss / 1024.0;  // Linux: kilobytes
}

double current_rss_mb() {
  std::ifstream statm("/proc/self/statm");
  double pages_total = 0, pages_resident = 0;
  statm >> pages_total >> pages_resident;
  return pages_resident * 4096.0 / (1024.0 * 1024.0);
}

s2s::ModelConfig model_config(const std::string& name) {
  s2s::ModelConfig c;
  c.embed_size = 128;
  c.hidden_size = 256;
  c.encoder_layers = 1;
  c.decoder_layers = 1;
  c.bidirectional = true;
  if (name == "gru-bahdanau") {
    c.type = "rnn";
    c.cell = "gru";
    c.attention = "bahdanau";
  } else if (name == "lstm-luong") {
    c.type = "rnn";
    c.cell = "lstm";
    c.attention = "luong-general";
    c.input_feeding = true;
  } else if (name == "transformer") {
    c.type = "transformer";
    c.d_model = 256;
    c.heads = 4;
    c.ff_size = 1024;
    c.transformer_layers = 3;
  } else {
    throw std::invalid_argument("Unknown --model: " + name +
                                ". Valid options: gru-bahdanau, lstm-luong, transformer");
  }
  return c;
}

// Forward FLOPs of one batch (formulas at the top of this file).
double forward_flops(const s2s::ModelConfig& c, const Batch& batch, double V) {
  const double B = batch.size, S = batch.source_steps, T = batch.target_steps;
  if (c.type == "transformer") {
    const double d = c.d_model, f = c.ff_size, L = c.transformer_layers;
    const double enc = 8 * d * d * S * B + 4 * S * S * d * B + 4 * d * f * S * B;
    const double dec = 8 * d * d * T * B + 4 * T * T * d * B + 4 * d * d * T * B +
                       4 * d * d * S * B + 4 * T * S * d * B + 4 * d * f * T * B;
    return L * (enc + dec) + 2 * V * d * T * B;
  }
  const double G = c.cell == "lstm" ? 4 : 3, E = c.embed_size, H = c.hidden_size, h = H / 2;
  double flops = 2 * (2 * G * h * (E + h) * S * B) + 2 * H * H * B;
  double step = 2 * G * H * (E + H + H) * B;
  if (c.attention == "bahdanau") {
    flops += 2 * H * H * S * B;
    step += 2 * H * H * B + 2 * H * S * B + 2 * H * S * B + 2 * H * (2 * H + E) * B;
  } else {  // luong-general with input feeding
    flops += 2 * H * H * S * B;
    step += 2 * H * S * B + 2 * H * S * B + 2 * H * 2 * H * B;
  }
  return flops + T * step + 2 * V * H * T * B;
}

// ---------------------------------------------------------------------------------------------
// Files shared with bench_torch.py

std::map<std::string, std::string> read_meta(const std::string& dir) {
  std::ifstream in(dir + "/meta.txt");
  if (!in) throw std::runtime_error(dir + "/meta.txt: no such file");
  std::map<std::string, std::string> meta;
  std::string key, value;
  while (in >> key && std::getline(in >> std::ws, value)) meta[key] = value;
  return meta;
}

template <typename T>
void write_line(std::ostream& out, const std::vector<T>& values) {
  for (std::size_t i = 0; i < values.size(); ++i) out << (i ? " " : "") << values[i];
  out << '\n';
}

void write_batches(const std::string& path, const std::vector<Batch>& batches) {
  std::ofstream out(path);
  for (const Batch& b : batches) {
    out << b.size << ' ' << b.source_steps << ' ' << b.target_steps << '\n';
    write_line(out, b.source_ids);
    write_line(out, b.source_lengths);
    write_line(out, b.target_input_ids);
    write_line(out, b.target_output_ids);
  }
  if (!out) throw std::runtime_error(path + ": write failed");
}

template <typename T>
std::vector<T> read_numbers(std::istream& in, std::size_t n, const std::string& path) {
  std::vector<T> values(n);
  for (auto& v : values)
    if (!(in >> v)) throw std::runtime_error(path + ": truncated");
  return values;
}

std::vector<Batch> read_batches(const std::string& path) {
  std::ifstream in(path);
  if (!in) throw std::runtime_error(path + ": no such file");
  std::vector<Batch> batches;
  Batch b;
  while (in >> b.size >> b.source_steps >> b.target_steps) {
    b.source_ids = read_numbers<s2s::Index>(in, b.source_steps * b.size, path);
    b.source_lengths = read_numbers<uword>(in, b.size, path);
    b.target_input_ids = read_numbers<s2s::Index>(in, b.target_steps * b.size, path);
    b.target_output_ids = read_numbers<s2s::Index>(in, b.target_steps * b.size, path);
    b.target_lengths.assign(b.size, 0);
    for (uword t = 0; t < b.target_steps; ++t)
      for (uword i = 0; i < b.size; ++i)
        if (b.target_output_ids[t * b.size + i] != s2s::Vocab::kPad) ++b.target_lengths[i];
    batches.push_back(b);
  }
  return batches;
}

void write_params(const std::string& dir, const s2s::ParameterStore<float>& params) {
  std::ofstream bin(dir + "/params.bin", std::ios::binary);
  bin.write(reinterpret_cast<const char*>(params.values().memptr()),
            static_cast<std::streamsize>(params.size() * sizeof(float)));
  std::ofstream txt(dir + "/params.txt");
  for (const auto& e : params.layout().entries())
    txt << e.name << ' ' << e.rows << ' ' << e.cols << ' ' << e.offset << '\n';
  if (!bin || !txt) throw std::runtime_error(dir + ": writing the parameters failed");
}

void read_params(const std::string& dir, s2s::ParameterStore<float>& params) {
  std::ifstream bin(dir + "/params.bin", std::ios::binary | std::ios::ate);
  if (!bin) throw std::runtime_error(dir + "/params.bin: no such file");
  if (static_cast<uword>(bin.tellg()) != params.size() * sizeof(float))
    throw std::runtime_error(dir + "/params.bin: size does not match the model's " +
                             std::to_string(params.size()) + " parameters");
  bin.seekg(0);
  bin.read(reinterpret_cast<char*>(params.values().memptr()),
           static_cast<std::streamsize>(params.size() * sizeof(float)));
}

// ---------------------------------------------------------------------------------------------
// Batches

std::vector<Batch> cmudict_batches(const Options& o, const std::string& dir, uword& src_vocab,
                                   uword& tgt_vocab) {
  s2s::DataConfig data;
  data.train = o.data;
  data.src_tokenizer = "space";
  data.tgt_tokenizer = "space";
  const s2s::TrainingData prepared = s2s::prepare_training_data(data, dir);
  src_vocab = prepared.codec.source_vocab.size();
  tgt_vocab = prepared.codec.target_vocab.size();
  s2s::BatchingConfig batching;
  batching.batch_size = static_cast<std::size_t>(o.batch_size);
  const auto plan = s2s::plan_epoch(prepared.train, batching, o.seed, 0);
  if (plan.size() < static_cast<std::size_t>(o.batches))
    throw std::runtime_error(o.data + " has only " + std::to_string(plan.size()) + " batches");
  std::vector<Batch> batches;
  for (int i = 0; i < o.batches; ++i) batches.push_back(s2s::make_batch(prepared.train, plan[i]));
  return batches;
}

std::vector<Batch> synthetic_batches(const Options& o) {
  s2s::Rng rng(o.seed);
  const auto random_ids = [&](int vocab) {
    std::vector<s2s::Index> ids(static_cast<std::size_t>(o.src_len));
    for (auto& id : ids)
      id = s2s::Vocab::kNumSpecials + static_cast<s2s::Index>(rng.below(vocab - s2s::Vocab::kNumSpecials));
    return ids;
  };
  std::vector<s2s::SequencePair> pairs;
  std::vector<Batch> batches;
  for (int i = 0; i < o.batches; ++i) {
    std::vector<std::size_t> indices;
    for (int b = 0; b < o.batch_size; ++b) {
      indices.push_back(pairs.size());
      pairs.push_back({random_ids(o.src_vocab), random_ids(o.tgt_vocab)});
    }
    batches.push_back(s2s::make_batch(pairs, indices));
  }
  return batches;
}

// ---------------------------------------------------------------------------------------------
// Measurements

// The trainer's step; with workers, each batch is split over their threads.
void train_step(Model& model, s2s::Optimizer<float>& optimizer, const Batch& batch, s2s::Rng& rng,
                s2s::GradientWorkers* workers = nullptr) {
  model.params().zero_grad();
  if (workers != nullptr)
    s2s::data_parallel_forward_backward(model, batch, s2s::LossOptions{}, s2s::Communicator{}, rng,
                                        workers);
  else
    model.forward_backward(batch, s2s::LossOptions{}, true, true, rng);
  s2s::WorkerPool* pool = workers != nullptr ? &workers->pool() : nullptr;
  s2s::clip_grad_norm(model.params().grads(), kClipNorm, pool);
  optimizer.step(model.params(), kLearningRate, pool);
}

double eval_loss(Model& model, const Batch& batch) {
  s2s::Rng unused(0);
  return model.forward_backward(batch, s2s::LossOptions{}, false, false, unused).loss;
}

std::unique_ptr<Model> build_model(const std::string& name, uword src_vocab, uword tgt_vocab) {
  try {
    return s2s::make_model<float>(model_config(name), src_vocab, tgt_vocab);
  } catch (const std::exception& e) {
    std::string reason = e.what();
    std::replace(reason.begin(), reason.end(), '"', '\'');
    std::printf("{\"side\":\"s2s\",\"model\":\"%s\",\"event\":\"unavailable\",\"reason\":\"%s\"}\n",
                name.c_str(), reason.c_str());
    std::exit(3);
  }
}

int run_export(const Options& o) {
  if (o.model.empty() || (o.data.empty() == (o.src_len == 0)))
    throw std::invalid_argument(std::string("--export needs --model and one of --data, --src-len\n") +
                                kUsage);
  uword src_vocab = o.src_vocab, tgt_vocab = o.tgt_vocab;
  std::filesystem::create_directories(o.export_dir);
  const std::vector<Batch> batches =
      o.data.empty() ? synthetic_batches(o) : cmudict_batches(o, o.export_dir, src_vocab, tgt_vocab);
  const s2s::ModelConfig config = model_config(o.model);
  std::unique_ptr<Model> model = build_model(o.model, src_vocab, tgt_vocab);
  s2s::Rng rng(o.seed);
  model->init(rng);
  s2s::set_blas_num_threads(o.threads);
  const auto start = Clock::now();
  if (o.pretrain > 0) {
    auto optimizer = s2s::make_optimizer<float>(s2s::OptimizerConfig{});
    for (int step = 0; step < o.pretrain; ++step)
      train_step(*model, *optimizer, batches[step % batches.size()], rng);
  }
  double flops = 0;
  std::size_t tokens = 0, words = 0;
  for (const Batch& b : batches) {
    flops += forward_flops(config, b, static_cast<double>(tgt_vocab));
    tokens += b.target_tokens();
    words += b.size;
  }
  write_batches(o.export_dir + "/batches.txt", batches);
  write_params(o.export_dir, model->params());
  std::ofstream meta(o.export_dir + "/meta.txt");
  meta << "model " << o.model << "\nsource " << (o.data.empty() ? "synthetic" : o.data)
       << "\nsrc_len " << o.src_len << "\nseed " << o.seed << "\nbatches " << batches.size()
       << "\nbatch_size " << o.batch_size << "\nwords " << words << "\ntarget_tokens " << tokens
       << "\nsrc_vocab " << src_vocab << "\ntgt_vocab " << tgt_vocab << "\nparameters "
       << model->params().size() << "\npretrain_steps " << o.pretrain << "\nforward_flops "
       << flops << "\ndescribe " << model->describe() << '\n';
  std::printf("{\"side\":\"s2s\",\"model\":\"%s\",\"event\":\"exported\",\"dir\":\"%s\","
              "\"batches\":%zu,\"parameters\":%llu,\"pretrain_steps\":%d,\"pretrain_s\":%.2f,"
              "\"mean_target_len\":%.4f}\n",
              o.model.c_str(), o.export_dir.c_str(), batches.size(),
              static_cast<unsigned long long>(model->params().size()), o.pretrain,
              seconds_since(start), double(tokens - words) / double(words));
  return 0;
}

int run_measure(const Options& o) {
  const double base_rss = current_rss_mb();
  const auto meta = read_meta(o.from_dir);
  const std::string name = meta.at("model");
  const std::vector<Batch> batches = read_batches(o.from_dir + "/batches.txt");
  std::unique_ptr<Model> model =
      build_model(name, std::stoul(meta.at("src_vocab")), std::stoul(meta.at("tgt_vocab")));
  read_params(o.from_dir, model->params());
  s2s::set_blas_num_threads(o.workers > 1 ? 1 : o.threads);
  s2s::gemm::set_precision(o.precision);
  s2s::WorkerPool decode_pool(o.workers);
  const std::string suite = meta.at("source") == "synthetic" ? "synthetic" : "file";
  const auto emit = [&](const std::string& metric, double value, const std::string& extra) {
    std::printf("{\"side\":\"s2s\",\"model\":\"%s\",\"suite\":\"%s\",\"src_len\":%s,"
                "\"threads\":%d,\"setting\":\"%d %s%s\",\"precision\":\"%s\",\"metric\":\"%s\","
                "\"value\":%.10g%s}\n",
                name.c_str(), suite.c_str(), meta.at("src_len").c_str(), o.threads, o.threads,
                o.workers > 1 ? "workers" : "BLAS",
                o.precision == s2s::gemm::Precision::kBf16 ? " bf16" : "",
                s2s::gemm::precision_name(o.precision),
                metric.c_str(), value, extra.c_str());
    std::fflush(stdout);
  };
  emit("parameters", static_cast<double>(model->params().size()), "");
  emit("check_loss", eval_loss(*model, batches[0]), "");

  if (o.decode) {
    s2s::DecodeOptions warm;
    s2s::greedy_search(*model, batches[0].source_ids, batches[0].source_lengths,
                       batches[0].source_steps, warm);
    for (uword beam : o.beams) {
      s2s::DecodeOptions options;
      options.beam_size = beam;
      std::size_t words = 0, output_tokens = 0;
      const auto start = Clock::now();
      const auto decoded = s2s::decode_batches(*model, batches, options, &decode_pool);
      const double seconds = seconds_since(start);
      for (std::size_t i = 0; i < batches.size(); ++i) {
        words += batches[i].size;
        for (const auto& h : decoded[i]) output_tokens += h[0].tokens.size();
      }
      char extra[160];
      std::snprintf(extra, sizeof extra, ",\"beam\":%llu,\"seconds\":%.4f,\"mean_output_len\":%.4f",
                    static_cast<unsigned long long>(beam), seconds,
                    double(output_tokens) / double(words));
      emit("decode_words_per_s", double(words) / seconds, extra);
    }
  }

  if (o.train) {
    auto optimizer = s2s::make_optimizer<float>(s2s::OptimizerConfig{});
    s2s::Rng rng(o.seed);
    std::unique_ptr<s2s::GradientWorkers> workers;
    if (o.workers > 1) {
      std::vector<s2s::Rng> rngs;
      for (int w = 1; w < o.workers; ++w) rngs.emplace_back(o.seed + static_cast<std::uint64_t>(w));
      workers = std::make_unique<s2s::GradientWorkers>(
          [&] { return build_model(name, model->source_vocab_size(), model->target_vocab_size()); },
          std::move(rngs));
    }
    train_step(*model, *optimizer, batches[0], rng, workers.get());  // warm-up: buffers, Adam
    std::size_t tokens = 0;
    const auto start = Clock::now();
    for (const Batch& b : batches) {
      train_step(*model, *optimizer, b, rng, workers.get());
      tokens += b.target_tokens();
    }
    const double seconds = seconds_since(start);
    const double flops = 3.0 * std::stod(meta.at("forward_flops"));
    char extra[160];
    std::snprintf(extra, sizeof extra, ",\"seconds\":%.4f,\"tokens\":%zu,\"gflops\":%.3f",
                  seconds, tokens, flops / seconds / 1e9);
    emit("train_tokens_per_s", double(tokens) / seconds, extra);
    emit("final_loss", eval_loss(*model, batches[0]), "");
  }
  char extra[64];
  std::snprintf(extra, sizeof extra, ",\"base_rss_mb\":%.1f", base_rss);
  emit("peak_rss_mb", peak_rss_mb(), extra);
  return 0;
}

std::vector<uword> parse_list(const std::string& text) {
  std::vector<uword> values;
  std::stringstream in(text);
  std::string item;
  while (std::getline(in, item, ',')) values.push_back(std::stoul(item));
  return values;
}

Options parse_options(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string flag = argv[i];
    if (flag == "--no-train") { o.train = false; continue; }
    if (flag == "--no-decode") { o.decode = false; continue; }
    if (i + 1 >= argc) throw std::invalid_argument("missing value after " + flag + "\n" + kUsage);
    const std::string value = argv[++i];
    if (flag == "--model") o.model = value;
    else if (flag == "--data") o.data = value;
    else if (flag == "--export") o.export_dir = value;
    else if (flag == "--from") o.from_dir = value;
    else if (flag == "--batches") o.batches = std::stoi(value);
    else if (flag == "--batch-size") o.batch_size = std::stoi(value);
    else if (flag == "--threads") o.threads = std::stoi(value);
    else if (flag == "--workers") o.workers = std::stoi(value);
    else if (flag == "--src-len") o.src_len = std::stoi(value);
    else if (flag == "--src-vocab") o.src_vocab = std::stoi(value);
    else if (flag == "--tgt-vocab") o.tgt_vocab = std::stoi(value);
    else if (flag == "--pretrain") o.pretrain = std::stoi(value);
    else if (flag == "--seed") o.seed = std::stoull(value);
    else if (flag == "--beams") o.beams = parse_list(value);
    else if (flag == "--precision") o.precision = s2s::gemm::parse_precision(value);
    else throw std::invalid_argument("unknown option " + flag + "\n" + kUsage);
  }
  if (o.export_dir.empty() == o.from_dir.empty())
    throw std::invalid_argument(std::string("give exactly one of --export, --from\n") + kUsage);
  if (o.batches < 1 || o.batch_size < 1 || o.threads < 1 || o.workers < 1)
    throw std::invalid_argument("--batches, --batch-size, --threads and --workers must be positive");
  if (o.workers > 1) o.threads = o.workers;  // W single-threaded workers: W threads in all
  return o;
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  s2s::tune_malloc();  // one arena, blocks kept for reuse (worker_pool.hpp)
  try {
    const Options options = parse_options(argc, argv);
    return options.export_dir.empty() ? run_measure(options) : run_export(options);
  } catch (const std::exception& e) {
    std::fprintf(stderr, "bench_train: %s\n", e.what());
    return 1;
  }
}
