#include "s2s/layers/feed_forward.hpp"

#include <cmath>
#include <stdexcept>

#include "s2s/core/choice.hpp"

namespace s2s {

FeedForwardActivation parse_feed_forward_activation(const std::string& name) {
  return parse_choice<FeedForwardActivation>("activation", name,
      {{"relu", FeedForwardActivation::kRelu}, {"gelu", FeedForwardActivation::kGelu}});
}

namespace {

constexpr double kInvSqrt2 = 0.70710678118654752440;
constexpr double kInvSqrt2Pi = 0.39894228040143267794;

template <typename Real>
void activation_forward(FeedForwardActivation activation, const Mat<Real>& pre,
                        Mat<Real>& hidden) {
  hidden.set_size(pre.n_rows, pre.n_cols);
  const Real* u = pre.memptr();
  Real* a = hidden.memptr();
  const uword n = pre.n_elem;
  if (activation == FeedForwardActivation::kRelu) {
    for (uword i = 0; i < n; ++i) a[i] = u[i] > Real(0) ? u[i] : Real(0);
  } else {
    for (uword i = 0; i < n; ++i)
      a[i] = Real(0.5) * u[i] * (Real(1) + std::erf(u[i] * Real(kInvSqrt2)));
  }
}

// d_pre = d_hidden ⊙ act'(pre), overwritten.
template <typename Real>
void activation_backward(FeedForwardActivation activation, const Mat<Real>& pre,
                         const Mat<Real>& d_hidden, Mat<Real>& d_pre) {
  d_pre.set_size(pre.n_rows, pre.n_cols);
  const Real* u = pre.memptr();
  const Real* da = d_hidden.memptr();
  Real* du = d_pre.memptr();
  const uword n = pre.n_elem;
  if (activation == FeedForwardActivation::kRelu) {
    for (uword i = 0; i < n; ++i) du[i] = u[i] > Real(0) ? da[i] : Real(0);
  } else {
    for (uword i = 0; i < n; ++i) {
      const Real cdf = Real(0.5) * (Real(1) + std::erf(u[i] * Real(kInvSqrt2)));
      const Real pdf = Real(kInvSqrt2Pi) * std::exp(Real(-0.5) * u[i] * u[i]);
      du[i] = da[i] * (cdf + u[i] * pdf);
    }
  }
}

}  // namespace

template <typename Real>
FeedForward<Real>::FeedForward(ParamLayout& layout, const std::string& name, uword d_model,
                               uword ff_size, FeedForwardActivation activation, double dropout)
    : linear1_(layout, name + ".linear1", d_model, ff_size),
      linear2_(layout, name + ".linear2", ff_size, d_model),
      activation_(activation),
      dropout_(dropout) {}

template <typename Real>
void FeedForward<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  const double D = static_cast<double>(d_model()), F = static_cast<double>(ff_size());
  const double xavier = std::sqrt(6.0 / (D + F));
  rng.fill_uniform(params.value(linear1_.weight_id()), -xavier, xavier);
  rng.fill_uniform(params.value(linear1_.bias_id()), -1.0 / std::sqrt(D), 1.0 / std::sqrt(D));
  rng.fill_uniform(params.value(linear2_.weight_id()), -xavier, xavier);
  rng.fill_uniform(params.value(linear2_.bias_id()), -1.0 / std::sqrt(F), 1.0 / std::sqrt(F));
}

template <typename Real>
void FeedForward<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                bool training, Rng& rng, FeedForwardCache<Real>& cache,
                                Mat<Real>& y) const {
  linear1_.forward(params, x, cache.pre);
  activation_forward(activation_, cache.pre, cache.hidden);
  dropout_.forward(cache.hidden, cache.dropped, cache.dropout, training, rng);
  linear2_.forward(params, cache.dropped, y);
}

template <typename Real>
void FeedForward<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& x,
                                 const FeedForwardCache<Real>& cache, const Mat<Real>& dy,
                                 Mat<Real>& dx) const {
  Mat<Real> d_dropped(arma::size(cache.dropped), arma::fill::zeros);
  linear2_.backward(params, cache.dropped, dy, &d_dropped);
  Mat<Real> d_hidden(arma::size(cache.hidden), arma::fill::zeros);
  dropout_.backward(d_dropped, cache.dropout, d_hidden);
  Mat<Real> d_pre;
  activation_backward(activation_, cache.pre, d_hidden, d_pre);
  linear1_.backward(params, x, d_pre, &dx);
}

template class FeedForward<float>;
template class FeedForward<double>;

}  // namespace s2s
