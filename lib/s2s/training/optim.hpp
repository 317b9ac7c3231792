#pragma once
// Gradient clipping and optimizers, over the flat parameter buffers only (params.hpp): one loop
// over all values and gradients, no per-parameter cases. Formulas as PyTorch (torch.optim, 1.13),
// for one global step count t (PyTorch keeps one per tensor; they are always equal here).
// g = gradient, θ = value, η = learning rate (passed to every step: schedules live elsewhere),
// λ = weight decay.
//
// Global-norm clipping (torch.nn.utils.clip_grad_norm_):
//   ‖g‖ = √(Σ_i g_i²);  if c = max_norm / (‖g‖ + 1e-6) < 1:  g ← c g.   Returns ‖g‖ before.
//
// SGD with momentum μ (torch.optim.SGD, dampening 0):
//   g ← g + λ θ;   b ← μ b + g   (b starts at 0, so b₁ = g₁ as in PyTorch);
//   θ ← θ − η (g + μ b) with nesterov, else θ ← θ − η b.   μ = 0: θ ← θ − η g, no buffer.
//
// Adam (torch.optim.Adam, amsgrad off), AdamW (torch.optim.AdamW):
//   Adam:  g ← g + λ θ            AdamW:  θ ← θ (1 − η λ)     (decoupled)
//   m ← β₁ m + (1 − β₁) g;   v ← β₂ v + (1 − β₂) g²
//   θ ← θ − (η / (1 − β₁ᵗ)) · m / (√v / √(1 − β₂ᵗ) + ε)
//
// State (for checkpoints): the step count and flat buffers of the store's size under PyTorch's
// names, "momentum_buffer" (SGD with μ > 0), "exp_avg" m and "exp_avg_sq" v (Adam, AdamW).
// Buffers are allocated (zeros) by the first step, as PyTorch's lazy state.
#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "s2s/core/params.hpp"
#include "s2s/core/worker_pool.hpp"

namespace s2s {

// ‖g‖₂ of a flat gradient buffer (accumulated in double). With a pool of W > 1 workers each
// sums a contiguous chunk (WorkerPool::chunk) and the W partial sums are added in order: the
// result depends on W (the order of summation), never on timing.
template <typename Real>
double grad_norm(const arma::Col<Real>& grads, WorkerPool* pool = nullptr);

// Scales grads so that their global norm is at most max_norm (> 0); returns the norm before
// clipping. A non-finite norm is returned as is and the gradients are scaled by a NaN factor,
// as PyTorch with error_if_nonfinite=False: the caller decides to skip the step.
template <typename Real>
double clip_grad_norm(arma::Col<Real>& grads, double max_norm, WorkerPool* pool = nullptr);

struct OptimizerConfig {
  std::string name = "adam";  // sgd | adam | adamw
  double weight_decay = 0.0;  // λ (note: PyTorch's AdamW default is 1e-2; here 0 unless set)
  // SGD
  double momentum = 0.0;
  bool nesterov = false;  // needs momentum > 0
  // Adam, AdamW
  double beta1 = 0.9;
  double beta2 = 0.999;
  double eps = 1e-8;
};

template <typename Real>
struct OptimizerState {
  std::uint64_t step = 0;
  std::map<std::string, arma::Col<Real>> buffers;  // name → (store size × 1); empty before step 1
};

template <typename Real>
class Optimizer {
 public:
  virtual ~Optimizer() = default;

  // One update of the flat values from the flat gradients (same size) with learning rate lr.
  // Throws std::invalid_argument on a size mismatch (with the buffers or between the two).
  // The update is element-wise, so a pool's workers (each taking a chunk) give the same values.
  void step(arma::Col<Real>& values, const arma::Col<Real>& grads, double lr,
            WorkerPool* pool = nullptr);
  void step(ParameterStore<Real>& params, double lr, WorkerPool* pool = nullptr) {
    step(params.values(), params.grads(), lr, pool);
  }

  std::uint64_t step_count() const { return state_.step; }
  virtual std::string name() const = 0;

  const OptimizerState<Real>& state() const { return state_; }
  // Throws std::invalid_argument unless the buffer names are exactly this optimizer's and all
  // buffers have one size (all empty: before the first step).
  void set_state(const OptimizerState<Real>& state);

 protected:
  explicit Optimizer(const std::vector<std::string>& buffer_names);
  // The update for step t = step_count() (already incremented) of elements [first, first + n)
  // of values, grads and every buffer (all of the same, full size). Called concurrently for
  // disjoint ranges.
  virtual void update(Real* values, const Real* grads, uword first, uword n, double lr) = 0;
  Real* buffer(const std::string& name) { return state_.buffers.at(name).memptr(); }

 private:
  OptimizerState<Real> state_;
};

template <typename Real>
class Sgd : public Optimizer<Real> {
 public:
  explicit Sgd(const OptimizerConfig& config);
  std::string name() const override { return "sgd"; }

 protected:
  void update(Real* values, const Real* grads, uword first, uword n, double lr) override;

 private:
  double momentum_, weight_decay_;
  bool nesterov_;
};

// Adam, or AdamW when decoupled_weight_decay.
template <typename Real>
class Adam : public Optimizer<Real> {
 public:
  Adam(const OptimizerConfig& config, bool decoupled_weight_decay);
  std::string name() const override { return decoupled_ ? "adamw" : "adam"; }

 protected:
  void update(Real* values, const Real* grads, uword first, uword n, double lr) override;

 private:
  double beta1_, beta2_, eps_, weight_decay_;
  bool decoupled_;
};

// Throws std::invalid_argument "Unknown optimizer: X. Valid options: sgd, adam, adamw", or on
// an invalid hyper-parameter.
template <typename Real>
std::unique_ptr<Optimizer<Real>> make_optimizer(const OptimizerConfig& config);

}  // namespace s2s
