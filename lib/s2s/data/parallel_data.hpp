#pragma once
// Parallel data: reading, tokenizing, length filtering and mapping to ids.
//
// Input formats (UTF-8, one sequence per line, "\n" or "\r\n" line ends):
//   * two plain-text files, source and target, with the same number of lines; or
//   * one TSV file, each line "source<TAB>target" (exactly one tab).
// (Reference files with several alternatives per line are read by metrics.hpp.)
//
// Every error is a std::runtime_error with one line naming the file, and the line where there
// is one: "src.txt has 10 lines but tgt.txt has 9", "pairs.tsv:7: no tab between source and
// target", "pairs.tsv:3: invalid UTF-8 at byte 12".
#include <cstddef>
#include <string>
#include <vector>

#include "s2s/core/tensor.hpp"
#include "s2s/data/tokenizer.hpp"
#include "s2s/data/vocab.hpp"
#include "s2s/metrics/metrics.hpp"

namespace s2s {

// source[i] and target[i] form pair i.
struct ParallelText {
  std::vector<std::string> source;
  std::vector<std::string> target;
  std::size_t size() const { return source.size(); }
};

// The lines of a UTF-8 text file without their line ends. Throws on a missing, unreadable or
// empty file and on invalid UTF-8 (file:line).
std::vector<std::string> read_text_lines(const std::string& path);

ParallelText read_parallel_files(const std::string& source_path, const std::string& target_path);
ParallelText read_parallel_tsv(const std::string& path);
// Throws if a source or target contains a tab or a line break (it would not read back).
void write_parallel_tsv(const std::string& path, const ParallelText& text);

struct TokenizedText {
  std::vector<std::vector<std::string>> source;
  std::vector<std::vector<std::string>> target;
  std::size_t size() const { return source.size(); }
};

TokenizedText tokenize(const ParallelText& text, const Tokenizer& source_tokenizer,
                       const Tokenizer& target_tokenizer);

// Maximum numbers of tokens (before <s>/</s> are added); 0 = no limit.
struct LengthFilter {
  std::size_t max_source = 0;
  std::size_t max_target = 0;
};

struct FilterStats {
  std::size_t kept = 0;
  std::size_t dropped_too_long = 0;  // source or target over its limit
  std::size_t dropped_empty = 0;     // source or target with no token
  std::size_t dropped() const { return dropped_too_long + dropped_empty; }
};

// Removes, in place and keeping the order of the rest, every pair that is too long or empty.
FilterStats filter_by_length(TokenizedText& text, const LengthFilter& filter);

// One training example as token ids, without <s>/</s> (batching adds them).
struct SequencePair {
  std::vector<Index> source;
  std::vector<Index> target;
};

// With extended_vocab, each pair's ids are in its source's extended vocabulary (Vocab::extend;
// the two vocabularies are then one).
std::vector<SequencePair> to_ids(const TokenizedText& text, const Vocab& source_vocab,
                                 const Vocab& target_vocab, bool extended_vocab = false);

// Dev data: pairs for the teacher-forced loss (first reference as target) and the references
// for the decoded metrics.
struct DevSet {
  std::vector<SequencePair> pairs;
  SegmentRefs references;
  // Per source, its tokens outside the vocabulary, when the ids are extended (Codec::extended).
  std::vector<std::vector<std::string>> source_oovs;
};

}  // namespace s2s
