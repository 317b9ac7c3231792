#pragma once
// Corpus BLEU exactly as sacreBLEU 2.x computes it (sacrebleu/metrics/bleu.py); defaults are
// sacreBLEU's: tokenizer '13a', max order 4, smoothing 'exp', no effective order, mixed case.
//
//   Per segment i, with hypothesis tokens h and references r_1..r_K (empty ones dropped):
//     sys_len += |h|
//     ref_len += the |r_k| closest to |h| (ties: the shorter)
//     for n = 1..N: total[n]   += number of n-grams of h
//                   correct[n] += Σ_g min(count_h(g), max_k count_{r_k}(g))     (clipped)
//   Corpus (sums over segments):
//     BP  = 1 if sys_len >= ref_len, else exp(1 - ref_len / sys_len)  (0 if sys_len = 0)
//     p_n = 100 · correct[n] / total[n], smoothed where correct[n] = 0:
//           exp:   p_n = 100 / (2^j · total[n]), j = 1, 2, ... for each successive zero order
//           floor: p_n = 100 · v / total[n]               (v = 0.1 by default)
//           add-k: correct[n] += k, total[n] += k for n >= 2 (k = 1 by default)
//           none:  p_n = 0
//     BLEU = BP · exp( (1/N') Σ_{n<=N'} log p_n ),  log 0 := -9999999999 (sacreBLEU's my_log)
//   N' = N, or with effective order the highest n with total[n] > 0. An order with total[n] = 0
//   stops the precision loop (its p_n stays 0). No correct n-gram at all gives BLEU = 0.
//
// Tokenizer '13a' is sacrebleu/tokenizers/tokenizer_13a.py + tokenizer_re.py (mteval-v13a.pl):
//   rstrip; drop "<skipped>"; drop "-\n"; "\n" -> " "; unescape &quot; &amp; &lt; &gt; (in that
//   order); pad with one space; then, as Python re.sub does them (left to right, no overlap):
//     ([\{-\~\[-\` -\&\(-\+\:-\@\/])  -> " \1 "     (ASCII punctuation except ' , - .)
//     ([^0-9])([\.,])                -> "\1 \2 "    (period, comma unless preceded by a digit)
//     ([\.,])([^0-9])                -> " \1 \2"    (period, comma unless followed by a digit)
//     ([0-9])(-)                     -> "\1 \2 "    (dash after a digit)
//   and split on (Python) whitespace. The patterns only match ASCII, so working on UTF-8 bytes
//   gives the same result as Python on code points.
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "s2s/metrics/metrics.hpp"
#include "s2s/metrics/ngram_index.hpp"

namespace s2s {

enum class BleuSmooth { kNone, kFloor, kAddK, kExp };
enum class BleuTokenize {
  k13a,  // sacreBLEU's default
  kNone  // split on whitespace only (sacreBLEU -tok none)
};

struct BleuConfig {
  int max_ngram_order = 4;
  BleuSmooth smooth = BleuSmooth::kExp;
  double smooth_value = -1;  // < 0: sacreBLEU's default for the method (floor 0.1, add-k 1)
  bool effective_order = false;
  BleuTokenize tokenize = BleuTokenize::k13a;
};

// Sufficient statistics, summed over segments; correct/total have max_ngram_order entries.
struct BleuStats {
  std::vector<long long> correct;
  std::vector<long long> total;
  long long sys_len = 0;
  long long ref_len = 0;
};

struct BleuScore {
  double score = 0;                // 0..100
  std::vector<double> precisions;  // p_n in percent, n = 1..N
  std::vector<long long> counts;   // correct[n] (unsmoothed)
  std::vector<long long> totals;   // total[n] (unsmoothed)
  double bp = 0;
  double ratio = 0;  // sys_len / ref_len (0 if ref_len = 0)
  long long sys_len = 0;
  long long ref_len = 0;
  // sacreBLEU's line: "BLEU = 48.53 82.4/50.0/45.5/37.5 (BP = 0.943 ratio = 0.944 hyp_len = 17
  // ref_len = 18)".
  std::string format() const;
};

// sacreBLEU's '13a' tokenization of one line (after rstrip), tokens joined by single spaces.
std::string tokenize_13a(std::string_view line);

// Corpus BLEU of hyps[i] against refs[i] (see metrics.hpp). Throws std::invalid_argument when
// the sizes differ or a segment has no reference.
BleuScore corpus_bleu(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                      const BleuConfig& config = {});

// One segment (sacreBLEU's BLEU.sentence_score); sacreBLEU recommends effective_order = true
// for this, and its compat sentence_bleu() sets it.
BleuScore sentence_bleu(const std::string& hyp, const std::vector<std::string>& refs,
                        const BleuConfig& config = {});

// Streaming form: add segments one at a time (e.g. during validation), then score(). The
// buffers are kept between segments, so a long run allocates only while they grow.
class BleuAccumulator {
 public:
  explicit BleuAccumulator(const BleuConfig& config = {});
  // Empty references are dropped; throws std::invalid_argument if none is left.
  void add(std::string_view hyp, const std::vector<std::string>& refs);
  const BleuStats& stats() const { return stats_; }
  BleuScore score() const;

 private:
  struct Tokens {
    std::string text;  // tokenized line; `words` point into it
    std::vector<std::string_view> words;
  };
  void tokenize(std::string_view line, Tokens& out);

  BleuConfig config_;
  BleuStats stats_;
  std::string scratch_;
  Tokens hyp_, ref_;
  NgramIndex<std::string_view> hyp_index_, ref_index_;
  std::vector<std::uint32_t> clip_;  // per distinct hypothesis n-gram: max count in a reference
  std::vector<std::size_t> clip_offsets_;  // [n - 1]: first clip_ entry of order n
};

// The score from summed statistics (sacreBLEU's BLEU.compute_bleu).
BleuScore compute_bleu(const BleuStats& stats, const BleuConfig& config = {});

// sacreBLEU's signature without the version field, e.g.
// "nrefs:2|case:mixed|eff:no|tok:13a|smooth:exp"; num_refs < 0 prints "var".
std::string bleu_signature(const BleuConfig& config, int num_refs);

}  // namespace s2s
