#include "s2s/decoding/ensemble.hpp"

#include <cmath>
#include <numeric>
#include <sstream>
#include <stdexcept>
#include <string>

namespace s2s {

namespace {

struct EnsembleState : DecodeState {
  std::vector<std::unique_ptr<DecodeState>> members;
  Mat<float> member_log_probs;  // one member's step, reused from step to step
};

EnsembleState& as_ensemble(DecodeState& state) { return static_cast<EnsembleState&>(state); }
const EnsembleState& as_ensemble(const DecodeState& state) {
  return static_cast<const EnsembleState&>(state);
}

}  // namespace

EnsembleModel::EnsembleModel(std::vector<Seq2SeqModel<float>*> members,
                             std::vector<double> weights)
    : members_(std::move(members)), params_(ParamLayout()) {
  if (members_.empty()) throw std::invalid_argument("an ensemble needs at least one model");
  if (!weights.empty()) {
    if (weights.size() != members_.size())
      throw std::invalid_argument(std::to_string(weights.size()) + " ensemble weights for " +
                                  std::to_string(members_.size()) + " models: give one per model");
    for (std::size_t k = 0; k < weights.size(); ++k)
      if (!std::isfinite(weights[k]) || weights[k] <= 0)
        throw std::invalid_argument("ensemble weight " + std::to_string(k + 1) + " is " +
                                    std::to_string(weights[k]) + ": weights must be > 0");
    const double total = std::accumulate(weights.begin(), weights.end(), 0.0);
    for (double w : weights) weights_.push_back(static_cast<float>(w / total));
  }
  for (std::size_t k = 1; k < members_.size(); ++k)
    if (members_[k]->source_vocab_size() != source_vocab_size() ||
        members_[k]->target_vocab_size() != target_vocab_size())
      throw std::invalid_argument(
          "ensemble member " + std::to_string(k + 1) + " has vocabularies of " +
          std::to_string(members_[k]->source_vocab_size()) + " -> " +
          std::to_string(members_[k]->target_vocab_size()) + " tokens, the first " +
          std::to_string(source_vocab_size()) + " -> " + std::to_string(target_vocab_size()));
}

std::string EnsembleModel::describe() const {
  std::ostringstream text;
  text << "ensemble of " << members_.size() << ":";
  for (std::size_t k = 0; k < members_.size(); ++k) {
    text << (k ? "; " : " ");
    if (!weights_.empty()) text << "weight " << weights_[k] << " ";
    text << members_[k]->describe();
  }
  return text.str();
}

uword EnsembleModel::max_length() const {
  uword limit = 0;
  for (const auto* m : members_)
    if (m->max_length() > 0 && (limit == 0 || m->max_length() < limit)) limit = m->max_length();
  return limit;
}

void EnsembleModel::init(Rng&) {
  throw std::logic_error("an ensemble is made of trained models; it cannot be initialised");
}

LossStats EnsembleModel::forward_backward(const Batch&, const LossOptions&, bool, bool, Rng&) {
  throw std::logic_error("an ensemble only decodes; train its members one by one");
}

std::unique_ptr<DecodeState> EnsembleModel::encode(const std::vector<Index>& src,
                                                   const std::vector<uword>& src_lengths,
                                                   uword src_steps) {
  auto state = std::make_unique<EnsembleState>();
  for (auto* m : members_) state->members.push_back(m->encode(src, src_lengths, src_steps));
  state->rows = state->members.front()->rows;
  return state;
}

void EnsembleModel::decode_step(DecodeState& state, const std::vector<Index>& prev_tokens,
                                Mat<float>& log_probs) {
  EnsembleState& s = as_ensemble(state);
  members_.front()->decode_step(*s.members.front(), prev_tokens, log_probs);
  if (!weights_.empty()) log_probs *= weights_.front();
  for (std::size_t k = 1; k < members_.size(); ++k) {
    members_[k]->decode_step(*s.members[k], prev_tokens, s.member_log_probs);
    if (weights_.empty())
      log_probs += s.member_log_probs;
    else
      log_probs += weights_[k] * s.member_log_probs;
  }
  if (weights_.empty() && members_.size() > 1)
    log_probs *= 1.0f / static_cast<float>(members_.size());
  s.rows = s.members.front()->rows;
}

void EnsembleModel::reorder(DecodeState& state, const std::vector<uword>& rows) {
  EnsembleState& s = as_ensemble(state);
  for (std::size_t k = 0; k < members_.size(); ++k) members_[k]->reorder(*s.members[k], rows);
  s.rows = s.members.front()->rows;
}

AttentionWeights<float> EnsembleModel::attention(const DecodeState& state) const {
  return members_.front()->attention(*as_ensemble(state).members.front());
}

}  // namespace s2s
