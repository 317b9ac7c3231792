#include "s2s/data/parallel_data.hpp"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "s2s/core/utf8.hpp"

namespace s2s {
namespace {

std::string where(const std::string& path, std::size_t line_number) {
  return path + ":" + std::to_string(line_number);
}

}  // namespace

std::vector<std::string> read_text_lines(const std::string& path) {
  std::error_code error;
  if (!std::filesystem::exists(path, error)) throw std::runtime_error(path + ": no such file");
  if (std::filesystem::is_directory(path, error))
    throw std::runtime_error(path + ": is a directory, not a file");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open (" + std::strerror(errno) + ")");
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (lines.empty()) strip_utf8_bom(line);
    check_utf8(line, where(path, lines.size() + 1));
    lines.push_back(std::move(line));
  }
  if (in.bad()) throw std::runtime_error(path + ": read error");
  if (lines.empty()) throw std::runtime_error(path + ": file is empty");
  return lines;
}

ParallelText read_parallel_files(const std::string& source_path, const std::string& target_path) {
  ParallelText text;
  text.source = read_text_lines(source_path);
  text.target = read_text_lines(target_path);
  if (text.source.size() != text.target.size())
    throw std::runtime_error(source_path + " has " + std::to_string(text.source.size()) +
                             " lines but " + target_path + " has " +
                             std::to_string(text.target.size()));
  return text;
}

ParallelText read_parallel_tsv(const std::string& path) {
  std::vector<std::string> lines = read_text_lines(path);
  ParallelText text;
  text.source.reserve(lines.size());
  text.target.reserve(lines.size());
  for (std::size_t i = 0; i < lines.size(); ++i) {
    const std::string& line = lines[i];
    const std::size_t tab = line.find('\t');
    if (tab == std::string::npos)
      throw std::runtime_error(where(path, i + 1) + ": no tab between source and target");
    if (line.find('\t', tab + 1) != std::string::npos)
      throw std::runtime_error(where(path, i + 1) +
                               ": more than one tab (expected source<TAB>target)");
    text.source.push_back(line.substr(0, tab));
    text.target.push_back(line.substr(tab + 1));
  }
  return text;
}

void write_parallel_tsv(const std::string& path, const ParallelText& text) {
  if (text.source.size() != text.target.size())
    throw std::invalid_argument(path + ": " + std::to_string(text.source.size()) +
                                " sources but " + std::to_string(text.target.size()) + " targets");
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) throw std::runtime_error(path + ": cannot open for writing (" + std::strerror(errno) + ")");
  for (std::size_t i = 0; i < text.size(); ++i) {
    for (const std::string* field : {&text.source[i], &text.target[i]})
      if (field->find_first_of("\t\r\n") != std::string::npos)
        throw std::invalid_argument(where(path, i + 1) +
                                    ": a source or target contains a tab or line break");
    out << text.source[i] << '\t' << text.target[i] << '\n';
  }
  out.close();
  if (!out) throw std::runtime_error(path + ": write error");
}

TokenizedText tokenize(const ParallelText& text, const Tokenizer& source_tokenizer,
                       const Tokenizer& target_tokenizer) {
  TokenizedText tokens;
  tokens.source.reserve(text.size());
  tokens.target.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    tokens.source.push_back(source_tokenizer.encode(text.source[i]));
    tokens.target.push_back(target_tokenizer.encode(text.target[i]));
  }
  return tokens;
}

FilterStats filter_by_length(TokenizedText& text, const LengthFilter& filter) {
  FilterStats stats;
  std::size_t kept = 0;
  for (std::size_t i = 0; i < text.size(); ++i) {
    const std::size_t source_length = text.source[i].size();
    const std::size_t target_length = text.target[i].size();
    if (source_length == 0 || target_length == 0) {
      ++stats.dropped_empty;
    } else if ((filter.max_source > 0 && source_length > filter.max_source) ||
               (filter.max_target > 0 && target_length > filter.max_target)) {
      ++stats.dropped_too_long;
    } else {
      if (kept != i) {
        text.source[kept] = std::move(text.source[i]);
        text.target[kept] = std::move(text.target[i]);
      }
      ++kept;
    }
  }
  text.source.resize(kept);
  text.target.resize(kept);
  stats.kept = kept;
  return stats;
}

std::vector<SequencePair> to_ids(const TokenizedText& text, const Vocab& source_vocab,
                                 const Vocab& target_vocab, bool extended_vocab) {
  std::vector<SequencePair> pairs(text.size());
  std::vector<std::string> oovs;
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (extended_vocab) {
      oovs.clear();
      pairs[i].source = source_vocab.extend(text.source[i], oovs);
      pairs[i].target = target_vocab.encode(text.target[i], oovs);
    } else {
      pairs[i].source = source_vocab.encode(text.source[i]);
      pairs[i].target = target_vocab.encode(text.target[i]);
    }
  }
  return pairs;
}

}  // namespace s2s
