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
#include <limits>
#include <string>
#include <string_view>
#include <vector>

#include "s2s/metrics/metrics.hpp"

namespace s2s {

namespace edit_detail {

// The distance of a[0..n) and b[0..m) over the paths with |i − j| ≤ k (the cells outside the
// band are ∞), with |n − m| ≤ k. Equals the distance whenever that is ≤ k: a path of cost d
// never leaves the band |i − j| ≤ d. O(n·k) time, one row of m + 1 cells.
template <typename Token>
std::size_t levenshtein_band(const Token* a, std::size_t n, const Token* b, std::size_t m,
                             std::size_t k, std::vector<std::size_t>& row) {
  constexpr std::size_t kInf = std::numeric_limits<std::size_t>::max() / 2;
  row.assign(m + 1, kInf);
  for (std::size_t j = 0; j <= std::min(m, k); ++j) row[j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    const std::size_t lo = i > k ? i - k : 0, hi = std::min(m, i + k);  // row i's band
    std::size_t diagonal, start;  // diagonal: d(i-1, j-1)
    if (lo == 0) {
      diagonal = row[0];
      row[0] = i;
      start = 1;
    } else {
      diagonal = row[lo - 1];
      row[lo - 1] = kInf;  // d(i, lo-1) is outside the band
      start = lo;
    }
    for (std::size_t j = start; j <= hi; ++j) {
      const std::size_t above = row[j];  // d(i-1, j); ∞ where j is beyond row i-1's band
      const std::size_t substitute = diagonal + (a[i - 1] == b[j - 1] ? 0 : 1);
      row[j] = std::min(std::min(above, row[j - 1]) + 1, substitute);
      diagonal = above;
    }
  }
  return row[m];
}

}  // namespace edit_detail

// Levenshtein distance between a[0..n) and b[0..m) (`row` is reused scratch; no other
// allocation). Exact, in O(p + (n + m)·d) for d edits after a common prefix and suffix of total
// length p: those are stripped (they never change the distance), then a diagonal band of width
// k = |n − m|, 2k, 4k, ... is tried until the distance fits in it. Near-identical long lines cost
// linear time instead of n·m (a 524k-token line took over a minute).
template <typename Token>
std::size_t levenshtein(const Token* a, std::size_t n, const Token* b, std::size_t m,
                        std::vector<std::size_t>& row) {
  std::size_t prefix = 0;
  while (prefix < n && prefix < m && a[prefix] == b[prefix]) ++prefix;
  std::size_t suffix = 0;
  while (suffix < n - prefix && suffix < m - prefix && a[n - 1 - suffix] == b[m - 1 - suffix])
    ++suffix;
  a += prefix;
  b += prefix;
  n -= prefix + suffix;
  m -= prefix + suffix;
  if (n == 0 || m == 0) return n + m;
  for (std::size_t k = std::max<std::size_t>(n > m ? n - m : m - n, 1);; k *= 2) {
    const std::size_t d = edit_detail::levenshtein_band(a, n, b, m, std::min(k, std::max(n, m)), row);
    if (d <= k || k >= std::max(n, m)) return d;
  }
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
