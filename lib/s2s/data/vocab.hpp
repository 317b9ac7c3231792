#pragma once
// Vocabulary: token string <-> id.
//
// Ids 0..3 are the specials <pad>=0, <unk>=1, <s>=2, </s>=3; then the kept tokens by descending
// count, ties broken by ascending byte order of the token string (so a build is a deterministic
// function of the counts). The file format is plain text, one token per line, id = line number
// (0-based), specials included.
#include <cstddef>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include "s2s/core/tensor.hpp"

namespace s2s {

// Token -> number of occurrences. Ordered, so that iteration never depends on hashing.
using TokenCounts = std::map<std::string, std::size_t>;

void count_tokens(const std::vector<std::string>& tokens, TokenCounts& counts);

class Vocab {
 public:
  static constexpr Index kPad = 0;
  static constexpr Index kUnk = 1;
  static constexpr Index kBos = 2;
  static constexpr Index kEos = 3;
  static constexpr Index kNumSpecials = 4;
  static const std::vector<std::string>& special_tokens();  // "<pad>", "<unk>", "<s>", "</s>"

  Vocab();  // the specials only

  // Keeps tokens with count >= min_freq, at most max_size of them (0 = no limit; specials are
  // not counted). Empty tokens and tokens spelled like a special are skipped.
  static Vocab build(const TokenCounts& counts, std::size_t min_freq = 1,
                     std::size_t max_size = 0);

  // Throws std::runtime_error naming the file (and line) when it cannot be read, does not start
  // with the four specials, or repeats a token.
  static Vocab load(const std::string& path);
  void save(const std::string& path) const;

  std::size_t size() const { return tokens_.size(); }
  bool contains(const std::string& token) const { return ids_.count(token) > 0; }
  Index id(const std::string& token) const;  // kUnk when unknown
  const std::string& token(Index id) const;  // throws std::out_of_range

  std::vector<Index> encode(const std::vector<std::string>& tokens) const;
  // Ids to tokens; with strip_specials, <pad>, <s> and </s> are dropped (<unk> is kept).
  std::vector<std::string> decode(const std::vector<Index>& ids, bool strip_specials = true) const;

  // See et al.'s extended vocabulary (pointer-generator models, model.copy): the tokens of one
  // source sentence that the vocabulary lacks get the ids size() + k, k numbering the distinct
  // such tokens in order of first occurrence (oovs[k], which extend() appends); a target token
  // that the vocabulary lacks gets its source token's id when the source has it, else <unk>.
  std::vector<Index> extend(const std::vector<std::string>& tokens,
                            std::vector<std::string>& oovs) const;
  std::vector<Index> encode(const std::vector<std::string>& tokens,
                            const std::vector<std::string>& oovs) const;
  // decode() where id size() + k is oovs[k]; throws std::out_of_range past the last.
  std::vector<std::string> decode(const std::vector<Index>& ids,
                                  const std::vector<std::string>& oovs,
                                  bool strip_specials = true) const;

  const std::vector<std::string>& tokens() const { return tokens_; }

 private:
  void add(const std::string& token);

  std::vector<std::string> tokens_;
  std::unordered_map<std::string, Index> ids_;
};

}  // namespace s2s
