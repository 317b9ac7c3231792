#include <catch2/catch.hpp>

#include <cmath>

#include "gradcheck.hpp"
#include "s2s/layers/embedding.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("Embedding forward gathers scaled columns", "[embedding]") {
  ParamLayout layout;
  Embedding<double> embedding(layout, "src_embed", 4, 2, /*padding_idx=*/0, /*scale=*/2.0);
  ParameterStore<double> store(std::move(layout));
  CHECK(store.layout().contains("src_embed.weight"));
  // (D × V): column v is token v.
  store.value(embedding.weight_id()) = {{0, 1, 2, 3}, {0, -1, -2, -3}};
  arma::mat y;
  embedding.forward(store, {3, 1, 3, 0}, y);
  const arma::mat expected = {{6, 2, 6, 0}, {-6, -2, -6, 0}};
  CHECK(arma::approx_equal(y, expected, "absdiff", 1e-12));
  CHECK_THROWS_AS(embedding.forward(store, {4}, y), std::out_of_range);
  CHECK_THROWS_AS(embedding.forward(store, {-1}, y), std::out_of_range);
}

TEST_CASE("Embedding init is N(0,1) with a zero padding column", "[embedding]") {
  ParamLayout layout;
  Embedding<float> embedding(layout, "embed", 50, 40, /*padding_idx=*/3);
  ParameterStore<float> store(std::move(layout));
  Rng rng(5);
  embedding.init(store, rng);
  const arma::fmat& weight = store.value(embedding.weight_id());
  CHECK(arma::all(weight.col(3) == 0.0f));
  arma::fmat others = weight;
  others.shed_col(3);
  CHECK(std::abs(arma::mean(arma::vectorise(others))) < 0.05);
  CHECK(std::abs(arma::stddev(arma::vectorise(others)) - 1.0) < 0.05);
  CHECK_THROWS_AS(Embedding<float>(layout, "bad", 10, 4, /*padding_idx=*/10),
                  std::invalid_argument);
}

TEST_CASE("Embedding weight gradient matches finite differences. padding gets none",
          "[embedding][gradcheck]") {
  for (double scale : {1.0, std::sqrt(3.0)}) {
    ParamLayout layout;
    const Index pad = 1;
    Embedding<double> embedding(layout, "embed", 5, 3, pad, scale);
    ParameterStore<double> store(std::move(layout));
    Rng rng(7);
    embedding.init(store, rng);
    // Repeats (2 three times, 4 twice), the padding id twice, and token 0 never used.
    const std::vector<Index> ids = {2, 4, 1, 2, 3, 2, 1, 4};
    const arma::mat R = random_matrix(3, ids.size(), 12);
    auto loss = [&] {
      arma::mat y;
      embedding.forward(store, ids, y);
      return arma::accu(R % y);
    };
    embedding.backward(store, ids, R);
    const arma::mat analytic = store.grad(embedding.weight_id());
    // The padding column is used by forward but, as in PyTorch, gets no gradient: compare the
    // other columns with finite differences and require the padding column to be exactly zero.
    CHECK(arma::all(analytic.col(pad) == 0.0));
    arma::mat numeric = numeric_gradient(store.value(embedding.weight_id()), loss);
    numeric.col(pad).zeros();
    INFO("scale " << scale);
    CHECK(relative_error(analytic, numeric) <= kGradTolerance);
    CHECK(arma::all(analytic.col(0) == 0.0));  // unused token
    // Backward adds: a second call doubles the gradient.
    embedding.backward(store, ids, R);
    CHECK(arma::approx_equal(store.grad(embedding.weight_id()), 2 * analytic, "absdiff", 1e-12));
  }
}
