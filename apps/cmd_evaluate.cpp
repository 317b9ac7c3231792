// s2s evaluate --model DIR --src FILE --ref FILE [--ref FILE ...] [--beam K] [--json]
#include <fstream>
#include <iostream>

#include "cli_util.hpp"
#include "model_dir.hpp"
#include "output_file.hpp"

namespace po = boost::program_options;

namespace s2s::app {

int run_evaluate(const Args& args) {
  ModelFlags model;
  std::string source, output;
  std::vector<std::string> refs;
  bool json = false;
  DecodeFlags flags;
  po::options_description opts("s2s evaluate options");
  model.add_to(opts);
  opts.add_options()
      ("help", "this message")
      ("src", po::value<std::string>(&source), "sources, one per line (a TSV's first column is the source; with no --ref its other columns are the references)")
      ("ref", po::value<std::vector<std::string>>(&refs), "reference file; repeat for several reference sets; a line may hold TAB-separated alternatives")
      ("output", po::value<std::string>(&output), "also write the hypotheses to this file")
      ("json", po::bool_switch(&json), "print the metrics as one JSON object");
  flags.add_to(opts);
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("evaluate --model DIR --src FILE [--ref FILE ...] [options]", opts);
    return 0;
  }
  if (source.empty()) throw UsageError("--src FILE is required");

  refuse_same_file(source, output, "--src", "--output");
  for (const std::string& ref : refs) refuse_same_file(ref, output, "--ref", "--output");
  DecodingModels models = model.load();
  // Before any input is read: portable mode may restart the program.
  enter_reproducibility(flags.reproducibility(models.config().train), "portable mode");
  flags.enter_precision(models.config().train, "s2s evaluate");
  const DecodeOptions options = flags.resolve(models.config().decode);
  const EvalData data = read_eval_data(source, refs);
  check_source_lengths(data, models.codec(), models.model().max_length());
  const Codec& codec = models.codec();
  std::vector<std::vector<std::string>> oovs;
  const std::vector<std::vector<Index>> sources = codec.encode_sources(data.sources, oovs);
  const auto pool = make_decoding_pool(flags.workers);
  const auto translations =
      translate(models.model(), sources, codec.target_vocab, *codec.target_tokenizer, options,
                static_cast<uword>(flags.batch_size), pool.get(), {}, oovs);
  std::vector<std::string> hyps;
  for (const auto& t : translations) hyps.push_back(t.text);
  if (!output.empty()) {
    OutputFile out(output);
    for (const auto& h : hyps) out.stream() << h << "\n";
    out.commit();
  }
  if (!json) std::cout << "model " << models.model().describe() << "\n";
  print_metrics(std::cout, score_all(hyps, data.references), json);
  return 0;
}

}  // namespace s2s::app
