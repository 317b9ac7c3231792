#include "s2s/layers/pointer_generator.hpp"

#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/layers/cross_entropy.hpp"

namespace s2s {

namespace {

template <typename Real>
void check_shapes(const Mat<Real>& attention, const std::vector<Index>& source_ids, uword batch,
                  uword columns) {
  if (batch == 0 || columns % batch != 0 || attention.n_cols != columns ||
      source_ids.size() != attention.n_rows * batch)
    throw std::invalid_argument(
        "pointer_generator: attention is " + shape_string(attention) + " for " +
        std::to_string(columns) + " positions of " + std::to_string(batch) + " sequences and " +
        std::to_string(source_ids.size()) + " source ids (expected S x N and S*B ids)");
}

// p_gen = σ(g), q = softmax(z) column-wise.
template <typename Real>
void generate(const Mat<Real>& logits, const arma::Row<Real>& gate_logits, Mat<Real>& q,
              arma::Row<Real>& gate) {
  if (gate_logits.n_elem != logits.n_cols)
    throw std::invalid_argument("pointer_generator: " + std::to_string(gate_logits.n_elem) +
                                " gate values for " + std::to_string(logits.n_cols) +
                                " positions");
  log_softmax(logits, q);
  q = arma::exp(q);
  gate = Real(1) / (Real(1) + arma::exp(-gate_logits));
}

// The most probable id of column n (the lowest of equals): a vocabulary id's probability is at
// least its generated part, and only source ids get more.
template <typename Real>
Index most_probable(const PointerGeneratorCache<Real>& cache, const Mat<Real>& attention,
                    const std::vector<Index>& source_ids, uword batch, uword n) {
  const uword V = cache.vocab_probs.n_rows, S = attention.n_rows, b = n % batch;
  const Real gate = cache.gate(n);
  Index best = 0;
  Real best_p = -1;
  auto consider = [&](Index id, Real p) {
    if (p > best_p || (p == best_p && id < best)) {
      best = id;
      best_p = p;
    }
  };
  for (uword w = 0; w < V; ++w) consider(static_cast<Index>(w), gate * cache.vocab_probs(w, n));
  for (uword i = 0; i < S; ++i) {
    const Index x = source_ids[i * batch + b];
    Real copied = 0;
    for (uword j = 0; j < S; ++j)
      if (source_ids[j * batch + b] == x) copied += attention(j, n);
    const Real generated = static_cast<uword>(x) < V ? gate * cache.vocab_probs(x, n) : Real(0);
    consider(x, generated + (Real(1) - gate) * copied);
  }
  return best;
}

}  // namespace

template <typename Real>
double pointer_generator_loss(const Mat<Real>& logits, const arma::Row<Real>& gate_logits,
                              const Mat<Real>& attention, const std::vector<Index>& source_ids,
                              uword batch, const std::vector<Index>& targets, Index ignore_index,
                              double norm, PointerGeneratorCache<Real>& cache) {
  const uword V = logits.n_rows, N = logits.n_cols, S = attention.n_rows;
  check_shapes(attention, source_ids, batch, N);
  if (targets.size() != N)
    throw std::invalid_argument("pointer_generator: " + std::to_string(targets.size()) +
                                " targets for " + std::to_string(N) + " positions");
  generate(logits, gate_logits, cache.vocab_probs, cache.gate);
  cache.target_p.zeros(N);
  cache.copy_p.zeros(N);
  cache.norm = norm;
  cache.tokens = 0;
  cache.correct = 0;
  double loss = 0;
  for (uword n = 0; n < N; ++n) {
    const Index y = targets[n];
    if (y == ignore_index) continue;
    const uword b = n % batch;
    Real copied = 0;
    bool in_source = false;
    for (uword i = 0; i < S; ++i)
      if (source_ids[i * batch + b] == y) {
        copied += attention(i, n);
        in_source = true;
      }
    if (y < 0 || (static_cast<uword>(y) >= V && !in_source))
      throw std::invalid_argument("pointer_generator: target id " + std::to_string(y) +
                                  " is neither in the vocabulary (" + std::to_string(V) +
                                  ") nor in its source");
    const Real generated = static_cast<uword>(y) < V ? cache.vocab_probs(y, n) : Real(0);
    const Real p = cache.gate(n) * generated + (Real(1) - cache.gate(n)) * copied;
    cache.copy_p(n) = copied;
    cache.target_p(n) = p;
    loss -= std::log(static_cast<double>(p));
    ++cache.tokens;
    if (most_probable(cache, attention, source_ids, batch, n) == y) ++cache.correct;
  }
  return loss / norm;
}

template <typename Real>
void pointer_generator_backward(const Mat<Real>& attention, const std::vector<Index>& source_ids,
                                uword batch, const std::vector<Index>& targets,
                                Index ignore_index, const PointerGeneratorCache<Real>& cache,
                                Mat<Real>& d_logits, arma::Row<Real>& d_gate,
                                Mat<Real>& d_attention) {
  const Mat<Real>& q = cache.vocab_probs;
  const uword V = q.n_rows, N = q.n_cols, S = attention.n_rows;
  check_shapes(attention, source_ids, batch, N);
  d_logits.zeros(V, N);
  d_gate.zeros(N);
  d_attention.zeros(S, N);
  const Real scale = Real(1.0 / cache.norm);
  for (uword n = 0; n < N; ++n) {
    const Index y = targets[n];
    if (y == ignore_index) continue;
    const Real p = cache.target_p(n), gate = cache.gate(n);
    const Real d_p = -scale / p;  // ∂L/∂P
    const bool in_vocab = static_cast<uword>(y) < V;
    const Real generated = in_vocab ? q(y, n) : Real(0);
    if (in_vocab) {  // ∂P/∂z_w = p_gen q_y (δ_wy − q_w)
      const Real factor = d_p * gate * generated;
      for (uword w = 0; w < V; ++w) d_logits(w, n) = -factor * q(w, n);
      d_logits(y, n) += factor;
    }
    d_gate(n) = d_p * (generated - cache.copy_p(n)) * gate * (Real(1) - gate);
    const uword b = n % batch;
    for (uword i = 0; i < S; ++i)
      if (source_ids[i * batch + b] == y) d_attention(i, n) = d_p * (Real(1) - gate);
  }
}

template <typename Real>
void pointer_generator_log_probs(const Mat<Real>& logits, const arma::Row<Real>& gate_logits,
                                 const Mat<Real>& attention, const std::vector<Index>& source_ids,
                                 uword extended_size, Mat<Real>& log_probs) {
  const uword V = logits.n_rows, N = logits.n_cols, S = attention.n_rows;
  check_shapes(attention, source_ids, N, N);
  if (extended_size < V)
    throw std::invalid_argument("pointer_generator: an extended vocabulary of " +
                                std::to_string(extended_size) + " is smaller than the " +
                                std::to_string(V) + " of the vocabulary");
  Mat<Real> q;
  arma::Row<Real> gate;
  generate(logits, gate_logits, q, gate);
  log_probs.zeros(extended_size, N);
  for (uword n = 0; n < N; ++n) {
    for (uword w = 0; w < V; ++w) log_probs(w, n) = gate(n) * q(w, n);
    for (uword i = 0; i < S; ++i) {
      const Index x = source_ids[i * N + n];
      if (x < 0 || static_cast<uword>(x) >= extended_size)
        throw std::invalid_argument("pointer_generator: source id " + std::to_string(x) +
                                    " outside the extended vocabulary of " +
                                    std::to_string(extended_size));
      log_probs(x, n) += (Real(1) - gate(n)) * attention(i, n);
    }
  }
  log_probs = arma::log(log_probs);
}

#define S2S_INSTANTIATE_POINTER_GENERATOR(Real)                                                 \
  template double pointer_generator_loss(const Mat<Real>&, const arma::Row<Real>&,              \
                                         const Mat<Real>&, const std::vector<Index>&, uword,    \
                                         const std::vector<Index>&, Index, double,              \
                                         PointerGeneratorCache<Real>&);                         \
  template void pointer_generator_backward(const Mat<Real>&, const std::vector<Index>&, uword,  \
                                           const std::vector<Index>&, Index,                    \
                                           const PointerGeneratorCache<Real>&, Mat<Real>&,      \
                                           arma::Row<Real>&, Mat<Real>&);                       \
  template void pointer_generator_log_probs(const Mat<Real>&, const arma::Row<Real>&,           \
                                            const Mat<Real>&, const std::vector<Index>&, uword, \
                                            Mat<Real>&);
S2S_INSTANTIATE_POINTER_GENERATOR(float)
S2S_INSTANTIATE_POINTER_GENERATOR(double)
#undef S2S_INSTANTIATE_POINTER_GENERATOR

}  // namespace s2s
