#include "s2s/data/tokenizer.hpp"

#include <sentencepiece_processor.h>
#include <sentencepiece_trainer.h>

#include <stdexcept>
#include <unordered_map>

#include "s2s/core/choice.hpp"
#include "s2s/core/utf8.hpp"

namespace s2s {
namespace {

bool is_ascii_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' || c == '\f';
}

// Feeds in-memory lines to the SentencePiece trainer.
class LineIterator final : public sentencepiece::SentenceIterator {
 public:
  explicit LineIterator(const std::vector<std::string>& lines) : lines_(lines) {}
  bool done() const override { return index_ >= lines_.size(); }
  void Next() override { ++index_; }
  const std::string& value() const override { return lines_[index_]; }
  sentencepiece::util::Status status() const override { return {}; }

 private:
  const std::vector<std::string>& lines_;
  std::size_t index_ = 0;
};

}  // namespace

std::vector<std::string> CharTokenizer::encode(std::string_view line) const {
  std::vector<std::string> pieces = split_code_points(line);
  for (auto& piece : pieces)
    if (piece == " ") piece = std::string(kSpaceSymbol);
  return pieces;
}

std::string CharTokenizer::decode(const std::vector<std::string>& pieces) const {
  std::string line;
  for (const auto& piece : pieces) {
    for (std::size_t pos = 0; pos < piece.size();) {
      if (piece.compare(pos, kSpaceSymbol.size(), kSpaceSymbol) == 0) {
        line.push_back(' ');
        pos += kSpaceSymbol.size();
      } else {
        line.push_back(piece[pos++]);
      }
    }
  }
  return line;
}

std::vector<std::string> SpaceTokenizer::encode(std::string_view line) const {
  std::vector<std::string> pieces;
  std::size_t pos = 0;
  while (pos < line.size()) {
    while (pos < line.size() && is_ascii_space(line[pos])) ++pos;
    const std::size_t start = pos;
    while (pos < line.size() && !is_ascii_space(line[pos])) ++pos;
    if (pos > start) pieces.emplace_back(line.substr(start, pos - start));
  }
  return pieces;
}

std::string SpaceTokenizer::decode(const std::vector<std::string>& pieces) const {
  std::string line;
  for (std::size_t i = 0; i < pieces.size(); ++i) {
    if (i > 0) line.push_back(' ');
    line += pieces[i];
  }
  return line;
}

SpmTokenizer::SpmTokenizer(const std::string& model_path)
    : model_path_(model_path), processor_(std::make_unique<sentencepiece::SentencePieceProcessor>()) {
  const auto status = processor_->Load(model_path);
  if (!status.ok())
    throw std::runtime_error(model_path + ": cannot load SentencePiece model (" +
                             status.ToString() + ")");
}

SpmTokenizer::~SpmTokenizer() = default;

std::vector<std::string> SpmTokenizer::encode(std::string_view line) const {
  std::vector<std::string> pieces;
  const auto status = processor_->Encode(line, &pieces);
  if (!status.ok())
    throw std::runtime_error(model_path_ + ": SentencePiece encode failed (" + status.ToString() +
                             ")");
  return pieces;
}

std::string SpmTokenizer::decode(const std::vector<std::string>& pieces) const {
  std::string line;
  const auto status = processor_->Decode(pieces, &line);
  if (!status.ok())
    throw std::runtime_error(model_path_ + ": SentencePiece decode failed (" + status.ToString() +
                             ")");
  return line;
}

int SpmTokenizer::model_size() const { return processor_->GetPieceSize(); }

std::string train_spm(const std::vector<std::string>& lines, const SpmTrainConfig& config) {
  if (config.model_prefix.empty()) throw std::invalid_argument("train_spm: empty model_prefix");
  if (config.model_type != "unigram" && config.model_type != "bpe")
    throw std::invalid_argument("Unknown SentencePiece model type: " + config.model_type +
                                ". Valid options: unigram, bpe");
  if (lines.empty()) throw std::invalid_argument("train_spm: no training lines");
  const std::unordered_map<std::string, std::string> options = {
      {"model_prefix", config.model_prefix},
      {"model_type", config.model_type},
      {"vocab_size", std::to_string(config.vocab_size)},
      {"character_coverage", std::to_string(config.character_coverage)},
      {"hard_vocab_limit", "false"},
      // Determinism: every line, in order, one thread.
      {"input_sentence_size", "0"},
      {"shuffle_input_sentence", "false"},
      {"num_threads", "1"},
      // Exact round trips: no Unicode normalisation, whitespace kept as it is.
      {"normalization_rule_name", "identity"},
      {"remove_extra_whitespaces", "false"},
      // Ids are the Vocab's business; only <unk> (required by SentencePiece) stays in the model.
      {"unk_id", "0"},
      {"bos_id", "-1"},
      {"eos_id", "-1"},
      {"pad_id", "-1"},
      {"minloglevel", "1"},
  };
  sentencepiece::SetRandomGeneratorSeed(config.seed);
  LineIterator iterator(lines);
  const auto status = sentencepiece::SentencePieceTrainer::Train(options, &iterator);
  if (!status.ok())
    throw std::runtime_error(config.model_prefix + ".model: SentencePiece training failed (" +
                             status.ToString() + ")");
  return config.model_prefix + ".model";
}

TokenizerKind parse_tokenizer_kind(std::string_view name) {
  return parse_choice<TokenizerKind>("tokenizer", name,
      {{"char", TokenizerKind::kChar}, {"space", TokenizerKind::kSpace},
       {"spm", TokenizerKind::kSpm}});
}

std::string tokenizer_kind_name(TokenizerKind kind) {
  switch (kind) {
    case TokenizerKind::kChar: return "char";
    case TokenizerKind::kSpace: return "space";
    case TokenizerKind::kSpm: return "spm";
  }
  return "?";
}

std::unique_ptr<Tokenizer> make_tokenizer(const TokenizerConfig& config) {
  switch (config.kind) {
    case TokenizerKind::kChar: return std::make_unique<CharTokenizer>();
    case TokenizerKind::kSpace: return std::make_unique<SpaceTokenizer>();
    case TokenizerKind::kSpm:
      if (config.spm_model.empty())
        throw std::invalid_argument(
            "tokenizer spm needs a trained SentencePiece .model file (train one with train_spm)");
      return std::make_unique<SpmTokenizer>(config.spm_model);
  }
  throw std::invalid_argument("Unknown tokenizer kind");
}

}  // namespace s2s
