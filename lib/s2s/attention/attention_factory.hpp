#pragma once
// Builds an RNN attention variant (attention.hpp) from its config: the one place that knows every
// variant's class.
#include <memory>

#include "s2s/attention/attention.hpp"
#include "s2s/core/params.hpp"

namespace s2s {

// The error lists the valid types: "Unknown attention mechanism: X. Valid options: dot, ...".
// Adds the variant's parameters to layout under config.name.
template <typename Real>
std::unique_ptr<Attention<Real>> make_attention(const AttentionConfig& config, ParamLayout& layout);

}  // namespace s2s
