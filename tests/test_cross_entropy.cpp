#include <catch2/catch.hpp>

#include <cmath>

#include "gradcheck.hpp"
#include "s2s/layers/cross_entropy.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("log_softmax is stable and normalised", "[loss]") {
  const arma::mat logits = {{1000.0, 0.0, -3.0}, {0.0, 0.0, 2.0}, {999.0, 0.0, 1.0}};
  arma::mat log_probs;
  log_softmax(logits, log_probs);
  REQUIRE(log_probs.is_finite());
  for (uword n = 0; n < logits.n_cols; ++n)
    CHECK(arma::accu(arma::exp(log_probs.col(n))) == Approx(1.0).epsilon(1e-13));
  // Column 0: log(1 / (1 + e⁻¹⁰⁰⁰ + e⁻¹)) for the largest entry (z − log-sum-exp loses a few
  // digits at magnitude 1000); column 1: uniform.
  CHECK(log_probs(0, 0) == Approx(-std::log1p(std::exp(-1.0))).epsilon(1e-12));
  CHECK(log_probs(1, 1) == Approx(-std::log(3.0)).epsilon(1e-14));
  // Shift invariance.
  arma::mat shifted;
  log_softmax(arma::mat(logits - 50.0), shifted);
  CHECK(arma::approx_equal(shifted, log_probs, "absdiff", 1e-12));
}

TEST_CASE("Cross-entropy matches a value computed by hand", "[loss]") {
  // V = 3. Column 0: logits (0, ln 2, ln 5) → softmax (1, 2, 5)/8, target 2 (the argmax).
  // Column 1: target 0 = ignore_index. Column 2: logits 0 → softmax 1/3 each, target 1;
  // argmax is the first maximum, class 0, so it is not counted as correct.
  const arma::mat logits = {{0.0, 9.0, 0.0}, {std::log(2.0), -9.0, 0.0}, {std::log(5.0), 1.0, 0.0}};
  const std::vector<Index> targets = {2, 0, 1};
  const double eps = 0.3;
  // ℓ = (1 − ε)(−log q_target) + (ε/V) Σ_c (−log q_c)
  const double l0 = (1 - eps) * -std::log(5.0 / 8) +
                    eps / 3 * -(std::log(1.0 / 8) + std::log(2.0 / 8) + std::log(5.0 / 8));
  const double l2 = (1 - eps) * std::log(3.0) + eps / 3 * 3 * std::log(3.0);

  CrossEntropyConfig config;
  config.ignore_index = 0;
  config.label_smoothing = eps;
  for (auto [normalization, norm] :
       {std::pair{LossNormalization::tokens, 2.0}, std::pair{LossNormalization::sentences, 4.0},
        std::pair{LossNormalization::none, 1.0}}) {
    config.normalization = normalization;
    SoftmaxCrossEntropy<double> loss(config);
    CrossEntropyCache<double> cache;
    const CrossEntropyResult result = loss.forward(logits, targets, cache, /*num_sentences=*/4);
    CHECK(result.loss == Approx((l0 + l2) / norm).epsilon(1e-14));
    CHECK(result.norm == norm);
    CHECK(result.nll_sum == Approx(-std::log(5.0 / 8) + std::log(3.0)).epsilon(1e-14));
    CHECK(result.tokens == 2);
    CHECK(result.correct == 1);
  }
}

TEST_CASE("Cross-entropy matches PyTorch F.cross_entropy", "[loss]") {
  // Values from tests/reference/cross_entropy_reference.py (torch 1.13, float64):
  // F.cross_entropy(logits, targets, ignore_index=0, label_smoothing=0.1), mean and sum.
  const double torch_mean = 1.471410487088638;
  const double torch_sum = 5.8856419483545519;
  const arma::mat logits = arma::mat{{0.5, -1.0, 2.0, 0.0},
                                     {1.5, 0.25, -0.5, 3.0},
                                     {-2.0, 0.0, 1.0, 1.0},
                                     {0.1, 0.2, 0.3, -0.4},
                                     {3.0, -3.0, 0.0, 0.5}}
                               .t();  // PyTorch's (N × V) → s2s's (V × N)
  const std::vector<Index> targets = {2, 0, 3, 1, 2};
  CrossEntropyConfig config;
  config.ignore_index = 0;
  config.label_smoothing = 0.1;
  CrossEntropyCache<double> cache;
  config.normalization = LossNormalization::tokens;
  CHECK(SoftmaxCrossEntropy<double>(config).forward(logits, targets, cache).loss ==
        Approx(torch_mean).epsilon(1e-14));
  config.normalization = LossNormalization::none;
  CHECK(SoftmaxCrossEntropy<double>(config).forward(logits, targets, cache).loss ==
        Approx(torch_sum).epsilon(1e-14));
  // Float agrees to float precision.
  CrossEntropyCache<float> cache_f;
  CHECK(SoftmaxCrossEntropy<float>(config)
            .forward(arma::conv_to<arma::fmat>::from(logits), targets, cache_f)
            .loss == Approx(torch_sum).epsilon(1e-6));
}

TEST_CASE("Cross-entropy gradient matches finite differences. ignored columns get zero",
          "[loss][gradcheck]") {
  const uword vocab = 5;
  const std::vector<Index> targets = {3, 0, 1, 4, 0, 0, 2};  // 0 = padding, three times
  for (double eps : {0.0, 0.1}) {
    for (auto normalization :
         {LossNormalization::tokens, LossNormalization::sentences, LossNormalization::none}) {
      CrossEntropyConfig config;
      config.ignore_index = 0;
      config.label_smoothing = eps;
      config.normalization = normalization;
      SoftmaxCrossEntropy<double> loss(config);
      arma::mat logits = random_matrix(vocab, targets.size(), 41) * 2.0;
      auto value = [&] {
        CrossEntropyCache<double> cache;
        return loss.forward(logits, targets, cache, /*num_sentences=*/3).loss;
      };
      CrossEntropyCache<double> cache;
      loss.forward(logits, targets, cache, 3);
      arma::mat dlogits(vocab, targets.size());
      dlogits.fill(123.0);  // backward overwrites
      loss.backward(targets, cache, dlogits);
      INFO("label smoothing " << eps << ", normalization " << static_cast<int>(normalization));
      for (uword n : {1, 4, 5}) CHECK(arma::all(dlogits.col(n) == 0.0));
      // Each counted column sums to zero: softmax and smoothed target both sum to 1.
      CHECK(std::abs(arma::accu(dlogits.col(0))) < 1e-14);
      check_input_gradient("logits", logits, dlogits, value);
    }
  }
}

TEST_CASE("Cross-entropy edge cases and errors", "[loss]") {
  CrossEntropyConfig config;
  config.ignore_index = 0;
  SoftmaxCrossEntropy<float> loss(config);
  CrossEntropyCache<float> cache;
  const arma::fmat logits(4, 2, arma::fill::ones);
  // Everything ignored: zero loss and zero gradient rather than NaN.
  const CrossEntropyResult result = loss.forward(logits, {0, 0}, cache);
  CHECK(result.loss == 0.0);
  CHECK(result.tokens == 0);
  arma::fmat dlogits;
  loss.backward({0, 0}, cache, dlogits);
  CHECK(arma::all(arma::vectorise(dlogits) == 0.0f));

  CHECK_THROWS_AS(loss.forward(logits, {4, 1}, cache), std::out_of_range);
  CHECK_THROWS_AS(loss.forward(logits, {1}, cache), std::invalid_argument);
  config.normalization = LossNormalization::sentences;
  CHECK_THROWS_AS(SoftmaxCrossEntropy<float>(config).forward(logits, {1, 2}, cache),
                  std::invalid_argument);
  config.label_smoothing = 1.5;
  CHECK_THROWS_AS(SoftmaxCrossEntropy<float>(config), std::invalid_argument);

  CHECK(parse_loss_normalization("sentences") == LossNormalization::sentences);
  CHECK_THROWS_WITH(parse_loss_normalization("batch"),
                    "Unknown loss normalization: batch. Valid options: tokens, sentences, none");
}
