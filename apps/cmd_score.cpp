// s2s score --hyp FILE --ref FILE [--ref FILE ...] [--metric M[,M...]] [--json]
//
// Scores existing hypotheses with the library's metrics. References follow metrics.hpp: every
// --ref file is one reference set (line i of each file is a reference of hypothesis i, as in
// sacreBLEU), and a reference line may hold TAB-separated alternatives (the G2P convention).
// per/wer/acc are the G2P rates of edit_metrics.hpp (Sequitur's), against the closest alternative.
#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <string>
#include <vector>

#include "cli_util.hpp"
#include "s2s/core/json.hpp"
#include "s2s/data/parallel_data.hpp"
#include "s2s/metrics/bleu.hpp"
#include "s2s/metrics/chrf.hpp"
#include "s2s/metrics/edit_metrics.hpp"
#include "s2s/metrics/metrics.hpp"

namespace po = boost::program_options;

namespace s2s::app {

namespace {

const std::vector<std::string> kMetrics = {"bleu", "chrf", "per", "wer", "acc"};

std::string join(const std::vector<std::string>& items, const char* separator) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : separator) + item;
  return out;
}

// The requested metrics in the order first given, each once. Every --metric value may be a
// comma-separated list.
std::vector<std::string> parse_metrics(const std::vector<std::string>& values) {
  std::vector<std::string> metrics;
  for (const std::string& value : values) {
    std::size_t begin = 0;
    while (begin <= value.size()) {
      std::size_t end = value.find(',', begin);
      if (end == std::string::npos) end = value.size();
      const std::string name = value.substr(begin, end - begin);
      if (std::find(kMetrics.begin(), kMetrics.end(), name) == kMetrics.end())
        throw UsageError("Unknown metric: '" + name + "'. Valid options: " + join(kMetrics, ", "));
      if (std::find(metrics.begin(), metrics.end(), name) == metrics.end())
        metrics.push_back(name);
      begin = end + 1;
    }
  }
  return metrics;
}

// Reads the hypotheses and every reference set; line counts must agree, and every segment needs a
// non-empty reference in some set. Errors name the files (and lines).
SegmentRefs read_references(const std::string& hyp_path, std::size_t num_hyps,
                            const std::vector<std::string>& ref_paths) {
  std::vector<std::vector<std::string>> sets;
  for (const std::string& path : ref_paths) {
    sets.push_back(read_text_lines(path));
    if (sets.back().size() != num_hyps)
      throw std::runtime_error(hyp_path + " has " + std::to_string(num_hyps) + " lines but " +
                               path + " has " + std::to_string(sets.back().size()));
  }
  for (std::size_t i = 0; i < num_hyps; ++i) {
    const bool has_reference = std::any_of(sets.begin(), sets.end(), [i](const auto& set) {
      return set[i].find_first_not_of('\t') != std::string::npos;
    });
    if (has_reference) continue;
    std::string where;
    for (const std::string& path : ref_paths)
      where += (where.empty() ? "" : ", ") + path + ":" + std::to_string(i + 1);
    throw std::runtime_error(where + ": empty reference line (no reference for hypothesis " +
                             std::to_string(i + 1) + " of " + hyp_path + ")");
  }
  return gather_references(sets, /*split_tabs=*/true);
}

// One row of the table and one JSON member.
struct MetricRow {
  std::string name;
  double value = 0;
  std::string detail;     // counts behind the value, for the table
  std::string signature;  // sacreBLEU's line (bleu, chrf), "" otherwise
};

std::string format_fixed(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.2f", value);
  return buf;
}

// Shortest text that reads back to the same double; null for inf/nan (not JSON numbers).
std::string json_number(double value) {
  if (!std::isfinite(value)) return "null";
  char buf[64];
  const auto result = std::to_chars(buf, buf + sizeof buf, value);
  return std::string(buf, result.ptr);
}

std::vector<MetricRow> compute(const std::vector<std::string>& metrics,
                               const std::vector<std::string>& hyps, const SegmentRefs& refs) {
  const int num_refs = count_references(refs);
  const bool need_g2p = std::any_of(metrics.begin(), metrics.end(), [](const std::string& m) {
    return m == "per" || m == "wer" || m == "acc";
  });
  G2pScore g2p;
  if (need_g2p) g2p = g2p_score(hyps, refs);
  const std::string words = std::to_string(g2p.words);

  std::vector<MetricRow> rows;
  for (const std::string& metric : metrics) {
    MetricRow row;
    row.name = metric;
    if (metric == "bleu") {
      const BleuConfig config;
      const BleuScore bleu = corpus_bleu(hyps, refs, config);
      row.value = bleu.score;
      const std::string line = bleu.format();  // "BLEU = 48.53 82.4/... (BP = ...)"
      row.signature = "BLEU|" + bleu_signature(config, num_refs) + line.substr(4);
    } else if (metric == "chrf") {
      const ChrfConfig config;
      const ChrfScore chrf = corpus_chrf(hyps, refs, config);
      row.value = chrf.score;
      const std::string line = chrf.format();  // "chrF2 = 59.73"
      const std::size_t name_end = line.find(' ');
      row.signature = line.substr(0, name_end) + "|" + chrf_signature(config, num_refs) +
                      line.substr(name_end);
    } else if (metric == "per") {
      row.value = g2p.per;
      row.detail = std::to_string(g2p.symbol_errors) + " edits / " +
                   std::to_string(g2p.ref_symbols) + " reference tokens";
    } else if (metric == "wer") {
      row.value = g2p.wer;
      row.detail = std::to_string(g2p.word_errors) + " / " + words + " segments wrong";
    } else {
      row.value = g2p.accuracy;
      row.detail = std::to_string(g2p.words - g2p.word_errors) + " / " + words +
                   " segments exact";
    }
    rows.push_back(row);
  }
  return rows;
}

void print_table(std::ostream& out, const std::vector<MetricRow>& rows, std::size_t segments,
                 int num_refs) {
  std::size_t value_width = 5;  // "value"
  for (const MetricRow& row : rows)
    value_width = std::max(value_width, format_fixed(row.value).size());
  const auto pad_left = [](std::string text, std::size_t width) {
    return std::string(width > text.size() ? width - text.size() : 0, ' ') + text;
  };
  out << "segments " << segments << ", references per segment "
      << (num_refs < 0 ? std::string("var") : std::to_string(num_refs)) << "\n\n";
  out << "metric  " << pad_left("value", value_width) << "\n";
  for (const MetricRow& row : rows) {
    std::string name = row.name;
    name.resize(8, ' ');
    out << name << pad_left(format_fixed(row.value), value_width);
    if (!row.detail.empty()) out << "  " << row.detail;
    out << "\n";
  }
  bool first = true;
  for (const MetricRow& row : rows) {
    if (row.signature.empty()) continue;
    out << (first ? "\n" : "") << row.signature << "\n";
    first = false;
  }
}

void print_json(std::ostream& out, const std::vector<MetricRow>& rows, std::size_t segments,
                int num_refs, const std::string& hyp_path, const std::vector<std::string>& refs) {
  out << "{\"hyp\": " << json_string(hyp_path) << ", \"refs\": [";
  for (std::size_t k = 0; k < refs.size(); ++k) out << (k ? ", " : "") << json_string(refs[k]);
  out << "], \"segments\": " << segments << ", \"nrefs\": "
      << json_string(num_refs < 0 ? "var" : std::to_string(num_refs));
  for (const MetricRow& row : rows) {
    out << ", " << json_string(row.name) << ": " << json_number(row.value);
    if (!row.signature.empty())
      out << ", " << json_string(row.name + "_signature") << ": " << json_string(row.signature);
  }
  out << "}\n";
}

}  // namespace

int run_score(const Args& args) {
  std::string hyp_path;
  std::vector<std::string> ref_paths;
  std::vector<std::string> metric_values;
  bool json = false;
  po::options_description opts("s2s score options");
  opts.add_options()
      ("help", "this message")
      ("hyp", po::value<std::string>(&hyp_path), "hypotheses, one per line (required)")
      ("ref", po::value<std::vector<std::string>>(&ref_paths),
       "references, line i for hypothesis i (required); repeat for several reference sets; a "
       "line may hold TAB-separated alternatives")
      ("metric", po::value<std::vector<std::string>>(&metric_values)
                     ->default_value(kMetrics, join(kMetrics, ",")),
       "bleu | chrf | per | wer | acc; repeat or give a comma list. bleu and chrf are "
       "sacreBLEU's defaults (13a, chrF2); per = token edits against the closest alternative / "
       "its length, wer = % of segments matching no alternative, acc = 100 - wer")
      ("json", po::bool_switch(&json), "print one JSON object instead of the table");
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("score --hyp FILE --ref FILE [--ref FILE ...] [--metric M[,M...]] [--json]", opts);
    return 0;
  }
  if (hyp_path.empty()) throw UsageError("--hyp FILE is required (the hypotheses)");
  if (ref_paths.empty()) throw UsageError("--ref FILE is required (the references)");
  const std::vector<std::string> metrics = parse_metrics(metric_values);

  const std::vector<std::string> hyps = read_text_lines(hyp_path);
  const SegmentRefs refs = read_references(hyp_path, hyps.size(), ref_paths);
  const std::vector<MetricRow> rows = compute(metrics, hyps, refs);
  const int num_refs = count_references(refs);
  if (json)
    print_json(std::cout, rows, hyps.size(), num_refs, hyp_path, ref_paths);
  else
    print_table(std::cout, rows, hyps.size(), num_refs);
  return 0;
}

}  // namespace s2s::app
