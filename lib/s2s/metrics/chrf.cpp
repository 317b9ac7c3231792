#include "s2s/metrics/chrf.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>

#include "s2s/core/utf8.hpp"

namespace s2s {

double chrf_f_score(const std::vector<long long>& stats, const ChrfConfig& config) {
  const int order = config.char_order;
  if (static_cast<int>(stats.size()) != 3 * order) {
    throw std::invalid_argument("chrf_f_score: expected 3 statistics per order");
  }
  const double eps = 1e-16;
  const double factor = static_cast<double>(config.beta) * config.beta;
  double score = 0.0, avg_precision = 0.0, avg_recall = 0.0;
  int effective_order = 0;
  for (int n = 0; n < order; ++n) {
    const long long n_hyp = stats[3 * n], n_ref = stats[3 * n + 1], n_match = stats[3 * n + 2];
    const double precision = n_hyp > 0 ? static_cast<double>(n_match) / n_hyp : eps;
    const double recall = n_ref > 0 ? static_cast<double>(n_match) / n_ref : eps;
    const double denominator = factor * precision + recall;
    score += denominator > 0 ? (1 + factor) * precision * recall / denominator : eps;
    if (n_hyp > 0 && n_ref > 0) {
      avg_precision += precision;
      avg_recall += recall;
      ++effective_order;
    }
  }
  if (config.eps_smoothing) return 100 * score / order;
  if (effective_order == 0) return 0.0;
  avg_precision /= effective_order;
  avg_recall /= effective_order;
  if (avg_precision + avg_recall == 0) return 0.0;
  score = (1 + factor) * avg_precision * avg_recall;
  score /= factor * avg_precision + avg_recall;
  return 100 * score;
}

ChrfAccumulator::ChrfAccumulator(const ChrfConfig& config) : config_(config) {
  if (config.char_order < 1) {
    throw std::invalid_argument("chrF: char_order must be >= 1, got " +
                                std::to_string(config.char_order));
  }
  stats_.assign(3 * static_cast<std::size_t>(config.char_order), 0);
}

void ChrfAccumulator::code_points(const std::string& line, const char* what,
                                  std::u32string& out) const {
  try {
    out = decode_utf8(line);
  } catch (const std::runtime_error& e) {
    throw std::invalid_argument(std::string("chrF ") + what + ": " + e.what());
  }
  if (!config_.whitespace)
    out.erase(std::remove_if(out.begin(), out.end(), is_python_space), out.end());
}

void ChrfAccumulator::add(const std::string& hyp, const std::vector<std::string>& refs) {
  const int order = config_.char_order;
  code_points(hyp, "hypothesis", hyp_chars_);
  hyp_index_.build(hyp_chars_.data(), hyp_chars_.size(), order);

  double best_f = -1.0;
  bool any_ref = false;
  for (const std::string& ref : refs) {
    if (ref.empty()) continue;  // sacreBLEU drops empty references
    any_ref = true;
    code_points(ref, "reference", ref_chars_);
    ref_index_.build(ref_chars_.data(), ref_chars_.size(), order);
    segment_stats_.assign(3 * static_cast<std::size_t>(order), 0);
    for (int n = 1; n <= order; ++n) {
      long long match = 0;
      for_each_common_ngram(
          hyp_index_, ref_index_, n,
          [&match](std::size_t, std::uint32_t hyp_count, std::uint32_t ref_count) {
            match += std::min(hyp_count, ref_count);
          });
      const auto ref_total = static_cast<long long>(ref_index_.total(n));
      segment_stats_[3 * (n - 1)] = ref_total > 0 ? static_cast<long long>(hyp_index_.total(n)) : 0;
      segment_stats_[3 * (n - 1) + 1] = ref_total;
      segment_stats_[3 * (n - 1) + 2] = match;
    }
    const double f = chrf_f_score(segment_stats_, config_);
    if (f > best_f) {
      best_f = f;
      best_stats_.swap(segment_stats_);
    }
  }
  if (!any_ref) throw std::invalid_argument("chrF: a segment has no (non-empty) reference");
  for (std::size_t i = 0; i < stats_.size(); ++i) stats_[i] += best_stats_[i];
}

ChrfScore ChrfAccumulator::score() const {
  ChrfScore result;
  result.score = chrf_f_score(stats_, config_);
  result.beta = config_.beta;
  return result;
}

ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                      const ChrfConfig& config) {
  return score_corpus<ChrfAccumulator>(hyps, refs, config, "chrF");
}

ChrfScore sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                        const ChrfConfig& config) {
  ChrfAccumulator accumulator(config);
  accumulator.add(hyp, refs);
  return accumulator.score();
}

std::string ChrfScore::format() const {
  char buf[64];
  std::snprintf(buf, sizeof buf, "chrF%d = %.2f", beta, score);
  return buf;
}

std::string chrf_signature(const ChrfConfig& config, int num_refs) {
  return "nrefs:" + (num_refs < 0 ? std::string("var") : std::to_string(num_refs)) +
         "|case:mixed|eff:" + (config.eps_smoothing ? "no" : "yes") +
         "|nc:" + std::to_string(config.char_order) +
         "|nw:0|space:" + (config.whitespace ? "yes" : "no");
}

}  // namespace s2s
