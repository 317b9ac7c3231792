#pragma once
// Shared pieces of the evaluation metrics (bleu.hpp, chrf.hpp, edit_metrics.hpp): the reference
// layout, the reference formats the CLI accepts, and Python-compatible whitespace handling.
//
// References. Every metric takes the hypotheses (one string per segment) and a SegmentRefs:
//   refs[i] = the alternative references of segment i (one or more strings).
// Two input formats map onto it (gather_references):
//   - several reference files ("sets"), line i of every file is a reference of segment i
//     (sacreBLEU's `sacrebleu ref1 ref2 -i hyp`);
//   - one line holding TAB-separated alternatives (the G2P convention), possibly in several files.
// An empty reference ("" exactly, as in sacreBLEU 2.x `_cache_references`) is dropped, which
// gives a variable number of references per segment; a segment left with none is an error.
//
// Whitespace. sacreBLEU splits with Python's str.split() / str.rstrip(), whose whitespace is
// wider than ASCII: U+0009–000D, U+001C–001F, U+0020, U+0085, U+00A0, U+1680, U+2000–200A,
// U+2028, U+2029, U+202F, U+205F, U+3000. The helpers below use exactly that set, on UTF-8.
#include <cstddef>
#include <istream>
#include <string>
#include <string_view>
#include <vector>

namespace s2s {

// refs[segment][alternative]
using SegmentRefs = std::vector<std::vector<std::string>>;

// Lines of `in` without their '\n' ('\r' is kept, as sacreBLEU reads with newline='\n').
std::vector<std::string> read_lines(std::istream& in);

// sets[k][i] is line i of reference file k. All sets must have the same number of lines. With
// split_tabs every line is split on '\t' into alternatives. Empty alternatives are dropped.
// Throws std::invalid_argument on unequal set sizes or a line with no reference left.
SegmentRefs gather_references(const std::vector<std::vector<std::string>>& sets,
                              bool split_tabs = false);

// Number of references per segment for a signature: the common count, or -1 when it varies
// (sacreBLEU prints "nrefs:var").
int count_references(const SegmentRefs& refs);

// Throws std::invalid_argument unless refs.size() == num_hyps and every segment has a
// reference. `metric` names the caller in the message.
void check_segment_refs(std::size_t num_hyps, const SegmentRefs& refs, const char* metric);

// The corpus score of a streaming accumulator (BleuAccumulator, ChrfAccumulator): checks the
// segment counts, adds every segment, scores.
template <typename Accumulator, typename Config>
auto score_corpus(const std::vector<std::string>& hyps, const SegmentRefs& refs,
                  const Config& config, const char* metric) {
  check_segment_refs(hyps.size(), refs, metric);
  Accumulator accumulator(config);
  for (std::size_t i = 0; i < hyps.size(); ++i) accumulator.add(hyps[i], refs[i]);
  return accumulator.score();
}

// Python str.isspace() for one code point.
bool is_python_space(char32_t code_point);

// Bytes taken by a Python-whitespace character starting at text[pos] (UTF-8), 0 if none.
std::size_t python_space_bytes(std::string_view text, std::size_t pos);

// Python str.rstrip(): `text` without trailing whitespace.
std::string_view python_rstrip(std::string_view text);

// Python str.split(): the non-whitespace runs of `text`, appended to `out` (not cleared) as
// views into `text`.
void python_split(std::string_view text, std::vector<std::string_view>& out);

}  // namespace s2s
