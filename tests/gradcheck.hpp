#pragma once
// Finite-difference gradient checking, shared by every layer's tests.
//
// Always in double precision, on tiny sizes, with central differences:
//   n_i = (L(θ + ε e_i) − L(θ − ε e_i)) / 2ε
// and the relative error ‖a − n‖ / ‖a + n‖ between analytic a and numeric n (0 when both vanish).
// The scalar loss is usually L = Σ R ⊙ y with a fixed random R, so that ∂L/∂y = R.
#include <catch2/catch.hpp>

#include <armadillo>
#include <functional>
#include <string>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"

namespace s2s::testing {

inline constexpr double kGradTolerance = 1e-6;

inline double relative_error(const arma::mat& analytic, const arma::mat& numeric) {
  const double denom = arma::norm(arma::vectorise(analytic + numeric));
  const double diff = arma::norm(arma::vectorise(analytic - numeric));
  if (denom == 0.0) return diff;
  return diff / denom;
}

// Central-difference gradient of loss() with respect to every entry of x, perturbing x in place
// (x is restored exactly afterwards).
inline arma::mat numeric_gradient(arma::mat& x, const std::function<double()>& loss,
                                  double eps = 1e-6) {
  arma::mat grad(arma::size(x), arma::fill::zeros);
  for (arma::uword i = 0; i < x.n_elem; ++i) {
    const double saved = x(i);
    x(i) = saved + eps;
    const double plus = loss();
    x(i) = saved - eps;
    const double minus = loss();
    x(i) = saved;
    grad(i) = (plus - minus) / (2 * eps);
  }
  return grad;
}

// Checks every named parameter of `store` against finite differences of loss().
// Whole-model checks pass a larger eps (1e-4): their loss is O(1) while some gradients are
// O(1e-5), so the roundoff of a 1e-6 step (~1e-16·|L|/eps) would swamp them.
// The analytic gradients must already be in store.grads(). Reports the failing name.
inline void check_parameter_gradients(ParameterStore<double>& store,
                                      const std::function<double()>& loss,
                                      double tolerance = kGradTolerance, double eps = 1e-6) {
  const arma::vec analytic = store.grads();
  for (const ParamEntry& e : store.layout().entries()) {
    arma::mat& value = store.value(store.layout().find(e.name));
    const arma::mat numeric = numeric_gradient(value, loss, eps);
    const arma::mat a(const_cast<double*>(analytic.memptr()) + e.offset, e.rows, e.cols, false,
                      true);
    const double err = relative_error(a, numeric);
    INFO("parameter " << e.name << " (" << e.rows << "x" << e.cols << ") relative error " << err
                       << " |analytic| " << arma::norm(arma::vectorise(a)) << " |numeric| "
                       << arma::norm(arma::vectorise(numeric)) << " |diff| "
                       << arma::norm(arma::vectorise(a - numeric)));
    CHECK(err <= tolerance);
  }
}

// Checks an input gradient: `analytic` against finite differences of loss() w.r.t. `input`.
inline void check_input_gradient(const std::string& what, arma::mat& input,
                                 const arma::mat& analytic, const std::function<double()>& loss,
                                 double tolerance = kGradTolerance) {
  const arma::mat numeric = numeric_gradient(input, loss);
  const double err = relative_error(analytic, numeric);
  INFO("input " << what << " relative error " << err);
  CHECK(err <= tolerance);
}

// A fixed random matrix, for L = Σ R ⊙ y.
inline arma::mat random_matrix(arma::uword rows, arma::uword cols, std::uint64_t seed) {
  Rng rng(seed);
  arma::mat m(rows, cols);
  rng.fill_uniform(m, -1.0, 1.0);
  return m;
}

}  // namespace s2s::testing
