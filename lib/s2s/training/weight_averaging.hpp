#pragma once
// Averages of the weights, which published recipes report instead of the last weights:
//   ParameterEma         an exponential moving average kept during training (train.ema): after
//                        each optimizer step a ← d·a + (1 − d)·θ, with decay d = train.ema_decay;
//                        validation, best.ckpt and the test set use a, last.ckpt keeps it to
//                        resume exactly
//   average_checkpoints  the element-wise mean of several checkpoints' parameters (the last K
//                        validation checkpoints that train.keep_checkpoints keeps), as
//                        `s2s average` writes it
#include <string>
#include <vector>

#include "s2s/core/checkpoint.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

class ParameterEma {
 public:
  explicit ParameterEma(double decay) : decay_(decay) {}

  // a ← θ (the start of a run).
  void reset(const arma::fvec& values) { average_ = values; }
  // a ← d·a + (1 − d)·θ, element by element (no allocation).
  void update(const arma::fvec& values);

  arma::fvec& average() { return average_; }
  const arma::fvec& average() const { return average_; }
  double decay() const { return decay_; }

 private:
  double decay_;
  arma::fvec average_;
};

// Every parameter tensor (the "param/" keys) of the checkpoints averaged in double and rounded once
// to float, so that K copies of one checkpoint average to it exactly. The result holds only the
// parameters and the first checkpoint's texts (vocabulary digests). Throws std::runtime_error
// when the checkpoints do not hold the same tensors of the same shapes (naming the first that
// differs), or when there are none.
Checkpoint average_checkpoints(const std::vector<Checkpoint>& checkpoints);

}  // namespace s2s
