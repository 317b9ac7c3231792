// RNN attention variants (attention.hpp): closed-form cases, invariants, and gradient checks in
// double w.r.t. every parameter, every decoder query and the memory, on a padded batch, over
// several decoder steps (so the per-batch key accumulators are exercised), with
// L = Σ_t Σ R1_t ⊙ c_t + Σ R2_t ⊙ a_t (R2_t = 0 and d_weights = nullptr on odd steps).
#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <string>
#include <vector>

#include "attention_helpers.hpp"
#include "gradcheck.hpp"
#include "s2s/attention/attention.hpp"
#include "s2s/attention/attention_factory.hpp"
#include "s2s/attention/local_attention.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

const std::vector<std::string> kAllTypes = {"dot",           "bahdanau",     "luong-dot",
                                            "luong-general", "luong-concat", "luong-local-m",
                                            "luong-local-p"};

// The (H × B) Σ_s a(s, b) h(s, b), straight from the time-major memory.
arma::mat naive_context(const arma::mat& memory, const arma::mat& weights, uword batch) {
  arma::mat context(memory.n_rows, batch, arma::fill::zeros);
  for (uword b = 0; b < batch; ++b)
    for (uword s = 0; s < weights.n_rows; ++s)
      context.col(b) += weights(s, b) * memory.col(s * batch + b);
  return context;
}

}  // namespace

TEST_CASE("Dot attention matches a hand-computed case", "[attention]") {
  // B = 2, S = 2, lengths {2, 1}; sequence 0: h0 = (1, 0), h1 = (0, 1); sequence 1: h0 = (2, 3)
  // and a padded h1 = (7, 7) that must not count.
  const arma::mat memory = {{1, 2, 0, 7}, {0, 3, 1, 7}};  // columns s·B + b
  const arma::rowvec mask = length_mask<double>({2, 1}, 2);
  const arma::mat query = {{std::log(3.0), 1.0}, {0.0, -1.0}};  // e = (ln 3, 0) for sequence 0
  for (bool scaled : {false, true}) {
    AttentionConfig config = make_config("dot", 2, 2);
    config.scaled = scaled;
    ParamLayout layout;
    const auto attention = make_attention<double>(config, layout);
    CHECK(layout.entries().empty());  // Q = H: no projection
    ParameterStore<double> store(std::move(layout));
    AttentionKeys<double> keys;
    attention->precompute(store, memory, mask, 2, 2, keys);
    AttentionStepCache<double> cache;
    arma::mat context, weights;
    attention->forward(store, keys, query, 0, cache, context, weights);
    // softmax(ln 3 · c, 0) with c = 1 or 1/√2
    const double e3 = std::pow(3.0, scaled ? 1.0 / std::sqrt(2.0) : 1.0);
    const arma::mat expected_weights = {{e3 / (e3 + 1), 1.0}, {1 / (e3 + 1), 0.0}};
    const arma::mat expected_context = {{e3 / (e3 + 1), 2.0}, {1 / (e3 + 1), 3.0}};
    INFO("scaled " << scaled);
    CHECK(arma::approx_equal(weights, expected_weights, "absdiff", 1e-15));
    CHECK(arma::approx_equal(context, expected_context, "absdiff", 1e-15));
    CHECK(weights(1, 1) == 0.0);
    if (!scaled) CHECK(weights(0, 0) == Approx(0.75).margin(1e-15));
  }
}

TEST_CASE("Bahdanau attention with v = 0 is uniform over the real positions", "[attention]") {
  AttentionProblem p(3, 4, {0}, 5);
  ParamLayout layout;
  const auto attention = make_attention<double>(make_config("bahdanau", 3, 4), layout);
  ParameterStore<double> store(std::move(layout));
  Rng rng(1);
  attention->init(store, rng);
  store.value(store.layout().find("decoder.attention.v")).zeros();
  AttentionKeys<double> keys;
  attention->precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  attention->forward(store, keys, p.queries[0], 0, cache, context, weights);
  for (uword b = 0; b < p.batch; ++b)
    for (uword s = 0; s < p.steps; ++s) {
      if (s < p.lengths[b])
        CHECK(weights(s, b) == Approx(1.0 / p.lengths[b]).margin(1e-15));
      else
        CHECK(weights(s, b) == 0.0);
    }
}

TEST_CASE("Local-m attention with W_a = 0 is the window Gaussian over the window size",
          "[attention]") {
  // D = 2, σ = 1: α is uniform over the window, a_j = exp(−(j − t)²/2) / |window|.
  AttentionProblem p(3, 4, {3}, 6);
  ParamLayout layout;
  const auto attention = make_attention<double>(make_config("luong-local-m", 3, 4), layout);
  ParameterStore<double> store(std::move(layout));  // all zero
  AttentionKeys<double> keys;
  attention->precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  attention->forward(store, keys, p.queries[0], 3, cache, context, weights);
  // windows [1, 5] ∩ real: sequence 0 → {1..4}, 1 → {1, 2}, 2 → {1..3}
  const std::vector<uword> window_size = {4, 2, 3};
  for (uword b = 0; b < p.batch; ++b)
    for (uword j = 0; j < p.steps; ++j) {
      const bool inside = j >= 1 && j < std::min<uword>(p.lengths[b], 6);
      const double expected =
          inside ? std::exp(-0.5 * (double(j) - 3.0) * (double(j) - 3.0)) / window_size[b] : 0.0;
      INFO("b " << b << " j " << j);
      CHECK(weights(j, b) == Approx(expected).margin(1e-15));
    }
  CHECK(weights(0, 0) == 0.0);
}

TEST_CASE(
    "Attention invariants: masked weights are exactly 0, global weights sum to 1, "
    "context is the weighted sum of the memory",
    "[attention]") {
  for (const std::string& type : kAllTypes) {
    const uword query_size = type == "luong-dot" ? 4 : 3;
    AttentionConfig config = make_config(type, query_size, 4);
    config.window = 1;  // local windows cut the source
    AttentionProblem p(query_size, 4, {0, 2, 4, 6}, 17);
    ParamLayout layout;
    const auto attention = make_attention<double>(config, layout);
    ParameterStore<double> store(std::move(layout));
    Rng rng(3);
    attention->init(store, rng);
    AttentionKeys<double> keys;
    attention->precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
    const bool local = type.rfind("luong-local", 0) == 0;
    for (uword i = 0; i < p.queries.size(); ++i) {
      AttentionStepCache<double> cache;
      arma::mat context, weights;
      attention->forward(store, keys, p.queries[i], p.decoder_steps[i], cache, context, weights);
      INFO("type " << type << " step " << p.decoder_steps[i]);
      REQUIRE(weights.n_rows == p.steps);
      REQUIRE(weights.n_cols == p.batch);
      for (uword b = 0; b < p.batch; ++b) {
        const uword lo = cache.window_begin[b], hi = cache.window_end[b];
        CHECK(hi <= p.lengths[b]);
        for (uword s = 0; s < p.steps; ++s)
          if (s < lo || s >= hi) CHECK(weights(s, b) == 0.0);
        if (!local) {
          CHECK(lo == 0);
          CHECK(hi == p.lengths[b]);
          CHECK(arma::accu(weights.col(b)) == Approx(1.0).margin(1e-12));
        } else {
          CHECK(hi - lo <= 2 * config.window + 1);
          double normalised = 0;  // Σ a_j / g_j = Σ α_j
          for (uword j = lo; j < hi; ++j) {
            const double offset = double(j) - cache.position(b);
            normalised += weights(j, b) / std::exp(-offset * offset / (2 * 0.25));
          }
          CHECK(normalised == Approx(hi > lo ? 1.0 : 0.0).margin(1e-12));
          if (type == "luong-local-m") {  // [t − 1, t + 1] ∩ real, or [0, 0) when empty
            const uword t = p.decoder_steps[i];
            uword expected_lo = t > 1 ? t - 1 : 0;
            uword expected_hi = std::min<uword>(p.lengths[b], t + 2);
            if (expected_lo >= expected_hi) expected_lo = expected_hi = 0;
            CHECK(lo == expected_lo);
            CHECK(hi == expected_hi);
          }
        }
      }
      CHECK(
          arma::approx_equal(context, naive_context(p.memory, weights, p.batch), "absdiff", 1e-12));
    }
  }
}

TEST_CASE("Global attention gradients match finite differences", "[attention][gradcheck]") {
  for (const char* type : {"dot", "bahdanau", "luong-dot", "luong-general", "luong-concat"}) {
    const uword query_size = std::string(type) == "luong-dot" ? 4 : 3;
    AttentionProblem p(query_size, 4, {0, 1, 2}, 41);
    check_attention_gradients(make_config(type, query_size, 4), p, 7);
  }
}

TEST_CASE(
    "Scaled dot attention gradients match finite differences, with and without a query "
    "projection",
    "[attention][gradcheck]") {
  for (uword query_size : {3, 4}) {
    AttentionConfig config = make_config("dot", query_size, 4);
    config.scaled = true;
    AttentionProblem p(query_size, 4, {0, 1}, 43);
    check_attention_gradients(config, p, 8);
  }
}

TEST_CASE("Local-m attention gradients match finite differences", "[attention][gradcheck]") {
  // D = 1 cuts every window; t = 4 and t = 6 leave some sequences with an empty window.
  for (uword window : {1, 2, 10}) {
    AttentionConfig config = make_config("luong-local-m", 3, 4);
    config.window = window;
    AttentionProblem p(3, 4, {0, 2, 4, 6}, 51);
    INFO("D " << window);
    check_attention_gradients(config, p, 9);
  }
}

TEST_CASE("Local-p attention gradients match finite differences", "[attention][gradcheck]") {
  // D = 10 covers the whole source (no window edge); D = 1 and 2 cut it. The window bounds are
  // constants of the gradient, so p_t must stay away from integers (edges) under the
  // finite-difference steps: checked below.
  for (uword window : {10, 1, 2}) {
    AttentionConfig config = make_config("luong-local-p", 3, 4);
    config.window = window;
    AttentionProblem p(3, 4, {0, 1, 2}, 61);
    ParamLayout layout;
    const auto attention = make_attention<double>(config, layout);
    ParameterStore<double> store(std::move(layout));
    Rng rng(10);
    attention->init(store, rng);
    AttentionKeys<double> keys;
    attention->precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
    bool cuts = false;
    for (uword i = 0; i < p.queries.size(); ++i) {
      AttentionStepCache<double> cache;
      arma::mat context, weights;
      attention->forward(store, keys, p.queries[i], i, cache, context, weights);
      for (uword b = 0; b < p.batch; ++b) {
        const double position = cache.position(b);
        INFO("D " << window << " p " << position);
        REQUIRE(std::abs(position - std::round(position)) > 1e-3);
        REQUIRE(position > 0.0);
        REQUIRE(position < double(p.lengths[b]));
        cuts = cuts || cache.window_end[b] - cache.window_begin[b] < p.lengths[b];
      }
    }
    CHECK(cuts == (window < 10));
    INFO("D " << window);
    check_attention_gradients(config, p, 10);
  }
}

TEST_CASE("Attention in float agrees with double", "[attention]") {
  for (const std::string& type : kAllTypes) {
    const uword query_size = type == "luong-dot" ? 4 : 3;
    const AttentionConfig config = make_config(type, query_size, 4);
    AttentionProblem p(query_size, 4, {0, 1, 2}, 71);
    ParamLayout layout_d, layout_f;
    const auto attention_d = make_attention<double>(config, layout_d);
    const auto attention_f = make_attention<float>(config, layout_f);
    ParameterStore<double> store_d(std::move(layout_d));
    ParameterStore<float> store_f(std::move(layout_f));
    Rng rng(4);
    attention_d->init(store_d, rng);
    // Copied element-wise: assigning a temporary to values() would steal its memory from under
    // the parameter views.
    std::copy(store_d.values().begin(), store_d.values().end(), store_f.values().begin());
    const AttentionGradients grads_d = attention_backward(*attention_d, store_d, p);

    AttentionKeys<float> keys;
    attention_f->precompute(store_f, arma::conv_to<arma::fmat>::from(p.memory),
                            arma::conv_to<arma::frowvec>::from(p.mask), p.batch, p.steps, keys);
    std::vector<AttentionStepCache<float>> caches(p.queries.size());
    arma::fmat context, weights;
    for (uword i = 0; i < p.queries.size(); ++i) {
      attention_f->forward(store_f, keys, arma::conv_to<arma::fmat>::from(p.queries[i]),
                           p.decoder_steps[i], caches[i], context, weights);
      AttentionKeys<double> keys_d;
      AttentionStepCache<double> cache_d;
      arma::mat context_d, weights_d;
      attention_d->precompute(store_d, p.memory, p.mask, p.batch, p.steps, keys_d);
      attention_d->forward(store_d, keys_d, p.queries[i], p.decoder_steps[i], cache_d, context_d,
                           weights_d);
      INFO("type " << type);
      CHECK(arma::abs(arma::conv_to<arma::mat>::from(context) - context_d).max() < 1e-5);
      CHECK(arma::abs(arma::conv_to<arma::mat>::from(weights) - weights_d).max() < 1e-5);
    }
    AttentionKeysGrad<float> grad;
    attention_f->begin_backward(keys, grad);
    arma::fmat d_query;
    for (uword k = p.queries.size(); k-- > 0;) {
      d_query.zeros(query_size, p.batch);
      const arma::fmat r_context = arma::conv_to<arma::fmat>::from(p.r_context[k]);
      const arma::fmat r_weights = arma::conv_to<arma::fmat>::from(p.r_weights[k]);
      attention_f->backward(store_f, keys, caches[k], r_context,
                            r_weights.is_empty() ? nullptr : &r_weights, d_query, grad);
      CHECK(relative_error(arma::conv_to<arma::mat>::from(d_query), grads_d.d_queries[k]) < 1e-5);
    }
    arma::fmat d_memory(arma::size(p.memory), arma::fill::zeros);
    attention_f->precompute_backward(store_f, keys, grad, d_memory);
    INFO("type " << type);
    CHECK(relative_error(arma::conv_to<arma::mat>::from(d_memory), grads_d.d_memory) < 1e-5);
    CHECK(relative_error(arma::conv_to<arma::vec>::from(store_f.grads()), store_d.grads()) < 1e-5);
  }
}

TEST_CASE("Attention factory: names, parameters and errors", "[attention]") {
  ParamLayout layout;
  CHECK_THROWS_WITH(make_attention<double>(make_config("gaussian", 3, 4), layout),
                    "Unknown attention mechanism: gaussian. Valid options: dot, bahdanau, "
                    "luong-dot, luong-general, luong-concat, luong-local-m, luong-local-p, monotonic, "
                    "monotonic-chunk");
  CHECK_THROWS_WITH(make_attention<double>(make_config("none", 3, 4), layout),
                    Catch::Contains("Unknown attention mechanism: none."));
  CHECK_THROWS_WITH(make_attention<double>(make_config("luong-dot", 3, 4), layout),
                    Catch::Contains("query_size == memory_size"));
  AttentionConfig scaled = make_config("bahdanau", 3, 4);
  scaled.scaled = true;
  CHECK_THROWS_AS(make_attention<double>(scaled, layout), std::invalid_argument);
  AttentionConfig no_window = make_config("luong-local-m", 3, 4);
  no_window.window = 0;
  CHECK_THROWS_AS(make_attention<double>(no_window, layout), std::invalid_argument);
  CHECK(layout.entries().empty());

  const std::vector<std::pair<std::string, std::vector<std::string>>> expected = {
      {"dot", {"W_q.weight"}},
      {"luong-dot", {}},
      {"luong-general", {"W_a.weight"}},
      {"bahdanau", {"W_s.weight", "W_h.weight", "W_h.bias", "v"}},
      {"luong-concat", {"W_a_query.weight", "W_a_key.weight", "v_a"}},
      {"luong-local-m", {"W_a.weight"}},
      {"luong-local-p", {"W_a.weight", "W_p.weight", "v_p"}}};
  for (const auto& [type, names] : expected) {
    const uword query_size = type == "luong-dot" ? 4 : 3;
    ParamLayout params;
    const auto attention = make_attention<float>(make_config(type, query_size, 4), params);
    CHECK(attention->type() == type);
    REQUIRE(params.entries().size() == names.size());
    for (uword i = 0; i < names.size(); ++i)
      CHECK(params.entries()[i].name == "decoder.attention." + names[i]);
  }
}

TEST_CASE("Attention rejects misuse with clear errors", "[attention]") {
  AttentionProblem p(3, 4, {0}, 81);
  ParamLayout layout;
  const auto attention = make_attention<double>(make_config("bahdanau", 3, 4), layout);
  ParameterStore<double> store(std::move(layout));
  AttentionKeys<double> keys;
  CHECK_THROWS_AS(attention->precompute(store, p.memory, p.mask, p.batch, 4, keys),
                  std::invalid_argument);
  arma::rowvec holes = p.mask;
  holes(0) = 0;  // position 0 of sequence 0 masked, position 1 not
  CHECK_THROWS_WITH(attention->precompute(store, p.memory, holes, p.batch, p.steps, keys),
                    Catch::Contains("not a 0/1 prefix mask"));
  attention->precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  CHECK(keys.lengths[1] == 3);
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  CHECK_THROWS_AS(attention->forward(store, keys, arma::mat(4, 3), 0, cache, context, weights),
                  std::invalid_argument);
  attention->forward(store, keys, p.queries[0], 0, cache, context, weights);
  AttentionKeysGrad<double> grad;
  arma::mat d_query(3, 3, arma::fill::zeros);
  CHECK_THROWS_AS(attention->backward(store, keys, cache, p.r_context[0], nullptr, d_query, grad),
                  std::logic_error);
}
