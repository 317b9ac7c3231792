// s2s score-model --model DIR [--model DIR ...] --src FILE [--tgt FILE] [--output FILE]
//
// Forced scoring (s2s/decoding/forced_scoring.hpp): the log-probability a model (or an ensemble)
// gives each target line, token by token, for rescoring, calibration and minimum-Bayes-risk
// studies. The targets come from --tgt (line i is scored given source i), or from the source
// file's second and later TAB columns when it is a TSV. A line may hold TAB-separated
// alternatives (G2P .ref files); each is scored. One JSON object per scored target:
//   {"line": 3, "alternative": 0, "log_prob": -1.25,
//    "tokens": ["T", "UH", "</s>"], "token_log_probs": [-0.1, -0.9, -0.25]}
// "tokens" are the target vocabulary's (a word it lacks is "<unk>"), ending with "</s>";
// log_prob is their sum. Standard error gets one summary line: targets, tokens, total
// log-probability and perplexity.
#include <cmath>
#include <cstdio>
#include <iostream>
#include <optional>

#include "cli_util.hpp"
#include "model_dir.hpp"
#include "output_file.hpp"
#include "s2s/core/json.hpp"
#include "s2s/decoding/forced_scoring.hpp"

namespace po = boost::program_options;

namespace s2s::app {

int run_score_model(const Args& args) {
  ModelFlags model;
  std::string source, target, output;
  int batch_size = 64, workers = 0;
  std::string reproducible, precision;
  po::options_description opts("s2s score-model options");
  model.add_to(opts);
  opts.add_options()
      ("help", "this message")
      ("src", po::value<std::string>(&source), "sources, one per line; a TSV's other columns are the targets when there is no --tgt")
      ("tgt", po::value<std::string>(&target), "targets to score, line i given source i; TAB-separated alternatives are each scored")
      ("output", po::value<std::string>(&output), "write the JSON lines here (default: standard output)")
      ("batch-size", po::value<int>(&batch_size)->default_value(64), "sources scored together")
      ("workers", po::value<int>(&workers)->default_value(0), "threads scoring whole batches concurrently (0: one per core)")
      ("reproducible", po::value<std::string>(&reproducible), "fast | portable (default: the model's train.reproducible)")
      ("precision", po::value<std::string>(&precision), "fp32 | bf16: the weight products (default: the model's train.precision, or fp32 where bf16 cannot run)");
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("score-model --model DIR --src FILE [--tgt FILE] [options]", opts);
    return 0;
  }
  if (source.empty()) throw UsageError("--src FILE is required");
  if (batch_size < 1) throw UsageError("--batch-size must be >= 1");
  refuse_same_file(source, output, "--src", "--output");
  refuse_same_file(target, output, "--tgt", "--output");

  DecodingModels models = model.load();
  DecodeFlags flags;  // only for --reproducible's and --precision's parsing
  flags.reproducible = reproducible;
  flags.precision = precision;
  enter_reproducibility(flags.reproducibility(models.config().train), "portable mode");
  flags.enter_precision(models.config().train, "s2s score-model");
  const EvalData data =
      read_eval_data(source, target.empty() ? std::vector<std::string>{} : std::vector{target});
  const Codec& codec = models.codec();
  check_source_lengths(data, codec, models.model().max_length());

  // Every (line, alternative) pair becomes one scored source-target pair.
  std::vector<std::vector<Index>> sources, targets;
  std::vector<std::pair<std::size_t, std::size_t>> origin;  // (line, alternative)
  std::vector<std::vector<std::string>> oovs(data.sources.size());  // model.copy
  for (std::size_t i = 0; i < data.sources.size(); ++i) {
    const std::vector<Index> ids = codec.encode_source(data.sources[i], &oovs[i]);
    if (ids.empty())
      throw std::runtime_error(data.source_path + ":" + std::to_string(i + 1) +
                               ": empty source");
    for (std::size_t k = 0; k < data.references[i].size(); ++k) {
      sources.push_back(ids);
      targets.push_back(codec.encode_target(data.references[i][k], oovs[i]));
      origin.emplace_back(i, k);
    }
  }
  const auto pool = make_decoding_pool(workers);
  const auto scores = force_decode_all(models.model(), sources, targets,
                                       static_cast<uword>(batch_size), pool.get());

  std::optional<OutputFile> output_file;
  if (!output.empty()) output_file.emplace(output);
  std::ostream& out = output_file ? output_file->stream() : std::cout;
  double total = 0.0;
  std::size_t tokens = 0;
  char number[32];
  for (std::size_t j = 0; j < scores.size(); ++j) {
    std::vector<std::string> names =
        codec.target_vocab.decode(targets[j], oovs[origin[j].first], false);
    names.push_back(codec.target_vocab.token(Vocab::kEos));
    double sum = 0.0;
    for (double lp : scores[j]) sum += lp;
    total += sum;
    tokens += scores[j].size();
    std::snprintf(number, sizeof number, "%.9g", sum);
    out << "{\"line\": " << origin[j].first + 1 << ", \"alternative\": " << origin[j].second
        << ", \"log_prob\": " << number << ", \"tokens\": [";
    for (std::size_t t = 0; t < names.size(); ++t) out << (t ? ", " : "") << json_string(names[t]);
    out << "], \"token_log_probs\": [";
    for (std::size_t t = 0; t < scores[j].size(); ++t) {
      std::snprintf(number, sizeof number, "%.9g", scores[j][t]);
      out << (t ? ", " : "") << number;
    }
    out << "]}\n";
  }
  if (output_file) output_file->commit(); else check_stdout();
  std::fprintf(stderr, "scored %zu targets of %zu lines, %zu tokens (</s> included): "
               "log-probability %.4f, perplexity %.4f\n",
               scores.size(), data.sources.size(), tokens, total,
               tokens > 0 ? std::exp(-total / double(tokens)) : 0.0);
  return 0;
}

}  // namespace s2s::app
