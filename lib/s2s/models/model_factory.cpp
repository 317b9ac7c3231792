#include "s2s/models/model_factory.hpp"

#include <stdexcept>

#include "s2s/models/rnn_seq2seq.hpp"
#include "s2s/models/transformer_seq2seq.hpp"

namespace s2s {

template <typename Real>
std::unique_ptr<Seq2SeqModel<Real>> make_model(const ModelConfig& config, uword source_vocab_size,
                                               uword target_vocab_size) {
  if (config.type == "rnn")
    return std::make_unique<RnnSeq2Seq<Real>>(config, source_vocab_size, target_vocab_size);
  if (config.type == "transformer")
    return std::make_unique<TransformerSeq2Seq<Real>>(config, source_vocab_size,
                                                      target_vocab_size);
  throw std::invalid_argument("Unknown model type: " + config.type +
                              ". Valid options: rnn, transformer");
}

template std::unique_ptr<Seq2SeqModel<float>> make_model<float>(const ModelConfig&, uword, uword);
template std::unique_ptr<Seq2SeqModel<double>> make_model<double>(const ModelConfig&, uword,
                                                                  uword);

}  // namespace s2s
