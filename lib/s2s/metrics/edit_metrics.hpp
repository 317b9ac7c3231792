#pragma once
// Edit-distance metrics: G2P phoneme/word error rates as Sequitur (Evaluation.py) and
// Phonetisaurus report them, exact-match accuracy, and generic word error rate.
//
// Sequences are whitespace-separated tokens (phonemes for G2P, words for WER), split as Python's
// str.split() splits (metrics.hpp). Levenshtein distance d(h, r) counts insertions, deletions
// and substitutions at cost 1 each.
//
// G2P (several alternative references per word, refs[i] = alternatives of word i):
//   per word i, r*_i = the alternative with the smallest d(h_i, r); on a tie the
//                     lexicographically smallest token sequence (Sequitur sorts the tuples
//                     (errors, reference, alignment) and takes the first)
//   PER = 100 · Σ_i d(h_i, r*_i) / Σ_i |r*_i|       (phoneme / symbol error rate)
//   WER = 100 · #{i : d(h_i, r*_i) > 0} / #words    (word / string error rate)
//   accuracy = 100 · #{i : h_i equals some alternative} / #words = 100 - WER
// Generic WER (one reference per segment): 100 · Σ_i d(h_i, r_i) / Σ_i |r_i|.
// A rate whose denominator is 0 is 0 when there are no errors and +inf otherwise.
#include <algorithm>
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

#include "s2s/metrics/metrics.hpp"

namespace s2s {

// Levenshtein distance between a[0..n) and b[0..m) with one row of m + 1 cells (`row` is
// resized to that and reused; no other allocation).
template <typename Token>
std::size_t levenshtein(const Token* a, std::size_t n, const Token* b, std::size_t m,
                        std::vector<std::size_t>& row) {
  row.resize(m + 1);
  for (std::size_t j = 0; j <= m; ++j) row[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    std::size_t diagonal = row[0];  // d(i-1, j-1)
    row[0] = i;
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t above = row[j];  // d(i-1, j)
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min(std::min(above, row[j - 1]) + 1, substitute);
      diagonal = above;
    }
  }
  return row[m];
}

template <typename Token>
std::size_t levenshtein(const std::vector<Token>& a, const std::vector<Token>& b) {
  std::vector<std::size_t> row;
  return levenshtein(a.data(), a.size(), b.data(), b.size(), row);
}

struct G2pScore {
  double per = 0;       // phoneme error rate, percent
  double wer = 0;       // word error rate, percent
  double accuracy = 0;  // exact-match accuracy, percent
  std::size_t words = 0;
  std::size_t word_errors = 0;
  std::size_t symbol_errors = 0;  // Σ edits against the chosen references
  std::size_t ref_symbols = 0;    // Σ lengths of the chosen references
};

// Per-word detail, for error listings.
struct G2pWordResult {
  std::size_t best_ref = 0;  // index into refs[i] (empty alternatives count)
  std::size_t edits = 0;
  std::size_t ref_length = 0;
};

// Throws std::invalid_argument when the sizes differ or a word has no non-empty alternative.
G2pScore g2p_score(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                   std::vector<G2pWordResult>* details = nullptr);

// Share (percent) of hypotheses whose token sequence equals one of their references'.
double exact_match_accuracy(const std::vector<std::string>& hyps, const SegmentRefs& refs);

struct WerScore {
  double wer = 0;  // percent
  std::size_t edits = 0;
  std::size_t ref_words = 0;
};

// Word-level edit distance over the whole corpus, one reference per hypothesis.
WerScore corpus_wer(const std::vector<std::string>& hyps, const std::vector<std::string>& refs);

}  // namespace s2s
