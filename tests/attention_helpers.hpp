#pragma once
// The attention gradient-check harness shared by tests/test_attention.cpp and
// tests/test_attention_recurrent.cpp: a padded problem, its loss
// L = Σ_t Σ R1_t ⊙ c_t + Σ R2_t ⊙ a_t (R2_t = 0 and d_weights = nullptr on odd steps), and the
// analytic gradients by forward over all steps then backward in reverse. Recurrent variants get
// their state from step to step as a decoder passes it.
#include <functional>
#include <string>
#include <vector>

#include "gradcheck.hpp"
#include "s2s/attention/attention.hpp"
#include "s2s/attention/attention_factory.hpp"

namespace s2s::testing {

inline AttentionConfig make_config(const std::string& type, uword query_size, uword memory_size) {
  AttentionConfig config;
  config.type = type;
  config.query_size = query_size;
  config.memory_size = memory_size;
  config.hidden_size = 3;
  config.window = 2;
  return config;
}

// A padded batch B = 3, S = 5, lengths {5, 3, 4}; padded memory columns hold garbage on purpose.
struct AttentionProblem {
  uword batch = 3;
  uword steps = 5;
  std::vector<uword> lengths{5, 3, 4};
  std::vector<uword> decoder_steps;  // t of each forward call
  arma::mat memory;                  // (H × S·B) time-major
  arma::rowvec mask;                 // (1 × S·B)
  std::vector<arma::mat> queries;    // (Q × B) per call
  std::vector<arma::mat> r_context;  // (H × B)
  std::vector<arma::mat> r_weights;  // (S × B); empty: weights not in the loss, d_weights null

  AttentionProblem(uword query_size, uword memory_size, std::vector<uword> t, std::uint64_t seed)
      : decoder_steps(std::move(t)) {
    memory = 2.0 * random_matrix(memory_size, steps * batch, seed);
    mask = length_mask<double>(lengths, steps);
    for (uword i = 0; i < decoder_steps.size(); ++i) {
      queries.push_back(2.0 * random_matrix(query_size, batch, seed + 10 + i));
      r_context.push_back(random_matrix(memory_size, batch, seed + 20 + i));
      r_weights.push_back(i % 2 == 0 ? random_matrix(steps, batch, seed + 30 + i) : arma::mat());
    }
  }
};

// Recurrent variants (coverage, monotonic): the state entering call i, from call i − 1's cache
// (which may be the same cache, reused).
inline void set_step_state(const Attention<double>& attention, const AttentionKeys<double>& keys,
                           uword i, const AttentionStepCache<double>& previous,
                           AttentionStepCache<double>& cache) {
  if (i == 0)
    attention.begin_state(keys, cache.state);
  else
    attention.next_state(previous, cache.state);
}

inline double attention_loss(const Attention<double>& attention,
                             const ParameterStore<double>& store, const AttentionProblem& p) {
  AttentionKeys<double> keys;
  attention.precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  AttentionStepCache<double> cache;
  arma::mat context, weights;
  double loss = 0;
  for (uword i = 0; i < p.queries.size(); ++i) {
    set_step_state(attention, keys, i, cache, cache);
    attention.forward(store, keys, p.queries[i], p.decoder_steps[i], cache, context, weights);
    loss += arma::accu(p.r_context[i] % context);
    if (!p.r_weights[i].is_empty()) loss += arma::accu(p.r_weights[i] % weights);
  }
  return loss;
}

struct AttentionGradients {
  std::vector<arma::mat> d_queries;
  arma::mat d_memory;
};

// Forward over all steps (one cache per step, as the decoder keeps them), then backward in
// reverse; parameter gradients land in store.grads().
inline AttentionGradients attention_backward(const Attention<double>& attention,
                                             ParameterStore<double>& store,
                                             const AttentionProblem& p) {
  store.zero_grad();
  AttentionKeys<double> keys;
  attention.precompute(store, p.memory, p.mask, p.batch, p.steps, keys);
  std::vector<AttentionStepCache<double>> caches(p.queries.size());
  arma::mat context, weights;
  for (uword i = 0; i < p.queries.size(); ++i) {
    attention.preallocate(caches[i], p.batch, p.steps);
    set_step_state(attention, keys, i, caches[i > 0 ? i - 1 : 0], caches[i]);
    attention.forward(store, keys, p.queries[i], p.decoder_steps[i], caches[i], context, weights);
  }
  AttentionKeysGrad<double> grad;
  attention.begin_backward(keys, grad);
  AttentionGradients out;
  out.d_queries.resize(p.queries.size());
  for (uword k = p.queries.size(); k-- > 0;) {
    out.d_queries[k].zeros(arma::size(p.queries[k]));
    const arma::mat* d_weights = p.r_weights[k].is_empty() ? nullptr : &p.r_weights[k];
    attention.backward(store, keys, caches[k], p.r_context[k], d_weights, out.d_queries[k], grad);
  }
  out.d_memory.zeros(arma::size(p.memory));
  attention.precompute_backward(store, keys, grad, out.d_memory);
  return out;
}

// adjust, when given, changes the initialised parameters (e.g. a sharper offset) before the check.
inline void check_attention_gradients(
    const AttentionConfig& config, AttentionProblem& p, std::uint64_t seed,
    const std::function<void(ParameterStore<double>&)>& adjust = nullptr) {
  ParamLayout layout;
  const auto attention = make_attention<double>(config, layout);
  ParameterStore<double> store(std::move(layout));
  Rng rng(seed);
  attention->init(store, rng);
  if (adjust) adjust(store);
  const AttentionGradients analytic = attention_backward(*attention, store, p);
  auto loss = [&] { return attention_loss(*attention, store, p); };
  INFO("attention " << config.type);
  check_parameter_gradients(store, loss);
  for (uword i = 0; i < p.queries.size(); ++i)
    check_input_gradient("query " + std::to_string(i), p.queries[i], analytic.d_queries[i], loss);
  check_input_gradient("memory", p.memory, analytic.d_memory, loss);
  for (uword b = 0; b < p.batch; ++b)
    for (uword s = p.lengths[b]; s < p.steps; ++s)
      CHECK(arma::all(analytic.d_memory.col(s * p.batch + b) == 0.0));
}

}  // namespace s2s::testing
