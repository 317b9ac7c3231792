#include "s2s/attention/attention_factory.hpp"

#include <stdexcept>
#include <string>

#include "s2s/attention/additive_attention.hpp"
#include "s2s/attention/dot_attention.hpp"
#include "s2s/attention/local_attention.hpp"

namespace s2s {

template <typename Real>
std::unique_ptr<Attention<Real>> make_attention(const AttentionConfig& config,
                                                ParamLayout& layout) {
  switch (parse_attention_type(config.type)) {
    case AttentionType::kDot:
    case AttentionType::kLuongDot:
    case AttentionType::kLuongGeneral:
      return std::make_unique<DotAttention<Real>>(config, layout);
    case AttentionType::kBahdanau:
    case AttentionType::kLuongConcat:
    case AttentionType::kMonotonic:
    case AttentionType::kMonotonicChunk:
      return std::make_unique<AdditiveAttention<Real>>(config, layout);
    case AttentionType::kLuongLocalM:
    case AttentionType::kLuongLocalP:
      return std::make_unique<LocalAttention<Real>>(config, layout);
  }
  throw std::logic_error("make_attention: unhandled attention type " + config.type);
}

template std::unique_ptr<Attention<float>> make_attention(const AttentionConfig&, ParamLayout&);
template std::unique_ptr<Attention<double>> make_attention(const AttentionConfig&, ParamLayout&);

}  // namespace s2s
