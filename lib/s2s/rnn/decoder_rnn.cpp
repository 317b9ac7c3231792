#include "s2s/rnn/decoder_rnn.hpp"

#include <stdexcept>
#include <string>

#include "s2s/core/gemm.hpp"
#include "s2s/rnn/gate_loops.hpp"
#include "s2s/rnn/gru.hpp"
#include "s2s/rnn/lstm.hpp"

namespace s2s {

namespace {

using rnn_detail::StepOrder;

// Every column of a step is active: the decoder's batch has no padding inside the loop.
StepOrder all_columns(uword steps, uword batch) { return StepOrder{nullptr, steps, batch, false}; }

// I_k of layer l: the rows of its input known for all steps.
template <typename Real>
uword known_rows_of(const DecoderRnnCache<Real>& cache, uword layer) {
  return layer == 0 ? cache.known_rows : 0;
}

}  // namespace

template <typename Real>
DecoderRnn<Real>::DecoderRnn(const RnnStack<Real>& stack)
    : stack_(stack),
      lstm_(stack.config().cell == RnnCellType::kLstm),
      H_(stack.config().hidden_size),
      dropout_(stack.config().dropout) {
  if (stack.config().bidirectional)
    throw std::invalid_argument("DecoderRnn needs a unidirectional stack");
}

template <typename Real>
void DecoderRnn<Real>::begin(const ParameterStore<Real>& params, const Mat<Real>* x_known,
                             uword steps, uword batch, const std::vector<RnnState<Real>>& initial,
                             DecoderRnnCache<Real>& cache) const {
  const uword N = stack_.num_layers(), T = steps, B = batch, H = H_;
  const uword K = lstm_ ? LstmKernel<Real>::kCacheRows : GruKernel<Real>::kCacheRows;
  if (initial.size() != N)
    throw std::invalid_argument("decoder rnn: " + std::to_string(initial.size()) +
                                " initial states for " + std::to_string(N) + " layers");
  const uword I = stack_.layer(0).input_size();
  if (x_known != nullptr && (x_known->n_rows > I || x_known->n_cols != T * B))
    throw std::invalid_argument("decoder rnn: x_known must be (I_k <= " + std::to_string(I) +
                                ") x T*B");
  cache.x_known = x_known;
  cache.known_rows = x_known != nullptr ? x_known->n_rows : 0;
  cache.steps = T;
  cache.batch = B;
  cache.layers.resize(N);
  for (uword l = 0; l < N; ++l) {
    const RnnCell<Real>& cell = stack_.layer(l).cell(0);
    DecoderRnnLayerCache<Real>& L = cache.layers[l];
    const uword GH = cell.gate_rows(), I_k = known_rows_of(cache, l);
    if (I_k > 0)
      gemm::weight_product(columns(params.value(cell.weight_ih_id()), 0, I_k), *x_known,
                           L.gx_known);
    else
      L.gx_known.reset();
    L.x_step.set_size(cell.input_size() - I_k, T * B);
    L.h.set_size(H, (T + 1) * B);
    L.gates.set_size(K * H, T * B);
    L.gx.set_size(GH, B);
    L.gh.set_size(GH, B);
    Mat<Real> h0 = step_view(L.h, 0, B);
    if (initial[l].h.is_empty()) h0.zeros(); else h0 = initial[l].h;
    if (lstm_) {
      L.c.set_size(H, (T + 1) * B);
      Mat<Real> c0 = step_view(L.c, 0, B);
      if (initial[l].c.is_empty()) c0.zeros(); else c0 = initial[l].c;
    } else {
      L.c.reset();
    }
    L.dropouts.resize(l > 0 ? T : 0);
  }
}

template <typename Real>
void DecoderRnn<Real>::step_forward(const ParameterStore<Real>& params, uword t,
                                    const Mat<Real>& x_step, DecoderRnnCache<Real>& cache,
                                    bool training, Rng& rng) const {
  const uword N = stack_.num_layers(), B = cache.batch;
  for (uword l = 0; l < N; ++l) {
    const RnnCell<Real>& cell = stack_.layer(l).cell(0);
    DecoderRnnLayerCache<Real>& L = cache.layers[l];
    const uword I_k = known_rows_of(cache, l), I_s = L.x_step.n_rows;
    if (l == 0 && (x_step.n_rows != I_s || (I_s > 0 && x_step.n_cols != B)))
      throw std::invalid_argument("decoder rnn: x_step must be " + std::to_string(I_s) + " x " +
                                  std::to_string(B));
    Mat<Real> x = I_s > 0 ? step_view(L.x_step, t, B) : Mat<Real>();  // (I_s × B), a view
    if (l == 0) {
      if (I_s > 0) x = x_step;
    } else {
      dropout_.forward(step_view(cache.layers[l - 1].h, t + 1, B), x, L.dropouts[t], training,
                       rng);
    }
    // g_x = GX_t + W_ih[:, I_k:] x_step_t, accumulated in place into GX's block (backward does
    // not need GX).
    const Mat<Real>& w_ih = params.value(cell.weight_ih_id());
    Mat<Real> gx_known_step = I_k > 0 ? step_view(L.gx_known, t, B) : Mat<Real>();  // a view
    Mat<Real>* gx = I_k > 0 ? &gx_known_step : &L.gx;
    if (I_k == 0)
      gemm::weight_product(columns(w_ih, 0, I_s), x, L.gx);
    else if (I_s > 0)
      gemm::weight_product(columns(w_ih, I_k, I_s), x, gx_known_step, true);
    gemm::weight_product(params.value(cell.weight_hh_id()), step_view(L.h, t, B), L.gh);
    const Real* b_ih = params.value(cell.bias_ih_id()).memptr();
    const Real* b_hh = params.value(cell.bias_hh_id()).memptr();
    const StepOrder order = all_columns(cache.steps, B);
    auto gx_column = [gx, first = t * B](uword col) { return gx->colptr(col - first); };
    if (lstm_)
      rnn_detail::forward_step_columns<LstmKernel<Real>, Real>(
          H_, t, order, gx_column, L.gh, b_ih, b_hh, L.h, L.c, L.gates, nullptr, 0);
    else
      rnn_detail::forward_step_columns<GruKernel<Real>, Real>(
          H_, t, order, gx_column, L.gh, b_ih, b_hh, L.h, L.c, L.gates, nullptr, 0);
  }
}

template <typename Real>
const Mat<Real> DecoderRnn<Real>::top_state(const DecoderRnnCache<Real>& cache, uword t) const {
  return step_view(cache.layers.back().h, t, cache.batch);
}

template <typename Real>
RnnState<Real> DecoderRnn<Real>::state(const DecoderRnnCache<Real>& cache, uword layer,
                                       uword t) const {
  const DecoderRnnLayerCache<Real>& L = cache.layers.at(layer);
  RnnState<Real> s;
  s.h = step_view(L.h, t, cache.batch);
  if (lstm_) s.c = step_view(L.c, t, cache.batch);
  return s;
}

template <typename Real>
void DecoderRnn<Real>::begin_backward(const std::vector<RnnState<Real>>* d_final,
                                      DecoderRnnCache<Real>& cache) const {
  const uword N = stack_.num_layers(), T = cache.steps, B = cache.batch, H = H_;
  if (d_final != nullptr && d_final->size() != N)
    throw std::invalid_argument("decoder rnn: " + std::to_string(d_final->size()) +
                                " final-state gradients for " + std::to_string(N) + " layers");
  for (uword l = 0; l < N; ++l) {
    DecoderRnnLayerCache<Real>& L = cache.layers[l];
    const uword GH = stack_.layer(l).cell(0).gate_rows();
    L.dgx.set_size(GH, T * B);  // every column is written: all B columns are active each step
    L.dgh.set_size(GH, T * B);
    L.dh_prev.set_size(H, B);
    if (d_final != nullptr && !(*d_final)[l].h.is_empty()) L.dh = (*d_final)[l].h;
    else L.dh.zeros(H, B);
    if (lstm_) {
      L.dc_prev.set_size(H, B);
      if (d_final != nullptr && !(*d_final)[l].c.is_empty()) L.dc = (*d_final)[l].c;
      else L.dc.zeros(H, B);
    }
  }
}

template <typename Real>
void DecoderRnn<Real>::step_backward(ParameterStore<Real>& params, uword t,
                                     const Mat<Real>* d_output, Mat<Real>& dx_step,
                                     DecoderRnnCache<Real>& cache) const {
  const uword N = stack_.num_layers(), B = cache.batch;
  for (uword l = N; l-- > 0;) {
    const RnnCell<Real>& cell = stack_.layer(l).cell(0);
    DecoderRnnLayerCache<Real>& L = cache.layers[l];
    if (l + 1 == N && d_output != nullptr) L.dh += *d_output;
    const StepOrder order = all_columns(cache.steps, B);
    if (lstm_)
      rnn_detail::backward_step_columns<LstmKernel<Real>, Real>(
          H_, t, order, L.gates, L.h, L.c, L.dh, L.dc, L.dgx, L.dgh, L.dh_prev, L.dc_prev, nullptr,
          0);
    else
      rnn_detail::backward_step_columns<GruKernel<Real>, Real>(
          H_, t, order, L.gates, L.h, L.c, L.dh, L.dc, L.dgx, L.dgh, L.dh_prev, L.dc_prev, nullptr,
          0);
    gemm::weight_t_product(params.value(cell.weight_hh_id()), step_view(L.dgh, t, B), L.dh_prev,
                           true);
    const uword I_k = known_rows_of(cache, l), I_s = L.x_step.n_rows;
    const Mat<Real> dgx = step_view(L.dgx, t, B);
    if (l == 0) {
      if (I_s > 0)
        gemm::weight_t_product(columns(params.value(cell.weight_ih_id()), I_k, I_s), dgx, dx_step);
      else
        dx_step.reset();
    } else {  // layer l's input was dropout(h^{l−1}_t): back into layer l − 1's carried ∂h
      gemm::weight_t_product(params.value(cell.weight_ih_id()), dgx, L.dx);
      dropout_.backward(L.dx, L.dropouts[t], cache.layers[l - 1].dh);
    }
    L.dh.swap(L.dh_prev);
    if (lstm_) L.dc.swap(L.dc_prev);
  }
}

template <typename Real>
void DecoderRnn<Real>::finish_backward(ParameterStore<Real>& params, DecoderRnnCache<Real>& cache,
                                       Mat<Real>* d_x_known,
                                       std::vector<RnnState<Real>>* d_initial) const {
  const uword N = stack_.num_layers(), T = cache.steps, B = cache.batch;
  if (d_initial != nullptr) d_initial->resize(N);
  for (uword l = 0; l < N; ++l) {
    const RnnCell<Real>& cell = stack_.layer(l).cell(0);
    DecoderRnnLayerCache<Real>& L = cache.layers[l];
    const uword I_k = known_rows_of(cache, l), I_s = L.x_step.n_rows;
    Mat<Real>& d_w_ih = params.grad(cell.weight_ih_id());
    if (I_k > 0) {
      Mat<Real> d_w_known = columns(d_w_ih, 0, I_k);
      gemm::gradient_product(L.dgx, *cache.x_known, d_w_known);
      if (d_x_known != nullptr)
        gemm::weight_t_product(columns(params.value(cell.weight_ih_id()), 0, I_k), L.dgx,
                               *d_x_known, true);
    }
    if (I_s > 0) {
      Mat<Real> d_w_step = columns(d_w_ih, I_k, I_s);
      gemm::gradient_product(L.dgx, L.x_step, d_w_step);
    }
    params.grad(cell.bias_ih_id()) += arma::sum(L.dgx, 1);
    gemm::gradient_product(L.dgh, columns(L.h, 0, T * B), params.grad(cell.weight_hh_id()));
    params.grad(cell.bias_hh_id()) += arma::sum(L.dgh, 1);
    if (d_initial != nullptr) {
      (*d_initial)[l].h = L.dh;
      if (lstm_) (*d_initial)[l].c = L.dc;
      else (*d_initial)[l].c.reset();
    }
  }
}

template class DecoderRnn<float>;
template class DecoderRnn<double>;

}  // namespace s2s
