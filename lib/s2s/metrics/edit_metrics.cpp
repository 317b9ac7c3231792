#include "s2s/metrics/edit_metrics.hpp"

#include <algorithm>
#include <limits>
#include <stdexcept>

namespace s2s {
namespace {

double percent(std::size_t errors, std::size_t total) {
  if (total == 0) return errors == 0 ? 0.0 : std::numeric_limits<double>::infinity();
  return 100.0 * static_cast<double>(errors) / static_cast<double>(total);
}

void tokens_of(std::string_view line, std::vector<std::string_view>& out) {
  out.clear();
  python_split(line, out);
}

}  // namespace

G2pScore g2p_score(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                   std::vector<G2pWordResult>* details) {
  check_segment_refs(hyps.size(), refs, "G2P");
  if (details) details->assign(hyps.size(), G2pWordResult{});
  G2pScore score;
  score.words = hyps.size();
  std::vector<std::string_view> hyp_tokens, ref_tokens, best_tokens;
  std::vector<std::size_t> row;
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    tokens_of(hyps[i], hyp_tokens);
    bool found = false;
    G2pWordResult best;
    for (std::size_t k = 0; k < refs[i].size(); ++k) {
      if (refs[i][k].empty()) continue;
      tokens_of(refs[i][k], ref_tokens);
      const std::size_t edits = levenshtein(hyp_tokens.data(), hyp_tokens.size(), ref_tokens.data(),
                                            ref_tokens.size(), row);
      const bool better = !found || edits < best.edits ||
                          (edits == best.edits &&
                           std::lexicographical_compare(ref_tokens.begin(), ref_tokens.end(),
                                                        best_tokens.begin(), best_tokens.end()));
      if (better) {
        found = true;
        best = {k, edits, ref_tokens.size()};
        best_tokens.swap(ref_tokens);
      }
    }
    if (!found) {
      throw std::invalid_argument("G2P: word " + std::to_string(i + 1) +
                                  " has no (non-empty) reference");
    }
    score.symbol_errors += best.edits;
    score.ref_symbols += best.ref_length;
    if (best.edits > 0) ++score.word_errors;
    if (details) (*details)[i] = best;
  }
  score.per = percent(score.symbol_errors, score.ref_symbols);
  score.wer = percent(score.word_errors, score.words);
  score.accuracy = percent(score.words - score.word_errors, score.words);
  return score;
}

double exact_match_accuracy(const std::vector<std::string>& hyps, const SegmentRefs& refs) {
  check_segment_refs(hyps.size(), refs, "exact match");
  if (hyps.empty()) return 0.0;
  std::vector<std::string_view> hyp_tokens, ref_tokens;
  std::size_t correct = 0;
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    tokens_of(hyps[i], hyp_tokens);
    for (const std::string& ref : refs[i]) {
      if (ref.empty()) continue;
      tokens_of(ref, ref_tokens);
      if (ref_tokens == hyp_tokens) {
        ++correct;
        break;
      }
    }
  }
  return 100.0 * static_cast<double>(correct) / static_cast<double>(hyps.size());
}

WerScore corpus_wer(const std::vector<std::string>& hyps, const std::vector<std::string>& refs) {
  if (hyps.size() != refs.size()) {
    throw std::invalid_argument("WER: " + std::to_string(hyps.size()) + " hypotheses but " +
                                std::to_string(refs.size()) + " references");
  }
  WerScore score;
  std::vector<std::string_view> hyp_tokens, ref_tokens;
  std::vector<std::size_t> row;
  for (std::size_t i = 0; i < hyps.size(); ++i) {
    tokens_of(hyps[i], hyp_tokens);
    tokens_of(refs[i], ref_tokens);
    score.edits += levenshtein(hyp_tokens.data(), hyp_tokens.size(), ref_tokens.data(),
                               ref_tokens.size(), row);
    score.ref_words += ref_tokens.size();
  }
  score.wer = percent(score.edits, score.ref_words);
  return score;
}

}  // namespace s2s
