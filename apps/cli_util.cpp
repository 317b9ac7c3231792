#include "cli_util.hpp"

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <thread>

#include "s2s/core/blas_setup.hpp"
#include "s2s/core/gemm.hpp"

namespace po = boost::program_options;

namespace s2s::app {

void parse_args(const Args& args, const po::options_description& opts, po::variables_map& vm,
                Args* rest) {
  auto parser = po::command_line_parser(args).options(opts);
  if (rest != nullptr) parser.allow_unregistered();
  const po::parsed_options parsed = parser.run();
  po::store(parsed, vm);
  po::notify(vm);
  const Args unknown = po::collect_unrecognized(parsed.options, po::include_positional);
  if (rest != nullptr) {
    *rest = unknown;
  } else if (!unknown.empty()) {
    throw UsageError("unexpected argument '" + unknown.front() + "'");
  }
}

void print_usage(const std::string& synopsis, const po::options_description& opts) {
  std::cout << "usage: s2s " << synopsis << "\n\n" << opts << "\n";
}

void DecodeFlags::add_to(po::options_description& opts) {
  opts.add_options()
      ("beam", po::value<int>(&beam)->default_value(0), "beam width (0: the model's decode.beam_size; 1: greedy)")
      ("length-penalty", po::value<double>(&length_penalty)->default_value(-1), "GNMT length penalty alpha (< 0: the model's decode.length_penalty)")
      ("coverage-penalty", po::value<double>(&coverage_penalty)->default_value(-1), "GNMT coverage penalty beta (< 0: the model's decode.coverage_penalty)")
      ("nbest", po::value<int>(&nbest)->default_value(1), "hypotheses per input (<= beam)")
      ("batch-size", po::value<int>(&batch_size)->default_value(64), "sentences decoded together")
      ("workers", po::value<int>(&workers)->default_value(0), "threads decoding whole batches concurrently (0: one per core); the output is the same for any number")
      ("reproducible", po::value<std::string>(&reproducible), "fast | portable (default: the model's train.reproducible; README, Reproducibility)")
      ("precision", po::value<std::string>(&precision), "fp32 | bf16: the weight products (default: the model's train.precision, or fp32 where bf16 cannot run)");
}

void DecodeFlags::add_sampling_to(po::options_description& opts) {
  opts.add_options()
      ("sample", po::bool_switch(&sample), "draw outputs from the model's distribution instead of searching (--nbest samples per input, in the order drawn); reproducible for a --seed, whatever the batching")
      ("temperature", po::value<double>(&temperature)->default_value(1.0), "--sample: divide the log-probabilities by this (> 0; < 1 sharpens, > 1 flattens)")
      ("top-k", po::value<int>(&top_k)->default_value(0), "--sample: draw only among the k most probable tokens (0: all)")
      ("top-p", po::value<double>(&top_p)->default_value(1.0), "--sample: draw only among the fewest most probable tokens whose probability reaches p (nucleus sampling; 1: all)")
      ("seed", po::value<unsigned long long>(&seed)->default_value(1), "--sample: random seed");
}

Reproducibility DecodeFlags::reproducibility(const TrainConfig& model_training) const {
  try {
    return parse_reproducibility(reproducible.empty() ? model_training.reproducible : reproducible);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--reproducible: ") + e.what());
  }
}

void DecodeFlags::enter_precision(const TrainConfig& model_training,
                                  const std::string& command) const {
  gemm::Precision wanted;
  try {
    wanted = gemm::parse_precision(precision.empty() ? model_training.precision : precision);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string(precision.empty() ? "the model's train.precision: " : "--precision: ") + e.what());
  }
  if (precision.empty() && wanted == gemm::Precision::kBf16) {
    const std::string why = gemm::bf16_unavailable_reason();
    if (!why.empty()) {
      std::fprintf(stderr, "%s: note: the model trained with bf16 products, decoding in fp32: %s\n",
                   command.c_str(), why.c_str());
      wanted = gemm::Precision::kFp32;
    }
  }
  try {
    gemm::set_precision(wanted);
  } catch (const std::invalid_argument& e) {
    throw UsageError(std::string("--precision bf16: ") + e.what());
  }
}

bool started_by_mpi_launcher() {
  for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_RANK"})
    if (std::getenv(name) != nullptr) return true;
  return false;
}

void enter_reproducibility(Reproducibility mode, const std::string& why) {
  if (mode != Reproducibility::kPortable) return;
  if (avx2_dispatch_needs_restart() && started_by_mpi_launcher())
    throw std::runtime_error(why + " under an MPI launcher: start every rank with "
                             "S2S_CPU_ISA=avx2 (mpirun -x S2S_CPU_ISA=avx2 ...)");
  enter_avx2_dispatch(why);
  set_blas_num_threads(1);
}

std::unique_ptr<WorkerPool> make_decoding_pool(int workers) {
  if (workers < 0) throw UsageError("--workers must be >= 0");
  if (workers == 0) workers = static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  if (workers > 1) set_blas_num_threads(1);
  return std::make_unique<WorkerPool>(workers);
}

DecodeOptions DecodeFlags::resolve(const DecodeConfig& config) const {
  if (beam < 0) throw UsageError("--beam must be >= 0");
  if (nbest < 1) throw UsageError("--nbest must be >= 1");
  if (batch_size < 1) throw UsageError("--batch-size must be >= 1");
  DecodeOptions options;
  options.beam_size = static_cast<uword>(beam > 0 ? beam : config.beam_size);
  options.length_penalty = length_penalty >= 0 ? length_penalty : config.length_penalty;
  options.coverage_penalty = coverage_penalty >= 0 ? coverage_penalty : config.coverage_penalty;
  if (!std::isfinite(options.coverage_penalty))
    throw UsageError("--coverage-penalty must be a finite number");
  options.max_length_ratio = config.max_length_ratio;
  options.max_length_extra = static_cast<uword>(config.max_length_extra);
  options.nbest = static_cast<uword>(nbest);
  if (sample) {
    if (beam > 0) throw UsageError("--sample draws outputs; it does not take --beam");
    if (top_k < 0) throw UsageError("--top-k must be >= 0");
    options.sampling = {true, temperature, static_cast<uword>(top_k), top_p,
                        static_cast<std::uint64_t>(seed)};
    try {
      check_sampling_options(options.sampling);
    } catch (const std::invalid_argument& e) {
      throw UsageError(std::string("--sample: ") + e.what());
    }
    return options;
  }
  if (options.nbest > options.beam_size)
    throw UsageError("--nbest " + std::to_string(nbest) + " needs --beam of at least as much");
  return options;
}

void print_metrics(std::ostream& out, const EvalMetrics& m, bool json) {
  char buf[512];
  if (json) {
    std::snprintf(buf, sizeof buf,
                  "{\"segments\": %zu, \"bleu\": %.4f, \"chrf\": %.4f, \"per\": %.4f, "
                  "\"wer\": %.4f, \"acc\": %.4f}\n",
                  m.segments, m.bleu, m.chrf, m.per, m.wer, m.acc);
  } else {
    std::snprintf(buf, sizeof buf,
                  "segments %zu\nBLEU  %7.2f\nchrF  %7.2f\nPER   %7.2f %%\nWER   %7.2f %%\n"
                  "acc   %7.2f %%\n",
                  m.segments, m.bleu, m.chrf, m.per, m.wer, m.acc);
  }
  out << buf;
}

}  // namespace s2s::app
