#pragma once
// The output layer of every model: logits over the target vocabulary, with its weight either its
// own or tied to the target embedding (Press & Wolf 2017).
//
//   logits = W_out o + b_out          own weight:  W_out (V × D), "NAME.weight"
//                                     tied:        W_out = Embᵀ, Emb (D × V) the embedding's weight
//
// Shapes: o (D × N), logits (V × N), bias b_out (V × 1) "NAME.bias". N is any number of columns
// (all T·B positions of a batch: one GEMM). Backward, given ∂L/∂logits (V × N):
//   ∂b_out += Σ_columns ∂logits;  own: ∂W_out += ∂logits oᵀ,  tied: ∂Emb += o ∂logitsᵀ;
//   ∂o = W_outᵀ ∂logits (overwritten).
// Init as nn.Linear(D, V): U(±1/√D) for the own weight and the bias.
#include <optional>
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

template <typename Real>
class OutputLayer {
 public:
  // tied_embedding: the (D × V) embedding weight to use transposed, or nullopt for an own weight.
  OutputLayer(ParamLayout& layout, const std::string& name, uword input_size, uword vocab_size,
              std::optional<ParamId> tied_embedding);

  void init(ParameterStore<Real>& params, Rng& rng) const;
  // logits (V × N) is overwritten.
  void forward(const ParameterStore<Real>& params, const Mat<Real>& o, Mat<Real>& logits) const;
  // Adds into the parameter gradients (the embedding's when tied); d_o (D × N) is overwritten.
  void backward(ParameterStore<Real>& params, const Mat<Real>& o, const Mat<Real>& d_logits,
                Mat<Real>& d_o) const;

  bool tied() const { return tied_.has_value(); }

 private:
  uword input_size_;
  std::optional<ParamId> tied_;
  ParamId weight_, bias_;  // weight_ unused when tied
};

}  // namespace s2s
