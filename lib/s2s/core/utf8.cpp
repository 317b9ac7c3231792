#include "s2s/core/utf8.hpp"

#include <cstdio>
#include <stdexcept>

namespace s2s {
namespace {

// Decodes the sequence starting at text[pos]: returns its length in bytes (0 when invalid) and
// stores the code point.
std::size_t decode_one(std::string_view text, std::size_t pos, char32_t& code_point) {
  const auto byte = [&](std::size_t i) { return static_cast<unsigned char>(text[i]); };
  const unsigned char lead = byte(pos);
  std::size_t length;
  char32_t min_value;
  if (lead < 0x80) {
    code_point = lead;
    return 1;
  } else if (lead >= 0xC2 && lead <= 0xDF) {  // 0xC0, 0xC1 would only give overlong forms
    length = 2;
    min_value = 0x80;
    code_point = lead & 0x1F;
  } else if (lead >= 0xE0 && lead <= 0xEF) {
    length = 3;
    min_value = 0x800;
    code_point = lead & 0x0F;
  } else if (lead >= 0xF0 && lead <= 0xF4) {
    length = 4;
    min_value = 0x10000;
    code_point = lead & 0x07;
  } else {
    return 0;
  }
  if (pos + length > text.size()) return 0;
  for (std::size_t i = 1; i < length; ++i) {
    const unsigned char next = byte(pos + i);
    if ((next & 0xC0) != 0x80) return 0;
    code_point = (code_point << 6) | (next & 0x3F);
  }
  if (code_point < min_value || code_point > 0x10FFFF) return 0;
  if (code_point >= 0xD800 && code_point <= 0xDFFF) return 0;
  return length;
}

[[noreturn]] void throw_invalid(std::size_t offset, std::string_view where) {
  std::string message;
  if (!where.empty()) message.append(where).append(": ");
  message += "invalid UTF-8 at byte " + std::to_string(offset);
  throw std::runtime_error(message);
}

}  // namespace

std::size_t find_invalid_utf8(std::string_view text) {
  char32_t code_point;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = decode_one(text, pos, code_point);
    if (length == 0) return pos;
    pos += length;
  }
  return std::string_view::npos;
}

void check_utf8(std::string_view text, std::string_view where) {
  const std::size_t offset = find_invalid_utf8(text);
  if (offset != std::string_view::npos) throw_invalid(offset, where);
}

std::u32string decode_utf8(std::string_view text, std::string_view where) {
  std::u32string out;
  out.reserve(text.size());
  char32_t code_point;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = decode_one(text, pos, code_point);
    if (length == 0) throw_invalid(pos, where);
    out.push_back(code_point);
    pos += length;
  }
  return out;
}

void append_utf8(char32_t cp, std::string& out) {
  if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) {
    char hex[16];
    std::snprintf(hex, sizeof hex, "%04lX", static_cast<unsigned long>(cp));
    throw std::runtime_error(std::string("cannot encode U+") + hex +
                             " as UTF-8 (surrogate or above U+10FFFF)");
  }
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out.push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

std::string encode_utf8(const std::u32string& code_points) {
  std::string out;
  out.reserve(code_points.size());
  for (char32_t cp : code_points) append_utf8(cp, out);
  return out;
}

std::vector<std::string> split_code_points(std::string_view text, std::string_view where) {
  std::vector<std::string> out;
  out.reserve(text.size());
  char32_t code_point;
  for (std::size_t pos = 0; pos < text.size();) {
    const std::size_t length = decode_one(text, pos, code_point);
    if (length == 0) throw_invalid(pos, where);
    out.emplace_back(text.substr(pos, length));
    pos += length;
  }
  return out;
}

}  // namespace s2s
