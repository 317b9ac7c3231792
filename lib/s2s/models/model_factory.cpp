#include "s2s/models/model_factory.hpp"

#include <stdexcept>

#include "s2s/core/choice.hpp"
#include "s2s/models/rnn_seq2seq.hpp"
#include "s2s/models/transformer_seq2seq.hpp"

namespace s2s {

ModelType parse_model_type(const std::string& name) {
  return parse_choice<ModelType>("model type", name,
      {{"rnn", ModelType::kRnn}, {"transformer", ModelType::kTransformer}});
}

uword model_max_length(const ModelConfig& config) {
  if (parse_model_type(config.type) != ModelType::kTransformer) return 0;
  // As the Transformer's constructor decides: a table of absolute positions unless the
  // positions are a relative attention bias.
  const bool absolute =
      relative_bias_kind(parse_position_kind(config.positions)) == RelativeBiasKind::kNone;
  return absolute ? TransformerSeq2Seq<float>::kMaxPositions - 1 : 0;
}

template <typename Real>
std::unique_ptr<Seq2SeqModel<Real>> make_model(const ModelConfig& config, uword source_vocab_size,
                                               uword target_vocab_size) {
  switch (parse_model_type(config.type)) {
    case ModelType::kRnn:
      return std::make_unique<RnnSeq2Seq<Real>>(config, source_vocab_size, target_vocab_size);
    case ModelType::kTransformer:
      return std::make_unique<TransformerSeq2Seq<Real>>(config, source_vocab_size,
                                                        target_vocab_size);
  }
  throw std::logic_error("make_model: unhandled model type " + config.type);
}

template std::unique_ptr<Seq2SeqModel<float>> make_model<float>(const ModelConfig&, uword, uword);
template std::unique_ptr<Seq2SeqModel<double>> make_model<double>(const ModelConfig&, uword,
                                                                  uword);

}  // namespace s2s
