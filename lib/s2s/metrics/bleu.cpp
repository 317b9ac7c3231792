#include "s2s/metrics/bleu.hpp"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <stdexcept>

namespace s2s {
namespace {

// out = in with every non-overlapping `from` (left to right) replaced by `to` (Python
// str.replace).
void replace_all(std::string_view in, std::string_view from, std::string_view to,
                 std::string& out) {
  out.clear();
  std::size_t pos = 0;
  for (std::size_t hit; (hit = in.find(from, pos)) != std::string_view::npos;
       pos = hit + from.size()) {
    out.append(in.substr(pos, hit - pos));
    out.append(to);
  }
  out.append(in.substr(pos));
}

bool is_digit(char c) { return c >= '0' && c <= '9'; }

// [\{-\~\[-\` -\&\(-\+\:-\@\/]
bool is_13a_punct(char ch) {
  const unsigned char c = static_cast<unsigned char>(ch);
  return (c >= '{' && c <= '~') || (c >= '[' && c <= '`') || (c >= ' ' && c <= '&') ||
         (c >= '(' && c <= '+') || (c >= ':' && c <= '@') || c == '/';
}

// The 13a pipeline up to (not including) the final whitespace split; result in `text`.
void tokenize_13a_unsplit(std::string_view line, std::string& text, std::string& scratch) {
  line = python_rstrip(line);
  replace_all(line, "<skipped>", "", text);
  replace_all(text, "-\n", "", scratch);
  replace_all(scratch, "\n", " ", text);
  if (text.find('&') != std::string::npos) {
    replace_all(text, "&quot;", "\"", scratch);
    replace_all(scratch, "&amp;", "&", text);
    replace_all(text, "&lt;", "<", scratch);
    replace_all(scratch, "&gt;", ">", text);
  }

  // " {line} " and  ([\{-\~\[-\` -\&\(-\+\:-\@\/]) -> " \1 "
  scratch.clear();
  scratch.push_back(' ');
  for (char c : text) {
    if (is_13a_punct(c)) {
      scratch.push_back(' ');
      scratch.push_back(c);
      scratch.push_back(' ');
    } else {
      scratch.push_back(c);
    }
  }
  scratch.push_back(' ');

  // ([^0-9])([\.,]) -> "\1 \2 "
  text.clear();
  for (std::size_t i = 0; i < scratch.size();) {
    if (i + 1 < scratch.size() && !is_digit(scratch[i]) &&
        (scratch[i + 1] == '.' || scratch[i + 1] == ',')) {
      text.push_back(scratch[i]);
      text.push_back(' ');
      text.push_back(scratch[i + 1]);
      text.push_back(' ');
      i += 2;
    } else {
      text.push_back(scratch[i++]);
    }
  }

  // ([\.,])([^0-9]) -> " \1 \2"
  scratch.clear();
  for (std::size_t i = 0; i < text.size();) {
    if (i + 1 < text.size() && (text[i] == '.' || text[i] == ',') && !is_digit(text[i + 1])) {
      scratch.push_back(' ');
      scratch.push_back(text[i]);
      scratch.push_back(' ');
      scratch.push_back(text[i + 1]);
      i += 2;
    } else {
      scratch.push_back(text[i++]);
    }
  }

  // ([0-9])(-) -> "\1 \2 "
  text.clear();
  for (std::size_t i = 0; i < scratch.size();) {
    if (i + 1 < scratch.size() && is_digit(scratch[i]) && scratch[i + 1] == '-') {
      text.push_back(scratch[i]);
      text.push_back(' ');
      text.push_back('-');
      text.push_back(' ');
      i += 2;
    } else {
      text.push_back(scratch[i++]);
    }
  }
}

// sacreBLEU's my_log.
double log_or_floor(double x) { return x == 0.0 ? -9999999999.0 : std::log(x); }

double default_smooth_value(BleuSmooth smooth) {
  switch (smooth) {
    case BleuSmooth::kFloor:
      return 0.1;
    case BleuSmooth::kAddK:
      return 1.0;
    default:
      return 0.0;
  }
}

}  // namespace

std::string tokenize_13a(std::string_view line) {
  std::string text, scratch;
  tokenize_13a_unsplit(line, text, scratch);
  std::vector<std::string_view> words;
  python_split(text, words);
  std::string joined;
  for (std::size_t i = 0; i < words.size(); ++i) {
    if (i > 0) joined.push_back(' ');
    joined.append(words[i]);
  }
  return joined;
}

BleuAccumulator::BleuAccumulator(const BleuConfig& config) : config_(config) {
  if (config.max_ngram_order < 1) {
    throw std::invalid_argument("BLEU: max_ngram_order must be >= 1, got " +
                                std::to_string(config.max_ngram_order));
  }
  const auto order = static_cast<std::size_t>(config.max_ngram_order);
  stats_.correct.assign(order, 0);
  stats_.total.assign(order, 0);
  clip_offsets_.resize(order + 1);
}

void BleuAccumulator::tokenize(std::string_view line, Tokens& out) {
  out.words.clear();
  if (config_.tokenize == BleuTokenize::k13a) {
    tokenize_13a_unsplit(line, out.text, scratch_);
  } else {
    out.text.assign(python_rstrip(line));
  }
  python_split(out.text, out.words);
}

void BleuAccumulator::add(std::string_view hyp, const std::vector<std::string>& refs) {
  const int max_order = config_.max_ngram_order;
  tokenize(hyp, hyp_);
  const std::size_t hyp_len = hyp_.words.size();
  hyp_index_.build(hyp_.words.data(), hyp_len, max_order);

  // Distinct hypothesis n-grams of all orders share one clip buffer.
  for (int n = 1; n <= max_order; ++n) {
    clip_offsets_[n] = clip_offsets_[n - 1] + hyp_index_.runs(n).size();
  }
  clip_.assign(clip_offsets_[max_order], 0);

  std::size_t num_refs = 0;
  long long closest_len = -1, closest_diff = -1;
  for (const std::string& ref : refs) {
    if (ref.empty()) continue;  // sacreBLEU drops empty references
    ++num_refs;
    tokenize(ref, ref_);
    const auto ref_len = static_cast<long long>(ref_.words.size());
    const long long diff = std::llabs(static_cast<long long>(hyp_len) - ref_len);
    if (closest_diff < 0 || diff < closest_diff ||
        (diff == closest_diff && ref_len < closest_len)) {
      closest_diff = diff;
      closest_len = ref_len;
    }
    ref_index_.build(ref_.words.data(), ref_.words.size(), max_order);
    for (int n = 1; n <= max_order; ++n) {
      std::uint32_t* clip = clip_.data() + clip_offsets_[n - 1];
      for_each_common_ngram(hyp_index_, ref_index_, n,
                            [clip](std::size_t run, std::uint32_t, std::uint32_t ref_count) {
                              clip[run] = std::max(clip[run], ref_count);
                            });
    }
  }
  if (num_refs == 0) throw std::invalid_argument("BLEU: a segment has no (non-empty) reference");

  stats_.sys_len += static_cast<long long>(hyp_len);
  stats_.ref_len += closest_len;
  for (int n = 1; n <= max_order; ++n) {
    const auto& runs = hyp_index_.runs(n);
    const std::uint32_t* clip = clip_.data() + clip_offsets_[n - 1];
    long long correct = 0;
    for (std::size_t run = 0; run < runs.size(); ++run)
      correct += std::min(runs[run].count, clip[run]);
    stats_.correct[n - 1] += correct;
    stats_.total[n - 1] += static_cast<long long>(hyp_index_.total(n));
  }
}

BleuScore BleuAccumulator::score() const { return compute_bleu(stats_, config_); }

BleuScore compute_bleu(const BleuStats& stats, const BleuConfig& config) {
  const int max_order = config.max_ngram_order;
  if (static_cast<int>(stats.correct.size()) != max_order ||
      static_cast<int>(stats.total.size()) != max_order) {
    throw std::invalid_argument("compute_bleu: statistics do not have max_ngram_order entries");
  }
  const double smooth_value =
      config.smooth_value >= 0 ? config.smooth_value : default_smooth_value(config.smooth);

  BleuScore result;
  result.counts = stats.correct;
  result.totals = stats.total;
  result.sys_len = stats.sys_len;
  result.ref_len = stats.ref_len;
  result.ratio = stats.ref_len ? static_cast<double>(stats.sys_len) / stats.ref_len : 0.0;
  if (stats.sys_len < stats.ref_len) {
    result.bp = stats.sys_len > 0
                    ? std::exp(1.0 - static_cast<double>(stats.ref_len) / stats.sys_len)
                    : 0.0;
  } else {
    result.bp = 1.0;
  }
  result.precisions.assign(static_cast<std::size_t>(max_order), 0.0);

  // No match at all: 0 without smoothing (sacreBLEU #141).
  if (std::all_of(stats.correct.begin(), stats.correct.end(), [](long long c) { return c == 0; })) {
    return result;
  }

  double smooth_mteval = 1.0;
  int effective_order = max_order;
  for (int n = 1; n <= max_order; ++n) {
    double correct = static_cast<double>(stats.correct[n - 1]);
    double total = static_cast<double>(stats.total[n - 1]);
    if (config.smooth == BleuSmooth::kAddK && n > 1) {
      correct += smooth_value;
      total += smooth_value;
    }
    if (total == 0) break;
    if (config.effective_order) effective_order = n;
    double& precision = result.precisions[n - 1];
    if (correct == 0) {
      if (config.smooth == BleuSmooth::kExp) {
        smooth_mteval *= 2;
        precision = 100.0 / (smooth_mteval * total);
      } else if (config.smooth == BleuSmooth::kFloor) {
        precision = 100.0 * smooth_value / total;
      }
    } else {
      precision = 100.0 * correct / total;
    }
  }

  double log_sum = 0.0;
  for (int n = 0; n < effective_order; ++n) log_sum += log_or_floor(result.precisions[n]);
  result.score = result.bp * std::exp(log_sum / effective_order);
  return result;
}

BleuScore corpus_bleu(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                      const BleuConfig& config) {
  return score_corpus<BleuAccumulator>(hyps, refs, config, "BLEU");
}

BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuConfig& config) {
  BleuAccumulator accumulator(config);
  accumulator.add(hyp, refs);
  return accumulator.score();
}

std::string BleuScore::format() const {
  std::string out;
  char buf[128];
  std::snprintf(buf, sizeof buf, "BLEU = %.2f ", score);
  out += buf;
  for (std::size_t n = 0; n < precisions.size(); ++n) {
    std::snprintf(buf, sizeof buf, n == 0 ? "%.1f" : "/%.1f", precisions[n]);
    out += buf;
  }
  std::snprintf(buf, sizeof buf, " (BP = %.3f ratio = %.3f hyp_len = %lld ref_len = %lld)", bp,
                ratio, sys_len, ref_len);
  out += buf;
  return out;
}

std::string bleu_signature(const BleuConfig& config, int num_refs) {
  std::string smooth;
  char value[32];
  switch (config.smooth) {
    case BleuSmooth::kNone:
      smooth = "none";
      break;
    case BleuSmooth::kExp:
      smooth = "exp";
      break;
    case BleuSmooth::kFloor:
    case BleuSmooth::kAddK: {
      const double v =
          config.smooth_value >= 0 ? config.smooth_value : default_smooth_value(config.smooth);
      std::snprintf(value, sizeof value, "[%.2f]", v);
      smooth = std::string(config.smooth == BleuSmooth::kFloor ? "floor" : "add-k") + value;
      break;
    }
  }
  return "nrefs:" + (num_refs < 0 ? std::string("var") : std::to_string(num_refs)) +
         "|case:mixed|eff:" + (config.effective_order ? "yes" : "no") +
         "|tok:" + (config.tokenize == BleuTokenize::k13a ? "13a" : "none") + "|smooth:" + smooth;
}

}  // namespace s2s
