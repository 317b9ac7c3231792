#pragma once
// The one factory from a ModelConfig to a Seq2SeqModel. Its errors list the valid values.
#include <memory>
#include <string>

#include "s2s/core/config.hpp"
#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

// model.type, parsed once. Throws std::invalid_argument listing the valid types.
enum class ModelType { kRnn, kTransformer };
ModelType parse_model_type(const std::string& name);

// What make_model(config, ...)->max_length() will be, known before the vocabularies are: the
// data can be checked against it at load.
uword model_max_length(const ModelConfig& config);

// Throws std::invalid_argument: "Unknown model type: X. Valid options: rnn, transformer", and
// the models' own errors for inconsistent settings.
template <typename Real>
std::unique_ptr<Seq2SeqModel<Real>> make_model(const ModelConfig& config, uword source_vocab_size,
                                               uword target_vocab_size);

}  // namespace s2s
