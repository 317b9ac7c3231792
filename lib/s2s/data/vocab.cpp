#include "s2s/data/vocab.hpp"

#include <algorithm>
#include <fstream>
#include <stdexcept>

#include "s2s/core/utf8.hpp"

namespace s2s {

void count_tokens(const std::vector<std::string>& tokens, TokenCounts& counts) {
  for (const auto& token : tokens) ++counts[token];
}

const std::vector<std::string>& Vocab::special_tokens() {
  static const std::vector<std::string> specials = {"<pad>", "<unk>", "<s>", "</s>"};
  return specials;
}

Vocab::Vocab() {
  for (const auto& special : special_tokens()) add(special);
}

void Vocab::add(const std::string& token) {
  ids_.emplace(token, static_cast<Index>(tokens_.size()));
  tokens_.push_back(token);
}

Vocab Vocab::build(const TokenCounts& counts, std::size_t min_freq, std::size_t max_size) {
  std::vector<std::pair<std::string, std::size_t>> kept;
  Vocab vocab;
  for (const auto& [token, count] : counts)
    if (count >= min_freq && !token.empty() && !vocab.contains(token)) kept.emplace_back(token, count);
  // `counts` is ordered by token, so a stable sort by count keeps ties in token order.
  std::stable_sort(kept.begin(), kept.end(),
                   [](const auto& a, const auto& b) { return a.second > b.second; });
  if (max_size > 0 && kept.size() > max_size) kept.resize(max_size);
  for (const auto& entry : kept) vocab.add(entry.first);
  return vocab;
}

Vocab Vocab::load(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open vocabulary file");
  Vocab vocab;
  vocab.tokens_.clear();
  vocab.ids_.clear();
  std::string line;
  std::size_t line_number = 0;
  while (std::getline(in, line)) {
    ++line_number;
    const std::string where = path + ":" + std::to_string(line_number);
    if (line_number <= special_tokens().size() && line != special_tokens()[line_number - 1])
      throw std::runtime_error(where + ": expected special token " +
                               special_tokens()[line_number - 1] + ", found '" + line + "'");
    if (line.empty()) throw std::runtime_error(where + ": empty token");
    // Tokens come from the tokenizers: valid UTF-8 without white space or control characters
    // (a space is the token "▁"). Anything else is a damaged or hand-edited file, and would be
    // written out by translate as it is.
    check_utf8(line, where);
    for (unsigned char c : line)
      if (c < 0x20 || c == 0x7f || c == ' ')
        throw std::runtime_error(where + ": token holds white space or a control character (byte " +
                                 std::to_string(int(c)) + ")");
    if (vocab.contains(line)) throw std::runtime_error(where + ": duplicate token '" + line + "'");
    vocab.add(line);
  }
  if (in.bad()) throw std::runtime_error(path + ": read error");
  if (vocab.size() < special_tokens().size())
    throw std::runtime_error(path + ": vocabulary file has " + std::to_string(vocab.size()) +
                             " lines, needs at least the 4 special tokens");
  return vocab;
}

void Vocab::save(const std::string& path) const {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot open vocabulary file for writing");
  for (const auto& token : tokens_) out << token << '\n';
  out.close();
  if (!out) throw std::runtime_error(path + ": write error");
}

Index Vocab::id(const std::string& token) const {
  const auto it = ids_.find(token);
  return it == ids_.end() ? kUnk : it->second;
}

const std::string& Vocab::token(Index id) const {
  if (id < 0 || static_cast<std::size_t>(id) >= tokens_.size())
    throw std::out_of_range("token id " + std::to_string(id) + " outside vocabulary of size " +
                            std::to_string(tokens_.size()));
  return tokens_[id];
}

std::vector<Index> Vocab::encode(const std::vector<std::string>& tokens) const {
  std::vector<Index> ids;
  ids.reserve(tokens.size());
  for (const auto& token : tokens) ids.push_back(id(token));
  return ids;
}

std::vector<std::string> Vocab::decode(const std::vector<Index>& ids, bool strip_specials) const {
  return decode(ids, {}, strip_specials);
}

std::vector<Index> Vocab::extend(const std::vector<std::string>& tokens,
                                 std::vector<std::string>& oovs) const {
  std::vector<Index> ids;
  ids.reserve(tokens.size());
  for (const auto& t : tokens) {
    const auto known = ids_.find(t);
    if (known != ids_.end()) {
      ids.push_back(known->second);
      continue;
    }
    const auto k = std::find(oovs.begin(), oovs.end(), t) - oovs.begin();
    if (k == static_cast<std::ptrdiff_t>(oovs.size())) oovs.push_back(t);
    ids.push_back(static_cast<Index>(size() + k));
  }
  return ids;
}

std::vector<Index> Vocab::encode(const std::vector<std::string>& tokens,
                                 const std::vector<std::string>& oovs) const {
  std::vector<Index> ids;
  ids.reserve(tokens.size());
  for (const auto& t : tokens) {
    const auto known = ids_.find(t);
    const auto k = std::find(oovs.begin(), oovs.end(), t) - oovs.begin();
    ids.push_back(known != ids_.end()                             ? known->second
                  : k < static_cast<std::ptrdiff_t>(oovs.size()) ? static_cast<Index>(size() + k)
                                                                 : kUnk);
  }
  return ids;
}

std::vector<std::string> Vocab::decode(const std::vector<Index>& ids,
                                       const std::vector<std::string>& oovs,
                                       bool strip_specials) const {
  std::vector<std::string> tokens;
  tokens.reserve(ids.size());
  for (Index id : ids) {
    if (strip_specials && (id == kPad || id == kBos || id == kEos)) continue;
    const bool extended = id >= 0 && static_cast<std::size_t>(id) >= size() &&
                          static_cast<std::size_t>(id) - size() < oovs.size();
    tokens.push_back(extended ? oovs[static_cast<std::size_t>(id) - size()] : token(id));
  }
  return tokens;
}

}  // namespace s2s
