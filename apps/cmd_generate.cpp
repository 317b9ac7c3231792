// s2s generate --task reverse|copy|sort|date --out FILE.tsv [--count N] [--seed S] [ranges]
// s2s generate --benchmark reverse --out-dir DIR
//
// Writes generated tasks (synthetic.hpp) as "source<TAB>target" lines. The output is a
// deterministic function of the options, so existing files are overwritten.
#include <climits>
#include <filesystem>
#include <iostream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "s2s/data/synthetic.hpp"

namespace po = boost::program_options;

namespace s2s::app {

namespace {

const std::vector<const char*> kSequenceFlags = {"min-len", "max-len", "min-token", "max-token"};
const std::vector<const char*> kDateFlags = {"min-year", "max-year"};
const char* const kTaskFlags[] = {"task",    "out",     "count",     "seed",     "min-len",
                                  "max-len", "min-token", "max-token", "min-year", "max-year"};

bool given(const po::variables_map& vm, const char* name) {
  return vm.count(name) > 0 && !vm[name].defaulted();
}

void create_parent_directory(const std::string& path) {
  const std::filesystem::path parent = std::filesystem::path(path).parent_path();
  if (parent.empty()) return;
  std::error_code error;
  std::filesystem::create_directories(parent, error);
  if (error) throw std::runtime_error(parent.string() + ": cannot create directory (" +
                                      error.message() + ")");
}

// `low <= value <= high` for the flag called `name`, else a UsageError quoting the value.
void check_range(const char* name, long long value, long long low, long long high) {
  if (value >= low && value <= high) return;
  throw UsageError("--" + std::string(name) + " " + std::to_string(value) + ": must be in [" +
                   std::to_string(low) + ", " + std::to_string(high) + "]");
}

void check_order(const char* low_name, long long low, const char* high_name, long long high) {
  if (low <= high) return;
  throw UsageError("--" + std::string(low_name) + " " + std::to_string(low) +
                   " is greater than --" + high_name + " " + std::to_string(high));
}

int write_benchmark(const std::string& name, const std::string& out_dir) {
  if (name != "reverse")
    throw UsageError("Unknown benchmark: '" + name + "'. Valid options: reverse");
  if (out_dir.empty()) throw UsageError("--benchmark needs --out-dir DIR");
  create_parent_directory(out_dir + "/train.tsv");
  for (const char* split : {"train", "dev", "test"}) {
    const SyntheticConfig config = reverse_benchmark(split);
    const std::string path = out_dir + "/" + split + ".tsv";
    write_parallel_tsv(path, generate_synthetic(config));
    std::cout << "wrote " << path << ": " << config.count << " pairs, lengths "
              << config.min_length << "-" << config.max_length << ", seed " << config.seed
              << "\n";
  }
  return 0;
}

}  // namespace

int run_generate(const Args& args) {
  const SyntheticConfig defaults;
  std::string task_name, out_path, benchmark, out_dir;
  long long count = 0, seed = 0, min_len = 0, max_len = 0, min_token = 0, max_token = 0,
            min_year = 0, max_year = 0;
  const auto as_ll = [](auto value) { return static_cast<long long>(value); };
  po::options_description opts("s2s generate options");
  opts.add_options()
      ("help", "this message")
      ("task", po::value<std::string>(&task_name)->default_value("reverse"),
       "reverse | copy | sort (space-separated integer tokens) | date (\"march 3rd, 1999\" -> "
       "\"1999-03-03\")")
      ("out", po::value<std::string>(&out_path),
       "output TSV file (required with --task; its directory is created; an existing file is "
       "overwritten - the output is a deterministic function of the options)")
      ("count", po::value<long long>(&count)->default_value(as_ll(defaults.count)), "number of pairs")
      ("seed", po::value<long long>(&seed)->default_value(as_ll(defaults.seed)), "random seed (>= 0)")
      ("min-len", po::value<long long>(&min_len)->default_value(as_ll(defaults.min_length)), "reverse/copy/sort: minimum sequence length")
      ("max-len", po::value<long long>(&max_len)->default_value(as_ll(defaults.max_length)), "reverse/copy/sort: maximum sequence length")
      ("min-token", po::value<long long>(&min_token)->default_value(defaults.min_token), "reverse/copy/sort: smallest token")
      ("max-token", po::value<long long>(&max_token)->default_value(defaults.max_token), "reverse/copy/sort: largest token")
      ("min-year", po::value<long long>(&min_year)->default_value(defaults.min_year), "date: first year")
      ("max-year", po::value<long long>(&max_year)->default_value(defaults.max_year), "date: last year")
      ("benchmark", po::value<std::string>(&benchmark),
       "instead of --task: write a whole benchmark, 'reverse' (Joey NMT's: tokens 0-49; train "
       "50000 pairs of lengths 1-25, dev and test 1000 of lengths 1-30)")
      ("out-dir", po::value<std::string>(&out_dir),
       "with --benchmark: directory for train.tsv, dev.tsv, test.tsv (created; existing files "
       "are overwritten)");
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("generate --task reverse|copy|sort|date --out FILE.tsv [options]\n"
                "       s2s generate --benchmark reverse --out-dir DIR",
                opts);
    return 0;
  }

  if (vm.count("benchmark")) {
    for (const char* flag : kTaskFlags)
      if (given(vm, flag))
        throw UsageError("--" + std::string(flag) + " cannot be combined with --benchmark " +
                         "(a benchmark fixes every setting; give only --out-dir)");
    return write_benchmark(benchmark, out_dir);
  }
  if (vm.count("out-dir")) throw UsageError("--out-dir goes with --benchmark; use --out FILE with --task");
  if (out_path.empty()) throw UsageError("--out FILE is required (or --benchmark NAME --out-dir DIR)");

  SyntheticConfig config;
  try {
    config.task = parse_synthetic_task(task_name);
  } catch (const std::invalid_argument& e) {
    throw UsageError(e.what());
  }
  const bool is_date = config.task == SyntheticTask::kDate;
  for (const char* flag : is_date ? kSequenceFlags : kDateFlags)
    if (given(vm, flag))
      throw UsageError("--" + std::string(flag) + " does not apply to --task " + task_name);
  check_range("count", count, 1, LLONG_MAX);
  check_range("seed", seed, 0, LLONG_MAX);
  if (is_date) {
    check_range("min-year", min_year, 1, 9999);
    check_range("max-year", max_year, 1, 9999);
    check_order("min-year", min_year, "max-year", max_year);
  } else {
    check_range("min-len", min_len, 1, LLONG_MAX);
    check_range("max-len", max_len, 1, LLONG_MAX);
    check_order("min-len", min_len, "max-len", max_len);
    check_range("min-token", min_token, 0, INT_MAX);
    check_range("max-token", max_token, 0, INT_MAX);
    check_order("min-token", min_token, "max-token", max_token);
  }
  config.count = static_cast<std::size_t>(count);
  config.seed = static_cast<std::uint64_t>(seed);
  config.min_length = static_cast<std::size_t>(min_len);
  config.max_length = static_cast<std::size_t>(max_len);
  config.min_token = static_cast<int>(min_token);
  config.max_token = static_cast<int>(max_token);
  config.min_year = static_cast<int>(min_year);
  config.max_year = static_cast<int>(max_year);

  create_parent_directory(out_path);
  write_parallel_tsv(out_path, generate_synthetic(config));
  std::cout << "wrote " << out_path << ": " << config.count << " " << task_name
            << " pairs, seed " << config.seed << "\n";
  return 0;
}

}  // namespace s2s::app
