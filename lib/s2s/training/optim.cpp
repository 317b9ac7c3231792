#include "s2s/training/optim.hpp"

#include "s2s/core/activations.hpp"  // S2S_VECTOR_CLONES
#include "s2s/core/choice.hpp"

#include <cmath>
#include <functional>
#include <stdexcept>
#include <vector>

namespace s2s {

namespace {

template <typename Real>
double sum_of_squares(const Real* g, std::size_t first, std::size_t last) {
  double sum_sq = 0.0;
  for (std::size_t i = first; i < last; ++i) sum_sq += static_cast<double>(g[i]) * g[i];
  return sum_sq;
}

// task(first, last) over [0, n), on the pool's workers when there is a pool.
void for_chunks(std::size_t n, WorkerPool* pool,
                const std::function<void(std::size_t, std::size_t)>& task) {
  if (pool == nullptr) return task(0, n);
  pool->run_chunks(n, task);
}

}  // namespace

template <typename Real>
double grad_norm(const arma::Col<Real>& grads, WorkerPool* pool) {
  const Real* g = grads.memptr();
  if (pool == nullptr || pool->size() == 1) return std::sqrt(sum_of_squares(g, 0, grads.n_elem));
  std::vector<double> partial(static_cast<std::size_t>(pool->size()), 0.0);
  pool->run([&](int w) {
    const auto [first, last] = WorkerPool::chunk(grads.n_elem, w, pool->size());
    partial[static_cast<std::size_t>(w)] = sum_of_squares(g, first, last);
  });
  double sum_sq = 0.0;
  for (double p : partial) sum_sq += p;
  return std::sqrt(sum_sq);
}

template <typename Real>
double clip_grad_norm(arma::Col<Real>& grads, double max_norm, WorkerPool* pool) {
  if (!(max_norm > 0.0))
    throw std::invalid_argument("clip_grad_norm: max_norm must be > 0, got " +
                                std::to_string(max_norm));
  const double total_norm = grad_norm(grads, pool);
  const double clip_coef = max_norm / (total_norm + 1e-6);
  if (!(clip_coef >= 1.0)) {  // also when the norm is NaN, as PyTorch
    const Real scale = static_cast<Real>(clip_coef);
    Real* g = grads.memptr();
    for_chunks(grads.n_elem, pool, [&](std::size_t first, std::size_t last) {
      for (std::size_t i = first; i < last; ++i) g[i] *= scale;
    });
  }
  return total_norm;
}

// ---- Optimizer: step count, buffer sizes, state ----

template <typename Real>
Optimizer<Real>::Optimizer(const std::vector<std::string>& buffer_names) {
  for (const std::string& buffer_name : buffer_names) state_.buffers[buffer_name];
}

template <typename Real>
void Optimizer<Real>::step(arma::Col<Real>& values, const arma::Col<Real>& grads, double lr,
                           WorkerPool* pool) {
  const uword n = values.n_elem;
  if (grads.n_elem != n)
    throw std::invalid_argument(name() + ": " + std::to_string(n) + " values but " +
                                std::to_string(grads.n_elem) + " gradients");
  for (auto& [buffer_name, buffer] : state_.buffers) {
    if (buffer.is_empty())
      buffer.zeros(n);  // first step: PyTorch's lazy state
    else if (buffer.n_elem != n)
      throw std::invalid_argument(name() + ": state buffer " + buffer_name + " has " +
                                  std::to_string(buffer.n_elem) + " elements, parameters " +
                                  std::to_string(n));
  }
  ++state_.step;
  for_chunks(n, pool, [&](std::size_t first, std::size_t last) {
    update(values.memptr(), grads.memptr(), first, last - first, lr);
  });
}

template <typename Real>
void Optimizer<Real>::set_state(const OptimizerState<Real>& state) {
  if (state.buffers.size() != state_.buffers.size())
    throw std::invalid_argument(name() + ": state has " + std::to_string(state.buffers.size()) +
                                " buffers, expected " + std::to_string(state_.buffers.size()));
  for (const auto& [buffer_name, unused] : state_.buffers) {
    auto it = state.buffers.find(buffer_name);
    if (it == state.buffers.end())
      throw std::invalid_argument(name() + ": state lacks buffer " + buffer_name);
    if (it->second.n_elem != state.buffers.begin()->second.n_elem)
      throw std::invalid_argument(name() + ": state buffers of different sizes");
  }
  state_ = state;
}

// ---- SGD ----

template <typename Real>
Sgd<Real>::Sgd(const OptimizerConfig& config)
    : Optimizer<Real>(config.momentum > 0.0 ? std::vector<std::string>{"momentum_buffer"}
                                            : std::vector<std::string>{}),
      momentum_(config.momentum), weight_decay_(config.weight_decay), nesterov_(config.nesterov) {
  if (!(momentum_ >= 0.0))
    throw std::invalid_argument("sgd: momentum must be >= 0, got " + std::to_string(momentum_));
  if (!(weight_decay_ >= 0.0))
    throw std::invalid_argument("sgd: weight decay must be >= 0, got " +
                                std::to_string(weight_decay_));
  if (nesterov_ && momentum_ == 0.0)
    throw std::invalid_argument("sgd: nesterov needs momentum > 0");
}

template <typename Real>
void Sgd<Real>::update(Real* values, const Real* grads, uword first, uword n, double lr) {
  values += first;
  grads += first;
  const Real eta = static_cast<Real>(lr);
  const Real decay = static_cast<Real>(weight_decay_);
  const Real mu = static_cast<Real>(momentum_);
  if (momentum_ == 0.0) {
    for (uword i = 0; i < n; ++i) values[i] -= eta * (grads[i] + decay * values[i]);
    return;
  }
  Real* buf = this->buffer("momentum_buffer") + first;
  for (uword i = 0; i < n; ++i) {
    const Real g = grads[i] + decay * values[i];
    buf[i] = mu * buf[i] + g;
    // nesterov: d = g + μ b;  plain: d = b
    const Real d = nesterov_ ? g + mu * buf[i] : buf[i];
    values[i] -= eta * d;
  }
}

// ---- Adam, AdamW ----

template <typename Real>
Adam<Real>::Adam(const OptimizerConfig& config, bool decoupled_weight_decay)
    : Optimizer<Real>({"exp_avg", "exp_avg_sq"}),
      beta1_(config.beta1),
      beta2_(config.beta2),
      eps_(config.eps),
      weight_decay_(config.weight_decay),
      decoupled_(decoupled_weight_decay) {
  const std::string who = decoupled_ ? "adamw" : "adam";
  if (!(beta1_ >= 0.0 && beta1_ < 1.0))
    throw std::invalid_argument(who + ": beta1 must be in [0, 1), got " + std::to_string(beta1_));
  if (!(beta2_ >= 0.0 && beta2_ < 1.0))
    throw std::invalid_argument(who + ": beta2 must be in [0, 1), got " + std::to_string(beta2_));
  if (!(eps_ >= 0.0))
    throw std::invalid_argument(who + ": eps must be >= 0, got " + std::to_string(eps_));
  if (!(weight_decay_ >= 0.0))
    throw std::invalid_argument(who + ": weight decay must be >= 0, got " +
                                std::to_string(weight_decay_));
}

namespace {

// One Adam step over n parameters (Kingma & Ba, with PyTorch's placement of eps), written once
// for every vector width (S2S_VECTOR_CLONES; a virtual function cannot be multiversioned).
template <typename Real>
S2S_VECTOR_CLONES void adam_step(Real* values, const Real* grads, Real* m, Real* v, uword n,
                                 Real beta1, Real beta2, Real one_minus_beta1,
                                 Real one_minus_beta2, Real step_size,
                                 Real bias_correction2_sqrt, Real eps, Real coupled_decay,
                                 Real shrink) {
  for (uword i = 0; i < n; ++i) {
    const Real g = grads[i] + coupled_decay * values[i];
    values[i] *= shrink;
    m[i] = beta1 * m[i] + one_minus_beta1 * g;
    v[i] = beta2 * v[i] + one_minus_beta2 * g * g;
    const Real denom = std::sqrt(v[i]) / bias_correction2_sqrt + eps;
    values[i] -= step_size * (m[i] / denom);
  }
}

}  // namespace

template <typename Real>
void Adam<Real>::update(Real* values, const Real* grads, uword first, uword n, double lr) {
  const double t = static_cast<double>(this->step_count());
  const Real step_size = static_cast<Real>(lr / (1.0 - std::pow(beta1_, t)));
  const Real bias_correction2_sqrt = static_cast<Real>(std::sqrt(1.0 - std::pow(beta2_, t)));
  // Adam adds λθ to the gradient; AdamW shrinks θ by (1 − ηλ) first. The unused one is a no-op.
  const Real coupled_decay = static_cast<Real>(decoupled_ ? 0.0 : weight_decay_);
  const Real shrink = static_cast<Real>(decoupled_ ? 1.0 - lr * weight_decay_ : 1.0);
  adam_step(values + first, grads + first, this->buffer("exp_avg") + first,
            this->buffer("exp_avg_sq") + first, n,
            static_cast<Real>(beta1_), static_cast<Real>(beta2_),
            static_cast<Real>(1.0 - beta1_), static_cast<Real>(1.0 - beta2_), step_size,
            bias_correction2_sqrt, static_cast<Real>(eps_), coupled_decay, shrink);
}

// ---- factory ----

template <typename Real>
std::unique_ptr<Optimizer<Real>> make_optimizer(const OptimizerConfig& config) {
  enum class Kind { kSgd, kAdam, kAdamW };
  const Kind kind = parse_choice<Kind>(
      "optimizer", config.name, {{"sgd", Kind::kSgd}, {"adam", Kind::kAdam}, {"adamw", Kind::kAdamW}});
  switch (kind) {
    case Kind::kSgd: return std::make_unique<Sgd<Real>>(config);
    case Kind::kAdam: return std::make_unique<Adam<Real>>(config, /*decoupled_weight_decay=*/false);
    case Kind::kAdamW: return std::make_unique<Adam<Real>>(config, /*decoupled_weight_decay=*/true);
  }
  throw std::logic_error("make_optimizer: unhandled optimizer " + config.name);
}

template double grad_norm<float>(const arma::Col<float>&, WorkerPool*);
template double grad_norm<double>(const arma::Col<double>&, WorkerPool*);
template double clip_grad_norm<float>(arma::Col<float>&, double, WorkerPool*);
template double clip_grad_norm<double>(arma::Col<double>&, double, WorkerPool*);
template class Optimizer<float>;
template class Optimizer<double>;
template class Sgd<float>;
template class Sgd<double>;
template class Adam<float>;
template class Adam<double>;
template std::unique_ptr<Optimizer<float>> make_optimizer<float>(const OptimizerConfig&);
template std::unique_ptr<Optimizer<double>> make_optimizer<double>(const OptimizerConfig&);

}  // namespace s2s
