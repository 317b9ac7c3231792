#include <catch2/catch.hpp>

#include <cmath>

#include "gradcheck.hpp"
#include "s2s/layers/layer_norm.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("LayerNorm forward matches the closed form", "[layer_norm]") {
  ParamLayout layout;
  LayerNorm<double> norm(layout, "ln", 4);
  ParameterStore<double> store(std::move(layout));
  CHECK(store.layout().contains("ln.weight"));
  CHECK(store.layout().contains("ln.bias"));
  store.value(norm.weight_id()) = arma::vec{1, 2, 0.5, -1};
  store.value(norm.bias_id()) = arma::vec{0, 1, 0, 0.25};
  // Column 0: 1, 2, 3, 4 → mean 2.5, biased variance 1.25. Column 1: constant 7 → x̂ = 0.
  const arma::mat x = {{1, 7}, {2, 7}, {3, 7}, {4, 7}};
  arma::mat y;
  LayerNormCache<double> cache;
  norm.forward(store, x, y, cache);
  const double r0 = 1.0 / std::sqrt(1.25 + 1e-5);
  const double r1 = 1.0 / std::sqrt(0.0 + 1e-5);
  CHECK(cache.mean(0) == Approx(2.5).epsilon(1e-14));
  CHECK(cache.mean(1) == Approx(7.0).epsilon(1e-14));
  CHECK(cache.rstd(0) == Approx(r0).epsilon(1e-12));
  CHECK(cache.rstd(1) == Approx(r1).epsilon(1e-12));
  const arma::mat expected = {{-1.5 * r0, 0.0},
                              {2 * -0.5 * r0 + 1, 1.0},
                              {0.5 * 0.5 * r0, 0.0},
                              {-1 * 1.5 * r0 + 0.25, 0.25}};
  CHECK(arma::approx_equal(y, expected, "absdiff", 1e-12));
}

TEST_CASE("LayerNorm with init parameters gives zero-mean unit-variance columns",
          "[layer_norm]") {
  ParamLayout layout;
  LayerNorm<float> norm(layout, "ln", 16);
  ParameterStore<float> store(std::move(layout));
  norm.init(store);
  Rng rng(3);
  arma::fmat x(16, 5);
  rng.fill_uniform(x, 100.0, 110.0);  // a large common offset
  arma::fmat y;
  LayerNormCache<float> cache;
  norm.forward(store, x, y, cache);
  for (uword n = 0; n < y.n_cols; ++n) {
    const arma::fvec col = y.col(n);
    CHECK(std::abs(arma::mean(col)) < 1e-5);
    // Biased variance ≈ 1 (slightly below, by ε).
    CHECK(arma::accu(arma::square(col)) / 16.0 == Approx(1.0).epsilon(1e-3));
  }
}

TEST_CASE("LayerNorm gradients match finite differences", "[layer_norm][gradcheck]") {
  ParamLayout layout;
  LayerNorm<double> norm(layout, "ln", 5);
  ParameterStore<double> store(std::move(layout));
  // Not the init values, so that γ enters the input gradient non-trivially.
  store.value(norm.weight_id()) = random_matrix(5, 1, 21) + 1.0;
  store.value(norm.bias_id()) = random_matrix(5, 1, 22);
  arma::mat x = random_matrix(5, 4, 23) * 3.0;
  const arma::mat R = random_matrix(5, 4, 24);
  auto loss = [&] {
    arma::mat y;
    LayerNormCache<double> cache;
    norm.forward(store, x, y, cache);
    return arma::accu(R % y);
  };
  arma::mat y;
  LayerNormCache<double> cache;
  norm.forward(store, x, y, cache);
  arma::mat dx(arma::size(x), arma::fill::zeros);
  norm.backward(store, R, cache, &dx);
  check_parameter_gradients(store, loss);
  check_input_gradient("x", x, dx, loss);

  // Backward adds into dx.
  arma::mat dx2 = dx;
  norm.backward(store, R, cache, &dx2);
  CHECK(arma::approx_equal(dx2, 2 * dx, "absdiff", 1e-12));
}

TEST_CASE("LayerNorm float matches double", "[layer_norm]") {
  ParamLayout layout_d, layout_f;
  LayerNorm<double> norm_d(layout_d, "ln", 6);
  LayerNorm<float> norm_f(layout_f, "ln", 6);
  ParameterStore<double> store_d(std::move(layout_d));
  ParameterStore<float> store_f(std::move(layout_f));
  store_d.values() = arma::vec(random_matrix(12, 1, 31));
  store_f.values() = arma::conv_to<arma::fvec>::from(store_d.values());
  const arma::mat x = random_matrix(6, 3, 32);
  arma::mat y_d;
  arma::fmat y_f;
  LayerNormCache<double> cache_d;
  LayerNormCache<float> cache_f;
  norm_d.forward(store_d, x, y_d, cache_d);
  norm_f.forward(store_f, arma::conv_to<arma::fmat>::from(x), y_f, cache_f);
  CHECK(arma::approx_equal(arma::conv_to<arma::mat>::from(y_f), y_d, "absdiff", 1e-5));
}
