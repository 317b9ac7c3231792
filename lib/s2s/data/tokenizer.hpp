#pragma once
// Tokenizers: a line of text <-> a sequence of string pieces, behind one interface.
//
//   char   one piece per Unicode code point (not byte); a space becomes the visible piece "▁"
//          (U+2581) so vocabulary files stay readable. decode(encode(x)) == x for every valid
//          UTF-8 x that does not itself contain "▁".
//   space  pieces are the runs of non-whitespace (ASCII whitespace separates); decode joins them
//          with one space, so decode(encode(x)) == x up to whitespace normalisation.
//   spm    SentencePiece (unigram or BPE) trained on the training lines by train_spm, or loaded
//          from an existing .model. Trained with the identity normaliser and without collapsing
//          whitespace, so decode(encode(x)) == x for text covered by the model.
//
// Pieces are mapped to ids by a Vocab (vocab.hpp); tokenizers know nothing of ids.
#include <memory>
#include <string>
#include <string_view>
#include <vector>

namespace sentencepiece {
class SentencePieceProcessor;
}

namespace s2s {

// U+2581 LOWER ONE EIGHTH BLOCK, the space symbol (same as SentencePiece's).
inline constexpr std::string_view kSpaceSymbol = "\xE2\x96\x81";

class Tokenizer {
 public:
  virtual ~Tokenizer() = default;
  virtual std::string name() const = 0;
  virtual std::vector<std::string> encode(std::string_view line) const = 0;
  virtual std::string decode(const std::vector<std::string>& pieces) const = 0;
};

class CharTokenizer final : public Tokenizer {
 public:
  std::string name() const override { return "char"; }
  // Throws std::runtime_error("invalid UTF-8 at byte N") on invalid input.
  std::vector<std::string> encode(std::string_view line) const override;
  std::string decode(const std::vector<std::string>& pieces) const override;
};

class SpaceTokenizer final : public Tokenizer {
 public:
  std::string name() const override { return "space"; }
  std::vector<std::string> encode(std::string_view line) const override;
  std::string decode(const std::vector<std::string>& pieces) const override;
};

class SpmTokenizer final : public Tokenizer {
 public:
  explicit SpmTokenizer(const std::string& model_path);  // throws if it cannot be loaded
  ~SpmTokenizer() override;
  SpmTokenizer(const SpmTokenizer&) = delete;
  SpmTokenizer& operator=(const SpmTokenizer&) = delete;

  std::string name() const override { return "spm"; }
  std::vector<std::string> encode(std::string_view line) const override;
  std::string decode(const std::vector<std::string>& pieces) const override;
  int model_size() const;  // number of pieces in the SentencePiece model

 private:
  std::string model_path_;
  std::unique_ptr<sentencepiece::SentencePieceProcessor> processor_;
};

struct SpmTrainConfig {
  std::string model_prefix;            // writes <prefix>.model and <prefix>.vocab
  std::string model_type = "unigram";  // unigram | bpe
  int vocab_size = 8000;  // a soft limit (hard_vocab_limit=false): small data may give fewer
  double character_coverage = 1.0;
  unsigned int seed = 1;
};

// Trains a SentencePiece model on `lines` deterministically (one thread, no sampling or
// shuffling of the input) and returns the path of the written .model file.
std::string train_spm(const std::vector<std::string>& lines, const SpmTrainConfig& config);

enum class TokenizerKind { kChar, kSpace, kSpm };

// "char" | "space" | "spm"; otherwise throws
// std::invalid_argument("Unknown tokenizer: X. Valid options: char, space, spm").
TokenizerKind parse_tokenizer_kind(std::string_view name);
std::string tokenizer_kind_name(TokenizerKind kind);

struct TokenizerConfig {
  TokenizerKind kind = TokenizerKind::kChar;
  std::string spm_model;  // path of a trained .model; required for kSpm
};

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config);

}  // namespace s2s
