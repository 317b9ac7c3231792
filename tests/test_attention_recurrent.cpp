// The recurrent attention variants (attention.hpp, additive_attention.hpp): coverage (See et al.
// 2017), monotonic attention (Raffel et al. 2017) and MoChA (Chiu & Raffel 2018). Gradient checks through the state that
// one step passes to the next, and their invariants: coverage is the running sum of the
// weights; a monotonic alignment sums to at most 1, equals the paper's closed form, and its hard
// decoding never moves backwards.
#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <string>
#include <vector>

#include "attention_helpers.hpp"
#include "gradcheck.hpp"
#include "s2s/attention/monotonic_alignment.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

struct Built {
  std::unique_ptr<Attention<double>> attention;
  std::unique_ptr<ParameterStore<double>> store;
};

Built build(const AttentionConfig& config, std::uint64_t seed) {
  ParamLayout layout;
  Built b;
  b.attention = make_attention<double>(config, layout);
  b.store = std::make_unique<ParameterStore<double>>(std::move(layout));
  Rng rng(seed);
  b.attention->init(*b.store, rng);
  return b;
}

// Every step's weights (S × B), with the state passed along as a decoder does.
std::vector<arma::mat> run_steps(const Attention<double>& attention,
                                 const ParameterStore<double>& store, const AttentionProblem& p,
                                 bool hard, std::vector<arma::mat>* states = nullptr) {
  AttentionKeys<double> keys;
  attention.precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  keys.hard = hard;
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  std::vector<arma::mat> out;
  for (uword i = 0; i < p.queries.size(); ++i) {
    set_step_state(attention, keys, i, cache, cache);
    if (states != nullptr) states->push_back(cache.state);
    attention.forward(store, keys, p.queries[i], p.decoder_steps[i], cache, context, weights);
    out.push_back(weights);
  }
  return out;
}

// Raffel et al. 2017, eq. 11: q = cumprod(1 − p) ⊙ cumsum(a' / cumprod(1 − p)) with the
// exclusive cumprod (its first entry 1), a = p ⊙ q; for one sequence of n positions.
arma::vec closed_form_alignment(const arma::vec& p, const arma::vec& previous) {
  const uword n = p.n_elem;
  arma::vec cumprod(n), a(n);
  double running = 1;
  for (uword j = 0; j < n; ++j) {
    cumprod(j) = running;
    running *= 1 - p(j);
  }
  double sum = 0;
  for (uword j = 0; j < n; ++j) {
    sum += previous(j) / cumprod(j);
    a(j) = p(j) * cumprod(j) * sum;
  }
  return a;
}

}  // namespace

TEST_CASE("Coverage attention gradients match finite differences through the coverage vector",
          "[attention][coverage][gradcheck]") {
  for (const char* type : {"bahdanau", "luong-concat"}) {
    AttentionConfig config = make_config(type, 3, 4);
    config.coverage = true;
    AttentionProblem p(3, 4, {0, 1, 2, 3}, 81);
    // The first step's weights are not in the loss, so every gradient of a_0 reaches it through
    // the coverage of the later steps.
    p.r_weights[0].reset();
    check_attention_gradients(config, p, 12);
  }
}

TEST_CASE("Monotonic attention gradients match finite differences through the alignment",
          "[attention][monotonic][gradcheck]") {
  AttentionConfig config = make_config("monotonic", 3, 4);
  AttentionProblem p(3, 4, {0, 1, 2, 3}, 83);
  p.r_weights[0].reset();
  // r = −2 spreads the alignment (the paper's −4 makes every gradient here so small that the
  // finite differences' rounding dominates the relative error); 0 and 1.5 sharpen it.
  for (double offset : {-2.0, 0.0, 1.5}) {
    INFO("r " << offset);
    check_attention_gradients(config, p, 13, [&](ParameterStore<double>& store) {
      store.value(store.layout().find("decoder.attention.r")).fill(offset);
    });
  }
}

TEST_CASE("MoChA gradients match finite differences for several chunk widths",
          "[attention][monotonic][gradcheck]") {
  AttentionProblem p(3, 4, {0, 1, 2, 3}, 93);
  p.r_weights[0].reset();
  for (uword width : {2, 3, 10}) {  // w = 1 is monotonic attention (u has no effect: next test)
    AttentionConfig config = make_config("monotonic-chunk", 3, 4);
    config.chunk_width = width;
    INFO("w " << width);
    check_attention_gradients(config, p, 18, [](ParameterStore<double>& store) {
      store.value(store.layout().find("decoder.attention.r")).fill(-1.0);
    });
  }
}

TEST_CASE("MoChA spreads each stop's probability over its chunk by the softmax of the chunk "
          "energies. Width 1 is monotonic attention",
          "[attention][monotonic]") {
  AttentionProblem p(3, 4, {0, 1, 2, 3, 4}, 95);
  for (uword width : {1, 2, 3}) {
    AttentionConfig config = make_config("monotonic-chunk", 3, 4);
    config.chunk_width = width;
    Built b = build(config, 19);
    b.store->value(b.store->layout().find("decoder.attention.r")).fill(0.5);
    AttentionKeys<double> keys;
    b.attention->precompute(*b.store, p.memory, p.mask, p.batch, p.steps, keys);
    AttentionStepCache<double> cache;
    arma::mat context, beta;
    for (uword t = 0; t < p.queries.size(); ++t) {
      set_step_state(*b.attention, keys, t, cache, cache);
      b.attention->forward(*b.store, keys, p.queries[t], t, cache, context, beta);
      for (uword col = 0; col < p.batch; ++col) {
        const uword n = p.lengths[col];
        INFO("w " << width << " step " << t << " sequence " << col);
        // β_j = Σ_k α_k softmax(u over [k − w + 1, k])_j, from the definition.
        arma::vec expected(p.steps, arma::fill::zeros);
        for (uword k = 0; k < n; ++k) {
          const uword first = k + 1 > width ? k + 1 - width : 0;
          const arma::vec u = cache.chunk_scores.col(col).subvec(first, k);
          const arma::vec softmax = arma::exp(u) / arma::accu(arma::exp(u));
          expected.subvec(first, k) += cache.alignment(k, col) * softmax;
        }
        CHECK(arma::approx_equal(arma::vec(beta.col(col)), expected, "absdiff", 1e-14));
        CHECK(arma::accu(beta.col(col)) ==
              Approx(arma::accu(cache.alignment.col(col))).margin(1e-14));
        if (width == 1)
          CHECK(arma::approx_equal(beta.col(col), cache.alignment.col(col), "absdiff", 1e-15));
      }
    }
  }
}

TEST_CASE("MoChA's expected weights stay finite when chunk energies are far apart",
          "[attention][monotonic]") {
  // Regression: the window sums once shared one maximum over the whole source, so a chunk whose
  // energies lay ~100 below it summed to 0 in float and gave 0/0 (NaN training losses on the
  // copy and reverse tasks, sources of up to 20 characters).
  const std::vector<float> u = {30.0f, -90.0f, -95.0f, -100.0f, 40.0f, -80.0f};
  const std::vector<float> a = {0.1f, 0.2f, 0.3f, 0.15f, 0.05f, 0.1f};
  const uword n = u.size(), width = 2;
  std::vector<float> log_sums(n), beta(n), d_beta(n, 1.0f), d_a(n), d_u(n);
  monotonic_alignment::chunk_expected(n, width, a.data(), u.data(), log_sums.data(), beta.data());
  float total = 0.0f;
  for (uword j = 0; j < n; ++j) {
    INFO("position " << j);
    REQUIRE(std::isfinite(beta[j]));
    total += beta[j];
    // β_j = Σ_k a_k softmax_j(u over the chunk ending at k), in double.
    double expected = 0.0;
    for (uword k = j; k < std::min(n, j + width); ++k) {
      const uword first = k + 1 > width ? k + 1 - width : 0;
      double sum = 0.0;
      for (uword l = first; l <= k; ++l) sum += std::exp(double(u[l]) - double(u[j]));
      expected += a[k] / sum;
    }
    CHECK(beta[j] == Approx(expected).epsilon(1e-5).margin(1e-30));
  }
  CHECK(total == Approx(0.9).epsilon(1e-5));  // Σβ = Σa: each chunk's softmax sums to 1
  // With β̄ = 1 everywhere, ∂a_k = Σ_j r_jk = 1 and every ū_l = 0 (the loss Σβ = Σa).
  monotonic_alignment::chunk_expected_backward(n, width, a.data(), u.data(), log_sums.data(),
                                               d_beta.data(), d_a.data(), d_u.data());
  for (uword k = 0; k < n; ++k) {
    CHECK(d_a[k] == Approx(1.0).epsilon(1e-5));
    CHECK(std::abs(d_u[k]) < 1e-5f);
  }
}

TEST_CASE("MoChA decodes hard: softmax over the chunk ending at a monotonic stop",
          "[attention][monotonic]") {
  AttentionConfig config = make_config("monotonic-chunk", 3, 4);
  config.chunk_width = 2;
  AttentionProblem p(3, 4, {0, 1, 2, 3, 4, 5}, 97);
  for (double offset : {-0.5, 0.0, 0.5, 1.0}) {
    Built b = build(config, 20);
    b.store->value(b.store->layout().find("decoder.attention.r")).fill(offset);
    b.store->value(b.store->layout().find("decoder.attention.v")) *= 4.0;
    AttentionKeys<double> keys;
    b.attention->precompute(*b.store, p.memory, p.mask, p.batch, p.steps, keys);
    keys.hard = true;
    AttentionStepCache<double> cache;
    arma::mat context, beta;
    uword previous_stop = 0;
    for (uword t = 0; t < p.queries.size(); ++t) {
      set_step_state(*b.attention, keys, t, cache, cache);
      b.attention->forward(*b.store, keys, p.queries[t], t, cache, context, beta);
      const uword col = 0;
      const arma::vec alignment = cache.alignment.col(col);
      INFO("r " << offset << " step " << t);
      if (arma::accu(alignment) == 0.0) {
        CHECK(arma::all(beta.col(col) == 0.0));
        continue;
      }
      const uword stop = alignment.index_max();
      CHECK(stop >= previous_stop);
      previous_stop = stop;
      CHECK(arma::accu(beta.col(col)) == Approx(1.0).margin(1e-14));
      for (uword j = 0; j < p.steps; ++j)
        if (j > stop || j + 2 <= stop) CHECK(beta(j, col) == 0.0);
    }
  }
}

TEST_CASE("Coverage is the running sum of past weights. with w_c = 0 it changes nothing",
          "[attention][coverage]") {
  for (const char* type : {"bahdanau", "luong-concat"}) {
    AttentionConfig plain_config = make_config(type, 3, 4);
    AttentionConfig config = plain_config;
    config.coverage = true;
    AttentionProblem p(3, 4, {0, 1, 2, 3, 4}, 85);
    Built with = build(config, 14);
    std::vector<arma::mat> states;
    const std::vector<arma::mat> weights = run_steps(*with.attention, *with.store, p, false,
                                                     &states);
    arma::mat sum(p.steps, p.batch, arma::fill::zeros);
    for (uword t = 0; t < weights.size(); ++t) {
      INFO(type << " step " << t);
      CHECK(arma::approx_equal(states[t], sum, "absdiff", 1e-15));
      sum += weights[t];
    }
    // The same parameters without W_c, and W_c = 0 with coverage: the same weights.
    Built plain = build(plain_config, 14);
    plain.store->values() = with.store->values().head(plain.store->values().n_elem);
    with.store->value(with.store->layout().find("decoder.attention.W_c")).zeros();
    const std::vector<arma::mat> a = run_steps(*with.attention, *with.store, p, false);
    const std::vector<arma::mat> b = run_steps(*plain.attention, *plain.store, p, false);
    for (uword t = 0; t < a.size(); ++t) CHECK(arma::approx_equal(a[t], b[t], "absdiff", 0.0));
  }
}

TEST_CASE("Monotonic attention: expected alignments sum to at most 1 and follow the closed form",
          "[attention][monotonic]") {
  AttentionConfig config = make_config("monotonic", 3, 4);
  AttentionProblem p(3, 4, {0, 1, 2, 3, 4, 5}, 87);
  for (double offset : {-4.0, 0.0, 2.0}) {
    Built b = build(config, 15);
    b.store->value(b.store->layout().find("decoder.attention.r")).fill(offset);
    std::vector<arma::mat> states;
    const std::vector<arma::mat> weights = run_steps(*b.attention, *b.store, p, false, &states);
    // p_tj is in the cache; recompute it here from a fresh forward to compare with eq. 11.
    AttentionKeys<double> keys;
    b.attention->precompute(*b.store, p.memory, p.mask, p.batch, p.steps, keys);
    for (uword t = 0; t < weights.size(); ++t) {
      AttentionStepCache<double> cache;
      cache.state = states[t];
      arma::mat context, a;
      b.attention->forward(*b.store, keys, p.queries[t], t, cache, context, a);
      for (uword col = 0; col < p.batch; ++col) {
        const uword n = p.lengths[col];
        INFO("r " << offset << " step " << t << " sequence " << col);
        CHECK(arma::accu(a.col(col)) <= 1 + 1e-12);
        CHECK(a.col(col).min() >= 0);
        for (uword j = n; j < p.steps; ++j) CHECK(a(j, col) == 0.0);
        const arma::vec expected = closed_form_alignment(cache.probs.col(col).head(n),
                                                         states[t].col(col).head(n));
        CHECK(arma::approx_equal(arma::vec(a.col(col).head(n)), expected, "reldiff", 1e-10));
      }
      CHECK(arma::approx_equal(a, weights[t], "absdiff", 0.0));
    }
  }
  SECTION("before step 0 all mass is on the first position, so p_0 ≈ 1 keeps it there") {
    Built b = build(config, 15);
    b.store->value(b.store->layout().find("decoder.attention.r")).fill(60.0);
    const std::vector<arma::mat> weights = run_steps(*b.attention, *b.store, p, false);
    for (const arma::mat& a : weights)
      for (uword col = 0; col < p.batch; ++col) CHECK(a(0, col) == Approx(1.0).margin(1e-12));
  }
}

TEST_CASE("Monotonic attention decodes hard and never moves backwards", "[attention][monotonic]") {
  AttentionConfig config = make_config("monotonic", 3, 4);
  AttentionProblem p(3, 4, {0, 1, 2, 3, 4, 5, 6, 7}, 89);
  bool ended_some = false, moved_some = false;
  for (double offset : {-2.0, -1.5, -1.0, -0.5, 0.0, 0.5, 1.0}) {
    Built b = build(config, 16);
    b.store->value(b.store->layout().find("decoder.attention.r")).fill(offset);
    b.store->value(b.store->layout().find("decoder.attention.v")) *= 4.0;  // varied energies
    const std::vector<arma::mat> weights = run_steps(*b.attention, *b.store, p, true);
    for (uword col = 0; col < p.batch; ++col) {
      uword previous = 0;
      bool ended = false;
      for (uword t = 0; t < weights.size(); ++t) {
        const arma::vec a = weights[t].col(col);
        INFO("r " << offset << " step " << t << " sequence " << col);
        const double total = arma::accu(a);
        REQUIRE((total == 0.0 || total == 1.0));
        CHECK(arma::all(a == 0.0 || a == 1.0));
        if (total == 0.0) {
          ended = true;
          ended_some = true;
          continue;
        }
        CHECK_FALSE(ended);  // once past the end, never back
        const uword position = a.index_max();
        CHECK(position >= previous);
        CHECK(position < p.lengths[col]);
        moved_some = moved_some || position > previous;
        previous = position;
      }
    }
  }
  // The offsets were chosen so that both behaviours occur: moving on, and running off the end.
  CHECK(moved_some);
  CHECK(ended_some);
}

TEST_CASE("Recurrent attention rejects a missing state and coverage where it does not apply",
          "[attention]") {
  AttentionConfig config = make_config("monotonic", 3, 4);
  AttentionProblem p(3, 4, {0}, 91);
  Built b = build(config, 17);
  AttentionKeys<double> keys;
  b.attention->precompute(*b.store, p.memory, p.mask, p.batch, p.steps, keys);
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  CHECK_THROWS_WITH(
      b.attention->forward(*b.store, keys, p.queries[0], 0, cache, context, weights),
      Catch::Contains("begin_state"));
  for (const char* type : {"dot", "luong-general", "luong-local-p", "monotonic"}) {
    AttentionConfig c = make_config(type, 3, 3);
    c.coverage = true;
    ParamLayout layout;
    INFO(type);
    CHECK_THROWS_WITH(make_attention<double>(c, layout),
                      Catch::Contains("coverage applies to bahdanau and luong-concat only"));
  }
}
