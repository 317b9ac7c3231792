#pragma once
// chrF exactly as sacreBLEU 2.x computes it (sacrebleu/metrics/chrf.py, class CHRF); defaults
// are sacreBLEU's: character order 6, word order 0, beta 2, whitespace removed, effective-order
// averaging (eps_smoothing = false), mixed case. Word n-grams (chrF++) are not implemented.
//
//   Characters are Unicode code points; without `whitespace` all (Python) whitespace is removed
//   first ("".join(line.split())). Per segment and reference, for n = 1..N:
//     hyp[n]   = number of character n-grams of the hypothesis, but 0 when the reference has
//                none of order n (sacreBLEU counts no hypothesis n-grams then)
//     ref[n]   = number of character n-grams of the reference
//     match[n] = Σ_g min(count_hyp(g), count_ref(g))
//   With several references the segment keeps the statistics of the reference with the highest
//   sentence-level F (the first one on ties). Corpus statistics are the sums over segments.
//   F from statistics (β² = beta²):
//     effective order (default): over the K orders with hyp[n] > 0 and ref[n] > 0,
//       P = (1/K) Σ match/hyp,  R = (1/K) Σ match/ref,
//       chrF = 100 (1 + β²) P R / (β² P + R)   (0 if K = 0 or P + R = 0)
//     eps smoothing (chrF++.py, NLTK, Moses): with P_n = match/hyp or 1e-16 if hyp = 0,
//       R_n likewise, F_n = (1 + β²) P_n R_n / (β² P_n + R_n) or 1e-16 if the denominator is 0,
//       chrF = 100 · (1/N) Σ_n F_n
#include <string>
#include <vector>

#include "s2s/metrics/metrics.hpp"
#include "s2s/metrics/ngram_index.hpp"

namespace s2s {

struct ChrfConfig {
  int char_order = 6;
  int beta = 2;
  bool whitespace = false;     // keep whitespace in the character n-grams
  bool eps_smoothing = false;  // false: sacreBLEU's default effective-order averaging
};

struct ChrfScore {
  double score = 0;  // 0..100
  int beta = 2;
  std::string format() const;  // sacreBLEU's line: "chrF2 = 59.73"
};

// F (0..100) from statistics laid out as sacreBLEU's: 3 per order, {hyp, ref, match}.
double chrf_f_score(const std::vector<long long>& stats, const ChrfConfig& config);

// Streaming form; buffers are kept between segments.
class ChrfAccumulator {
 public:
  explicit ChrfAccumulator(const ChrfConfig& config = {});
  // Empty references are dropped; throws std::invalid_argument if none is left or on invalid
  // UTF-8.
  void add(const std::string& hyp, const std::vector<std::string>& refs);
  const std::vector<long long>& stats() const { return stats_; }
  ChrfScore score() const;

 private:
  void code_points(const std::string& line, const char* what, std::u32string& out) const;

  ChrfConfig config_;
  std::vector<long long> stats_, segment_stats_, best_stats_;
  std::u32string hyp_chars_, ref_chars_;
  NgramIndex<char32_t> hyp_index_, ref_index_;
};

// Corpus chrF of hyps[i] against refs[i] (see metrics.hpp). Throws std::invalid_argument when
// the sizes differ or a segment has no reference.
ChrfScore corpus_chrf(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                      const ChrfConfig& config = {});

// One segment (sacreBLEU's CHRF.sentence_score).
ChrfScore sentence_chrf(const std::string& hyp, const std::vector<std::string>& refs,
                        const ChrfConfig& config = {});

// sacreBLEU's signature without the version field, e.g.
// "nrefs:2|case:mixed|eff:yes|nc:6|nw:0|space:no"; num_refs < 0 prints "var".
std::string chrf_signature(const ChrfConfig& config, int num_refs);

}  // namespace s2s
