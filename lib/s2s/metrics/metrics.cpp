#include "s2s/metrics/metrics.hpp"

#include <stdexcept>

namespace s2s {

std::vector<std::string> read_lines(std::istream& in) {
  std::vector<std::string> lines;
  std::string line;
  while (std::getline(in, line)) lines.push_back(line);
  return lines;
}

SegmentRefs gather_references(const std::vector<std::vector<std::string>>& sets, bool split_tabs) {
  if (sets.empty()) throw std::invalid_argument("no reference sets given");
  const std::size_t num_lines = sets[0].size();
  for (std::size_t k = 1; k < sets.size(); ++k) {
    if (sets[k].size() != num_lines) {
      throw std::invalid_argument("reference set " + std::to_string(k + 1) + " has " +
                                  std::to_string(sets[k].size()) + " lines, set 1 has " +
                                  std::to_string(num_lines));
    }
  }
  SegmentRefs refs(num_lines);
  for (std::size_t i = 0; i < num_lines; ++i) {
    for (const auto& set : sets) {
      const std::string& line = set[i];
      if (!split_tabs) {
        if (!line.empty()) refs[i].push_back(line);
        continue;
      }
      std::size_t begin = 0;
      while (begin <= line.size()) {
        std::size_t end = line.find('\t', begin);
        if (end == std::string::npos) end = line.size();
        if (end > begin) refs[i].emplace_back(line, begin, end - begin);
        begin = end + 1;
      }
    }
    if (refs[i].empty()) {
      throw std::invalid_argument("reference line " + std::to_string(i + 1) +
                                  " is empty in every reference set");
    }
  }
  return refs;
}

int count_references(const SegmentRefs& refs) {
  if (refs.empty()) return 0;
  const std::size_t first = refs[0].size();
  for (const auto& alternatives : refs) {
    if (alternatives.size() != first) return -1;
  }
  return static_cast<int>(first);
}

void check_segment_refs(std::size_t num_hyps, const SegmentRefs& refs, const char* metric) {
  if (refs.size() != num_hyps) {
    throw std::invalid_argument(std::string(metric) + ": " + std::to_string(num_hyps) +
                                " hypotheses but " + std::to_string(refs.size()) +
                                " reference segments");
  }
  for (std::size_t i = 0; i < refs.size(); ++i) {
    if (refs[i].empty()) {
      throw std::invalid_argument(std::string(metric) + ": segment " + std::to_string(i + 1) +
                                  " has no reference");
    }
  }
}

bool is_python_space(char32_t c) {
  return (c >= 0x09 && c <= 0x0D) || (c >= 0x1C && c <= 0x20) || c == 0x85 || c == 0xA0 ||
         c == 0x1680 || (c >= 0x2000 && c <= 0x200A) || c == 0x2028 || c == 0x2029 || c == 0x202F ||
         c == 0x205F || c == 0x3000;
}

std::size_t python_space_bytes(std::string_view text, std::size_t pos) {
  const auto byte = [&](std::size_t i) {
    return i < text.size() ? static_cast<unsigned char>(text[i]) : 0u;
  };
  const unsigned b0 = byte(pos);
  if (b0 < 0x80) return ((b0 >= 0x09 && b0 <= 0x0D) || (b0 >= 0x1C && b0 <= 0x20)) ? 1 : 0;
  const unsigned b1 = byte(pos + 1);
  if (b0 == 0xC2) return (b1 == 0x85 || b1 == 0xA0) ? 2 : 0;
  const unsigned b2 = byte(pos + 2);
  if (b0 == 0xE1) return (b1 == 0x9A && b2 == 0x80) ? 3 : 0;  // U+1680
  if (b0 == 0xE2) {
    if (b1 == 0x80) {  // U+2000–200A, U+2028, U+2029, U+202F
      return ((b2 >= 0x80 && b2 <= 0x8A) || b2 == 0xA8 || b2 == 0xA9 || b2 == 0xAF) ? 3 : 0;
    }
    return (b1 == 0x81 && b2 == 0x9F) ? 3 : 0;  // U+205F
  }
  if (b0 == 0xE3) return (b1 == 0x80 && b2 == 0x80) ? 3 : 0;  // U+3000
  return 0;
}

std::string_view python_rstrip(std::string_view text) {
  std::size_t end = 0;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t space = python_space_bytes(text, pos);
    if (space != 0) {
      pos += space;
    } else {
      ++pos;
      end = pos;
    }
  }
  return text.substr(0, end);
}

void python_split(std::string_view text, std::vector<std::string_view>& out) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    std::size_t space;
    while (pos < text.size() && (space = python_space_bytes(text, pos)) != 0) pos += space;
    if (pos >= text.size()) break;
    const std::size_t begin = pos;
    while (pos < text.size() && python_space_bytes(text, pos) == 0) ++pos;
    out.push_back(text.substr(begin, pos - begin));
  }
}

}  // namespace s2s
