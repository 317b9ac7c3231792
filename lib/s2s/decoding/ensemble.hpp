#pragma once
// An ensemble of trained models that decodes as one (translate/evaluate with several --model):
// at every step each member scores the same prefixes and the ensemble's score of a token is the
// mean of the members' log-probabilities, (1/K) Σ_k log P_k(y_t | y_<t, X), in greedy and beam
// search alike; with weights w_k (--weight, as Marian's --weights) the weighted mean
// Σ_k w_k log P_k / Σ_k w_k. Members may be RNNs and Transformers mixed; they must share the source and target
// vocabularies (the command line checks the files). An ensemble of one model, or of copies of one
// model, decodes exactly as that model.
//
// It only decodes: init() and forward_backward() throw std::logic_error, and it has no
// parameters of its own. attention() returns the first member's weights.
#include <memory>
#include <vector>

#include "s2s/models/seq2seq_model.hpp"

namespace s2s {

class EnsembleModel : public Seq2SeqModel<float> {
 public:
  // Non-owning: the members outlive the ensemble. `weights`: none (the plain mean, computed as
  // before weights existed, so its scores are unchanged bit for bit) or one per member, finite
  // and > 0, normalised to sum 1. Throws std::invalid_argument when there are no members, their
  // vocabulary sizes differ, or a weight is missing or not > 0.
  explicit EnsembleModel(std::vector<Seq2SeqModel<float>*> members,
                         std::vector<double> weights = {});

  std::string describe() const override;
  ParameterStore<float>& params() override { return params_; }
  const ParameterStore<float>& params() const override { return params_; }
  uword source_vocab_size() const override { return members_.front()->source_vocab_size(); }
  uword target_vocab_size() const override { return members_.front()->target_vocab_size(); }
  // The smallest limit of the members (0 when none has one).
  uword max_length() const override;

  void init(Rng& rng) override;
  LossStats forward_backward(const Batch& batch, const LossOptions& options, bool training,
                             bool compute_gradients, Rng& rng) override;

  std::unique_ptr<DecodeState> encode(const std::vector<Index>& src,
                                      const std::vector<uword>& src_lengths,
                                      uword src_steps) override;
  void decode_step(DecodeState& state, const std::vector<Index>& prev_tokens,
                   Mat<float>& log_probs) override;
  void reorder(DecodeState& state, const std::vector<uword>& rows) override;
  AttentionWeights<float> attention(const DecodeState& state) const override;

 private:
  std::vector<Seq2SeqModel<float>*> members_;
  std::vector<float> weights_;  // normalised; empty: the plain mean
  ParameterStore<float> params_;
};

}  // namespace s2s
