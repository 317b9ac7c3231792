// Dropout (dropout.hpp): the mask's statistics, its scale, determinism and the backward.
#include <catch2/catch.hpp>

#include <cmath>

#include "s2s/layers/dropout.hpp"

using namespace s2s;

TEST_CASE("Dropout keeps each element with probability 1 - p, independently, scaled by 1/(1 - p)",
          "[dropout]") {
  const double p = GENERATE(0.1, 0.3, 0.5);
  INFO("p = " << p);
  Dropout<float> dropout(p);
  const arma::fmat x(313, 641, arma::fill::ones);  // odd sizes: the unpaired last element too
  arma::fmat y;
  DropoutCache<float> cache;
  Rng rng(11);
  dropout.forward(x, y, cache, true, rng);
  const double n = static_cast<double>(x.n_elem);
  const arma::uvec kept = arma::find(y != 0.0f);
  const double kept_fraction = kept.n_elem / n;
  const double sigma = std::sqrt(p * (1 - p) / n);
  CHECK(std::abs(kept_fraction - (1 - p)) < 5 * sigma);
  CHECK(arma::all(arma::abs(y.elem(kept) - float(1 / (1 - p))) < 1e-6f));
  CHECK(arma::approx_equal(y, cache.scale, "absdiff", 0.0f));  // x = 1: y is the scale
  // Neighbours (the two halves of one 64-bit word) and rows are independent: P(both kept).
  const arma::umat both = (y.rows(0, 311) != 0.0f) % (y.rows(1, 312) != 0.0f);
  const double both_fraction = arma::accu(both) / double(both.n_elem);
  const double q = (1 - p) * (1 - p);
  CHECK(std::abs(both_fraction - q) < 5 * std::sqrt(q * (1 - q) / both.n_elem));
  const arma::fvec flat = arma::vectorise(y);
  const arma::fvec evens = flat.elem(arma::regspace<arma::uvec>(0, 2, flat.n_elem - 2));
  const arma::fvec odds = flat.elem(arma::regspace<arma::uvec>(1, 2, flat.n_elem - 1));
  const double pair_fraction = arma::accu((evens != 0.0f) % (odds != 0.0f)) / double(evens.n_elem);
  CHECK(std::abs(pair_fraction - q) < 5 * std::sqrt(q * (1 - q) / evens.n_elem));
}

TEST_CASE("Dropout masks are a function of the Rng state. backward applies the same mask",
          "[dropout]") {
  Dropout<double> dropout(0.4);
  const arma::mat x = arma::linspace<arma::vec>(1, 2, 101) * arma::rowvec(7, arma::fill::ones);
  arma::mat a, b, c;
  DropoutCache<double> cache_a, cache_b, cache_c;
  Rng first(5), second(5);
  dropout.forward(x, a, cache_a, true, first);
  dropout.forward(x, b, cache_b, true, second);
  CHECK(arma::approx_equal(a, b, "absdiff", 0.0));
  dropout.forward(x, c, cache_c, true, first);  // the next call draws a new mask
  CHECK_FALSE(arma::approx_equal(a, c, "absdiff", 0.0));

  arma::mat dx(arma::size(x), arma::fill::ones);
  const arma::mat dy(arma::size(x), arma::fill::ones);
  dropout.backward(dy, cache_a, dx);
  CHECK(arma::approx_equal(dx, 1.0 + cache_a.scale, "absdiff", 1e-15));

  arma::mat same;
  dropout.forward(x, same, cache_a, false, first);  // evaluation: identity, no mask
  CHECK(arma::approx_equal(same, x, "absdiff", 0.0));
  CHECK(cache_a.scale.is_empty());
}
