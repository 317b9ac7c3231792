// The pointer-generator distribution and loss (layers/pointer_generator.hpp): gradient checks of
// the loss w.r.t. the logits, the gate and the attention; the decoding distribution is a
// distribution over the extended vocabulary and agrees with the loss.
#include <catch2/catch.hpp>
#include <cmath>
#include <vector>

#include "gradcheck.hpp"
#include "s2s/layers/pointer_generator.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

constexpr Index kPad = 0;

// V = 5 (ids 0–4, 0 = pad), B = 2 sequences, S = 4 source positions, T = 3 steps (N = 6).
// Sequence 0's source: 1 5 3 5 (5: its first out-of-vocabulary token, twice); sequence 1's: 2 6
// 4 and a padding position.
struct Problem {
  uword V = 5, B = 2, S = 4, T = 3;
  std::vector<Index> source{1, 2, 5, 6, 3, 4, 5, kPad};  // (S·B) time-major
  std::vector<Index> targets{5, 6, 3, 2, kPad, 1};       // (T·B): copy-only, both, ignored, ...
  arma::mat logits, gate, attention;

  Problem() {
    logits = 2.0 * random_matrix(V, T * B, 3);
    gate = 2.0 * random_matrix(1, T * B, 4);
    attention = arma::exp(2.0 * random_matrix(S, T * B, 5));
    for (uword n = 0; n < T * B; ++n) {
      if (n % B == 1) attention(3, n) = 0;  // sequence 1's padding
      attention.col(n) /= arma::accu(attention.col(n));
    }
  }
  double loss(double norm = 3.0) const {
    PointerGeneratorCache<double> cache;
    return pointer_generator_loss<double>(logits, gate, attention, source, B, targets, kPad,
                                          norm, cache);
  }
};

}  // namespace

TEST_CASE("Pointer-generator loss gradients match finite differences",
          "[pointer_generator][gradcheck]") {
  Problem p;
  PointerGeneratorCache<double> cache;
  pointer_generator_loss<double>(p.logits, p.gate, p.attention, p.source, p.B, p.targets, kPad,
                                 3.0, cache);
  arma::mat d_logits, d_attention;
  arma::rowvec d_gate;
  pointer_generator_backward<double>(p.attention, p.source, p.B, p.targets, kPad, cache,
                                     d_logits, d_gate, d_attention);
  auto loss = [&] { return p.loss(); };
  check_input_gradient("logits", p.logits, d_logits, loss);
  check_input_gradient("gate", p.gate, arma::mat(d_gate), loss);
  check_input_gradient("attention", p.attention, d_attention, loss);
  // The ignored column gets nothing; a copy-only target gives the logits nothing.
  CHECK(arma::all(d_logits.col(4) == 0.0));
  CHECK(d_gate(4) == 0.0);
  CHECK(arma::all(d_logits.col(0) == 0.0));
}

TEST_CASE("Pointer-generator decoding gives a distribution over the extended vocabulary that "
          "agrees with the loss",
          "[pointer_generator]") {
  Problem p;
  p.T = 1;  // one step: columns are the sequences, as in decoding
  const arma::mat logits = p.logits.cols(0, 1), attention = p.attention.cols(0, 1);
  const arma::rowvec gate = p.gate.cols(0, 1);
  arma::mat log_probs;
  pointer_generator_log_probs<double>(logits, gate, attention, p.source, 7, log_probs);
  REQUIRE(log_probs.n_rows == 7);
  for (uword n = 0; n < 2; ++n)
    CHECK(arma::accu(arma::exp(log_probs.col(n))) == Approx(1.0).epsilon(1e-12));
  // Sequence 0 has token 5 twice and no token 6: P(6) = 0; sequence 1 the other way round.
  CHECK(std::isinf(log_probs(6, 0)));
  CHECK(std::isinf(log_probs(5, 1)));
  const double g0 = 1 / (1 + std::exp(-gate(0)));
  CHECK(std::exp(log_probs(5, 0)) ==
        Approx((1 - g0) * (attention(1, 0) + attention(3, 0))).epsilon(1e-12));
  // The loss of one step is −Σ log P(y) of the same distribution.
  const std::vector<Index> targets{5, 2};
  PointerGeneratorCache<double> cache;
  const double loss = pointer_generator_loss<double>(logits, gate, attention, p.source, 2,
                                                     targets, kPad, 1.0, cache);
  CHECK(loss == Approx(-log_probs(5, 0) - log_probs(2, 1)).epsilon(1e-12));
  // A gate of +∞ is plain generation: the vocabulary's softmax.
  arma::mat plain;
  pointer_generator_log_probs<double>(logits, arma::rowvec{50.0, 50.0}, attention, p.source, 7,
                                      plain);
  const arma::mat softmax = arma::exp(logits.each_row() - arma::max(logits, 0));
  for (uword n = 0; n < 2; ++n)
    for (uword w = 0; w < 5; ++w)
      CHECK(std::exp(plain(w, n)) ==
            Approx(softmax(w, n) / arma::accu(softmax.col(n))).epsilon(1e-12));
}

TEST_CASE("Pointer-generator refuses targets it cannot produce and mismatched shapes",
          "[pointer_generator]") {
  Problem p;
  p.targets[0] = 6;  // sequence 0's source has no extended id 6
  CHECK_THROWS_WITH(p.loss(), Catch::Contains("neither in the vocabulary"));
  Problem q;
  PointerGeneratorCache<double> cache;
  CHECK_THROWS_WITH(pointer_generator_loss<double>(q.logits, q.gate, q.attention, q.source, 4,
                                                   q.targets, kPad, 1.0, cache),
                    Catch::Contains("pointer_generator: attention is"));
  arma::mat out;
  CHECK_THROWS_WITH(pointer_generator_log_probs<double>(q.logits.cols(0, 1), q.gate.cols(0, 1),
                                                        q.attention.cols(0, 1), q.source, 6, out),
                    Catch::Contains("outside the extended vocabulary"));
}
