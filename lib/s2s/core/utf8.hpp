#pragma once
// UTF-8 decoding with validation, and encoding back.
//
// Valid UTF-8 (RFC 3629): 1–4 byte sequences, no overlong forms, no surrogates (U+D800–U+DFFF),
// nothing above U+10FFFF. Everything else is rejected with the byte offset of the first bad byte,
// so a reader can report "FILE:LINE: invalid UTF-8 at byte N".
#include <cstddef>
#include <string>
#include <string_view>
#include <vector>

namespace s2s {

// Byte offset of the first byte that is not part of a valid UTF-8 sequence, or npos.
std::size_t find_invalid_utf8(std::string_view text);

// Throws std::runtime_error("WHERE: invalid UTF-8 at byte N") (just "invalid UTF-8 at byte N"
// when `where` is empty) unless `text` is valid UTF-8. WHERE is usually "file:line".
void check_utf8(std::string_view text, std::string_view where = {});

// Removes a UTF-8 byte-order mark (EF BB BF, which some editors write) from the start of the
// first line of a text: it is not text, and would stick to the first token.
inline void strip_utf8_bom(std::string& first_line) {
  if (first_line.compare(0, 3, "\xEF\xBB\xBF") == 0) first_line.erase(0, 3);
}

// Code points of `text`; throws as check_utf8 on invalid input.
std::u32string decode_utf8(std::string_view text, std::string_view where = {});

// UTF-8 bytes of code points; throws std::runtime_error on a surrogate or a value > U+10FFFF.
void append_utf8(char32_t code_point, std::string& out);
std::string encode_utf8(const std::u32string& code_points);

// `text` split into one string per code point (each 1–4 bytes); throws as check_utf8.
std::vector<std::string> split_code_points(std::string_view text, std::string_view where = {});

}  // namespace s2s
