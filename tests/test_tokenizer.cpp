#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <stdexcept>
#include <string>
#include <vector>

#include "s2s/core/utf8.hpp"
#include "s2s/data/synthetic.hpp"
#include "s2s/data/tokenizer.hpp"
#include "file_helpers.hpp"

using namespace s2s;
using s2s::testing::error_message;
using s2s::testing::TempDir;

namespace {

std::string file_bytes(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

}  // namespace

TEST_CASE("UTF-8 decodes 1- to 4-byte sequences and encodes them back", "[tokenizer][utf8]") {
  const std::string text = "a\xC3\xA9\xE2\x82\xAC\xF0\x9F\x98\x80";  // a é € 😀
  const std::u32string code_points = decode_utf8(text);
  REQUIRE(code_points == std::u32string{U'a', 0xE9, 0x20AC, 0x1F600});
  CHECK(encode_utf8(code_points) == text);
  CHECK(split_code_points(text) ==
        std::vector<std::string>{"a", "\xC3\xA9", "\xE2\x82\xAC", "\xF0\x9F\x98\x80"});
  CHECK(find_invalid_utf8(text) == std::string::npos);
}

TEST_CASE("UTF-8 round-trips every scalar value", "[tokenizer][utf8]") {
  std::u32string all;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp)
    if (cp < 0xD800 || cp > 0xDFFF) all.push_back(cp);
  const std::string bytes = encode_utf8(all);
  CHECK(bytes.size() == 0x80 * 1 + (0x800 - 0x80) * 2 + (0x10000 - 0x800 - 0x800) * 3 +
                            (0x110000 - 0x10000) * 4);
  CHECK(decode_utf8(bytes) == all);
}

TEST_CASE("UTF-8 rejects invalid sequences at the first bad byte", "[tokenizer][utf8]") {
  struct Case {
    std::string bytes;
    std::size_t offset;
  };
  const std::vector<Case> cases = {
      {"ab\x80", 2},                  // stray continuation byte
      {"\xC0\xAF", 0},                // overlong '/'
      {"x\xE0\x80\xAF", 1},           // overlong 3-byte form
      {"\xF0\x80\x80\xAF", 0},        // overlong 4-byte form
      {"ok\xED\xA0\x80", 2},          // surrogate U+D800
      {"\xF4\x90\x80\x80", 0},        // U+110000
      {"\xF5\x80\x80\x80", 0},        // lead byte past U+10FFFF
      {"abc\xE2\x82", 3},             // truncated at the end
      {"\xE2\x82z", 0},               // continuation missing in the middle
      {"\xFF", 0},
  };
  for (const auto& c : cases) {
    CAPTURE(c.bytes);
    CHECK(find_invalid_utf8(c.bytes) == c.offset);
    CHECK_THROWS_AS(decode_utf8(c.bytes), std::runtime_error);
  }
  CHECK(error_message([] { check_utf8("ab\xFF", "corpus.txt:7"); }) ==
        "corpus.txt:7: invalid UTF-8 at byte 2");
  CHECK(error_message([] { decode_utf8("\xC3"); }) == "invalid UTF-8 at byte 0");
  CHECK_THROWS_AS(encode_utf8(std::u32string{0xD800}), std::runtime_error);
  CHECK_THROWS_AS(encode_utf8(std::u32string{0x110000}), std::runtime_error);
}

TEST_CASE("Char tokenizer splits code points, spaces become a visible piece", "[tokenizer]") {
  const CharTokenizer tokenizer;
  const std::string line = "h\xC3\xA9 w\xF0\x9F\x98\x80  !";  // "hé w😀  !"
  const auto pieces = tokenizer.encode(line);
  CHECK(pieces == std::vector<std::string>{"h", "\xC3\xA9", "\xE2\x96\x81", "w", "\xF0\x9F\x98\x80",
                                           "\xE2\x96\x81", "\xE2\x96\x81", "!"});
  CHECK(tokenizer.decode(pieces) == line);
  CHECK(tokenizer.encode("").empty());
  CHECK(tokenizer.decode(tokenizer.encode(" lead and trail ")) == " lead and trail ");
  CHECK_THROWS_WITH(tokenizer.encode("a\xFF"), "invalid UTF-8 at byte 1");
}

TEST_CASE("Space tokenizer splits on whitespace and joins with one space", "[tokenizer]") {
  const SpaceTokenizer tokenizer;
  CHECK(tokenizer.encode("  a  b\tc \r") == std::vector<std::string>{"a", "b", "c"});
  CHECK(tokenizer.encode(" \t ").empty());
  CHECK(tokenizer.decode({"a", "b", "c"}) == "a b c");
  const std::string line = "AH0 B \xC3\xA9 12";
  CHECK(tokenizer.decode(tokenizer.encode(line)) == line);
}

TEST_CASE("Tokenizer factory lists the valid options", "[tokenizer]") {
  CHECK(parse_tokenizer_kind("char") == TokenizerKind::kChar);
  CHECK(parse_tokenizer_kind("space") == TokenizerKind::kSpace);
  CHECK(parse_tokenizer_kind("spm") == TokenizerKind::kSpm);
  CHECK_THROWS_WITH(parse_tokenizer_kind("bytes"),
                    "Unknown tokenizer: bytes. Valid options: char, space, spm");
  for (auto kind : {TokenizerKind::kChar, TokenizerKind::kSpace})
    CHECK(make_tokenizer({kind, ""})->name() == tokenizer_kind_name(kind));
  CHECK_THROWS_AS(make_tokenizer({TokenizerKind::kSpm, ""}), std::invalid_argument);
  CHECK_THROWS_WITH(make_tokenizer({TokenizerKind::kSpm, "/nonexistent/m.model"}),
                    Catch::Contains("/nonexistent/m.model: cannot load SentencePiece model"));
}

TEST_CASE("SentencePiece trains deterministically and round-trips", "[tokenizer][spm]") {
  TempDir dir;
  SyntheticConfig config;
  config.task = SyntheticTask::kDate;
  config.count = 400;
  config.seed = 5;
  const ParallelText dates = generate_synthetic(config);
  config.seed = 6;
  config.count = 50;
  const ParallelText unseen = generate_synthetic(config);

  for (const std::string model_type : {"unigram", "bpe"}) {
    CAPTURE(model_type);
    SpmTrainConfig train;
    train.model_type = model_type;
    train.vocab_size = 80;
    train.model_prefix = dir.file(model_type + "_a");
    const std::string model = train_spm(dates.source, train);
    REQUIRE(model == train.model_prefix + ".model");
    REQUIRE(std::filesystem::exists(model));
    // The .model embeds its prefix; the .vocab (piece, score) must match byte for byte.
    train.model_prefix = dir.file(model_type + "_b");
    train_spm(dates.source, train);
    CHECK(file_bytes(dir.file(model_type + "_b.vocab")) == file_bytes(dir.file(model_type + "_a.vocab")));

    const auto tokenizer = make_tokenizer({TokenizerKind::kSpm, model});
    CHECK(tokenizer->name() == "spm");
    CHECK(dynamic_cast<const SpmTokenizer&>(*tokenizer).model_size() <= 80);
    std::size_t pieces_total = 0, chars_total = 0;
    for (const auto* lines : {&dates.source, &unseen.source}) {
      for (const auto& line : *lines) {
        const auto pieces = tokenizer->encode(line);
        CHECK(tokenizer->decode(pieces) == line);
        pieces_total += pieces.size();
        chars_total += line.size();
      }
    }
    CHECK(pieces_total < chars_total);  // pieces merge characters
  }
  CHECK_THROWS_WITH(train_spm(dates.source, {dir.file("x"), "wordpiece", 50, 1.0, 1}),
                    "Unknown SentencePiece model type: wordpiece. Valid options: unigram, bpe");
}
