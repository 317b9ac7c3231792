#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "s2s/layers/linear.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("Linear forward matches W x + b", "[linear]") {
  ParamLayout layout;
  Linear<double> linear(layout, "proj", 2, 2);
  ParameterStore<double> store(std::move(layout));
  store.value(linear.weight_id()) = {{1, 2}, {3, 4}};
  store.value(linear.bias_id()) = arma::vec{0.5, -1};
  const arma::mat x = {{1, 0}, {1, 2}};  // two columns: (1,1) and (0,2)
  arma::mat y;
  linear.forward(store, x, y);
  const arma::mat expected = {{3.5, 4.5}, {6.0, 7.0}};
  CHECK(arma::approx_equal(y, expected, "absdiff", 1e-12));
}

TEST_CASE("Linear gradients match finite differences", "[linear][gradcheck]") {
  for (bool bias : {true, false}) {
    ParamLayout layout;
    Linear<double> linear(layout, "proj", 3, 4, bias);
    ParameterStore<double> store(std::move(layout));
    Rng rng(7);
    linear.init(store, rng);
    arma::mat x = random_matrix(3, 5, 11);
    const arma::mat R = random_matrix(4, 5, 12);
    auto loss = [&] {
      arma::mat y;
      linear.forward(store, x, y);
      return arma::accu(R % y);
    };
    arma::mat dx(arma::size(x), arma::fill::zeros);
    linear.backward(store, x, R, &dx);
    check_parameter_gradients(store, loss);
    check_input_gradient("x", x, dx, loss);
  }
}
