#include "s2s/rnn/rnn_layer.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "s2s/core/gemm.hpp"
#include "s2s/core/choice.hpp"
#include "s2s/rnn/gate_loops.hpp"
#include "s2s/rnn/gru.hpp"
#include "s2s/rnn/lstm.hpp"

namespace s2s {

RnnCellType parse_rnn_cell_type(const std::string& name) {
  return parse_choice<RnnCellType>("RNN cell type", name,
      {{"gru", RnnCellType::kGru}, {"lstm", RnnCellType::kLstm}});
}

std::string to_string(RnnCellType type) { return type == RnnCellType::kGru ? "gru" : "lstm"; }

uword rnn_gate_count(RnnCellType type) {
  return type == RnnCellType::kGru ? GruKernel<float>::kGates : LstmKernel<float>::kGates;
}

namespace {

using rnn_detail::StepOrder;
using rnn_detail::backward_step_columns;
using rnn_detail::forward_step_columns;

template <typename Real>
void check_shape(const Mat<Real>& m, uword rows, uword cols, const char* what) {
  if (m.n_rows != rows || m.n_cols != cols)
    throw std::invalid_argument(std::string(what) + ": expected " + shape_string(rows, cols) +
                                ", got " + shape_string(m));
}

// A gradient the caller asked for: an empty matrix becomes zeros, anything else must fit.
template <typename Real>
void prepare_gradient(Mat<Real>& m, uword rows, uword cols, const char* what) {
  if (m.is_empty())
    m.zeros(rows, cols);
  else
    check_shape(m, rows, cols, what);
}

// out (rows × 1) += Σ_columns m, without the temporary of arma::sum.
template <typename Real>
void add_column_sums(const Mat<Real>& m, Mat<Real>& out) {
  Real* sum = out.memptr();
  for (uword col = 0; col < m.n_cols; ++col) {
    const Real* values = m.colptr(col);
    for (uword r = 0; r < m.n_rows; ++r) sum[r] += values[r];
  }
}

// The time loop of one direction. On entry cache.gx = W_ih x and block 0 of cache.h (and .c)
// hold the initial state; fills the other blocks, cache.gates, and the real columns of outputs.
template <class Kernel, typename Real>
void run_forward(const Mat<Real>& w_hh, const Real* b_ih, const Real* b_hh,
                 const StepOrder& order, uword hidden, RnnDirectionCache<Real>& cache,
                 Mat<Real>* outputs, uword row) {
  const uword B = order.batch;
  auto gx_column = [&cache](uword col) { return cache.gx.colptr(col); };
  for (uword k = 0; k < order.steps; ++k) {
    gemm::weight_product(w_hh, step_view(cache.h, k, B), cache.gh);  // (G·H × B), one GEMM per step
    forward_step_columns<Kernel>(hidden, k, order, gx_column, cache.gh, b_ih, b_hh, cache.h,
                                 cache.c, cache.gates, outputs, row);
  }
}

// The reverse time loop. On entry cache.dh (.dc) = ∂L/∂(final state), dgx and dgh are zero; on
// exit cache.dh (.dc) = ∂L/∂(initial state) and dgx, dgh hold the pre-activation gradients.
template <class Kernel, typename Real>
void run_backward(const Mat<Real>& w_hh, const StepOrder& order, uword hidden,
                  RnnDirectionCache<Real>& cache, const Mat<Real>* d_outputs, uword row) {
  const uword B = order.batch;
  for (uword k = order.steps; k-- > 0;) {
    backward_step_columns<Kernel>(hidden, k, order, cache.gates, cache.h, cache.c, cache.dh,
                                  cache.dc, cache.dgx, cache.dgh, cache.dh_prev, cache.dc_prev,
                                  d_outputs, row);
    const Mat<Real> dgh_step = step_view(cache.dgh, k, B);  // (G·H × B)
    gemm::weight_t_product(w_hh, dgh_step, cache.dh_prev, true);  // one GEMM per step
    cache.dh.swap(cache.dh_prev);
    if (Kernel::kHasCell) cache.dc.swap(cache.dc_prev);
  }
}

template <class Kernel, typename Real>
void sequence_forward_projected_impl(const RnnCell<Real>& cell,
                                     const ParameterStore<Real>& params, const uword* lengths,
                                     uword batch, bool reverse, const RnnState<Real>* initial,
                                     Mat<Real>* outputs, RnnState<Real>* final, uword row,
                                     RnnDirectionCache<Real>& cache);

template <class Kernel, typename Real>
void sequence_forward_impl(const RnnCell<Real>& cell, const ParameterStore<Real>& params,
                           const Mat<Real>& x, const uword* lengths, uword batch, bool reverse,
                           const RnnState<Real>* initial, Mat<Real>* outputs,
                           RnnState<Real>* final, uword row, RnnDirectionCache<Real>& cache) {
  const uword B = batch;
  if (x.n_rows != cell.input_size() || B == 0 || x.n_cols % B != 0)
    throw std::invalid_argument("rnn input: expected " + std::to_string(cell.input_size()) +
                                " rows and a multiple of the batch " + std::to_string(B) +
                                " columns, got " + shape_string(x));
  gemm::weight_product(params.value(cell.weight_ih_id()), x, cache.gx);  // (G·H × T·B), one GEMM
  sequence_forward_projected_impl<Kernel, Real>(cell, params, lengths, batch, reverse, initial, outputs,
                                          final, row, cache);
}

// sequence_forward_impl after its input projection: cache.gx (G·H × T·B) = W_ih x is given.
template <class Kernel, typename Real>
void sequence_forward_projected_impl(const RnnCell<Real>& cell,
                                     const ParameterStore<Real>& params, const uword* lengths,
                                     uword batch, bool reverse, const RnnState<Real>* initial,
                                     Mat<Real>* outputs, RnnState<Real>* final, uword row,
                                     RnnDirectionCache<Real>& cache) {
  const uword H = cell.hidden_size(), B = batch;
  const uword T = cache.gx.n_cols / B;
  const Mat<Real>& w_hh = params.value(cell.weight_hh_id());

  // Every buffer of the loop is sized here; set_size keeps the memory when the shape repeats.
  cache.gh.set_size(cell.gate_rows(), B);
  cache.h.set_size(H, (T + 1) * B);
  cache.gates.set_size(Kernel::kCacheRows * H, T * B);
  if (Kernel::kHasCell)
    cache.c.set_size(H, (T + 1) * B);
  else
    cache.c.reset();

  Mat<Real> h0 = step_view(cache.h, 0, B);
  if (initial != nullptr && !initial->h.is_empty())
    h0 = initial->h.rows(row, row + H - 1);
  else
    h0.zeros();
  if (Kernel::kHasCell) {
    Mat<Real> c0 = step_view(cache.c, 0, B);
    if (initial != nullptr && !initial->c.is_empty())
      c0 = initial->c.rows(row, row + H - 1);
    else
      c0.zeros();
  }

  const StepOrder order{lengths, T, B, reverse};
  run_forward<Kernel>(w_hh, params.value(cell.bias_ih_id()).memptr(),
                      params.value(cell.bias_hh_id()).memptr(), order, H, cache, outputs, row);

  if (final != nullptr) {
    final->h.rows(row, row + H - 1) = step_view(cache.h, T, B);
    if (Kernel::kHasCell) final->c.rows(row, row + H - 1) = step_view(cache.c, T, B);
  }
}

template <class Kernel, typename Real>
void sequence_backward_impl(const RnnCell<Real>& cell, ParameterStore<Real>& params,
                            const Mat<Real>& x, const uword* lengths, uword batch, bool reverse,
                            const Mat<Real>* d_outputs, const RnnState<Real>* d_final,
                            Mat<Real>* dx, RnnState<Real>* d_initial, uword row,
                            RnnDirectionCache<Real>& cache) {
  const uword H = cell.hidden_size(), B = batch, GH = cell.gate_rows();
  const uword T = x.n_cols / B;
  if (cache.h.n_cols != (T + 1) * B || cache.gx.n_cols != x.n_cols)
    throw std::invalid_argument("rnn backward: the cache does not come from a forward on this x");

  cache.dgx.zeros(GH, T * B);
  cache.dgh.zeros(GH, T * B);
  cache.dh_prev.set_size(H, B);
  if (d_final != nullptr && !d_final->h.is_empty())
    cache.dh = d_final->h.rows(row, row + H - 1);
  else
    cache.dh.zeros(H, B);
  if (Kernel::kHasCell) {
    cache.dc_prev.set_size(H, B);
    if (d_final != nullptr && !d_final->c.is_empty())
      cache.dc = d_final->c.rows(row, row + H - 1);
    else
      cache.dc.zeros(H, B);
  }

  const Mat<Real>& w_ih = params.value(cell.weight_ih_id());
  const Mat<Real>& w_hh = params.value(cell.weight_hh_id());
  const StepOrder order{lengths, T, B, reverse};
  run_backward<Kernel>(w_hh, order, H, cache, d_outputs, row);

  // The states entering steps 0..T−1 are the first T·B columns of cache.h: (H × T·B).
  const Mat<Real> h_prev_all(cache.h.memptr(), H, T * B, false, true);
  gemm::gradient_product(cache.dgx, x, params.grad(cell.weight_ih_id()));
  add_column_sums(cache.dgx, params.grad(cell.bias_ih_id()));
  gemm::gradient_product(cache.dgh, h_prev_all, params.grad(cell.weight_hh_id()));
  add_column_sums(cache.dgh, params.grad(cell.bias_hh_id()));
  if (dx != nullptr) gemm::weight_t_product(w_ih, cache.dgx, *dx, true);
  if (d_initial != nullptr) {
    d_initial->h.rows(row, row + H - 1) += cache.dh;
    if (Kernel::kHasCell) d_initial->c.rows(row, row + H - 1) += cache.dc;
  }
}

}  // namespace

// ---------------------------------------------------------------------------------------------
// RnnCell

template <typename Real>
RnnCell<Real>::RnnCell(ParamLayout& layout, const std::string& prefix, RnnCellType type,
                       uword input_size, uword hidden_size)
    : type_(type), input_size_(input_size), hidden_size_(hidden_size) {
  if (input_size == 0 || hidden_size == 0)
    throw std::invalid_argument("rnn cell " + prefix + ": sizes must be positive");
  const uword GH = gate_rows();
  weight_ih_ = layout.add(prefix + ".weight_ih", GH, input_size);
  weight_hh_ = layout.add(prefix + ".weight_hh", GH, hidden_size);
  bias_ih_ = layout.add(prefix + ".bias_ih", GH, 1);
  bias_hh_ = layout.add(prefix + ".bias_hh", GH, 1);
}

template <typename Real>
void RnnCell<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size_));
  for (ParamId id : {weight_ih_, weight_hh_, bias_ih_, bias_hh_})
    rng.fill_uniform(params.value(id), -bound, bound);
}

template <typename Real>
void RnnCell<Real>::sequence_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                     const uword* lengths, uword batch, bool reverse,
                                     const RnnState<Real>* initial, Mat<Real>* outputs,
                                     RnnState<Real>* final, uword row,
                                     RnnDirectionCache<Real>& cache) const {
  if (type_ == RnnCellType::kGru)
    sequence_forward_impl<GruKernel<Real>>(*this, params, x, lengths, batch, reverse, initial,
                                           outputs, final, row, cache);
  else
    sequence_forward_impl<LstmKernel<Real>>(*this, params, x, lengths, batch, reverse, initial,
                                            outputs, final, row, cache);
}

template <typename Real>
void RnnCell<Real>::sequence_backward(ParameterStore<Real>& params, const Mat<Real>& x,
                                      const uword* lengths, uword batch, bool reverse,
                                      const Mat<Real>* d_outputs, const RnnState<Real>* d_final,
                                      Mat<Real>* dx, RnnState<Real>* d_initial, uword row,
                                      RnnDirectionCache<Real>& cache) const {
  if (type_ == RnnCellType::kGru)
    sequence_backward_impl<GruKernel<Real>>(*this, params, x, lengths, batch, reverse, d_outputs,
                                            d_final, dx, d_initial, row, cache);
  else
    sequence_backward_impl<LstmKernel<Real>>(*this, params, x, lengths, batch, reverse, d_outputs,
                                             d_final, dx, d_initial, row, cache);
}

template <typename Real>
void RnnCell<Real>::step_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                 const RnnState<Real>& prev, RnnState<Real>& next,
                                 RnnStepCache<Real>& cache) const {
  const uword B = x.n_cols;
  if (!prev.h.is_empty()) check_shape(prev.h, hidden_size_, B, "rnn step: prev.h");
  if (!prev.c.is_empty()) check_shape(prev.c, hidden_size_, B, "rnn step: prev.c");
  cache.x = x;
  next.h.set_size(hidden_size_, B);
  if (type_ == RnnCellType::kLstm)
    next.c.set_size(hidden_size_, B);
  else
    next.c.reset();
  sequence_forward(params, x, nullptr, B, false, &prev, nullptr, &next, 0, cache.step);
}

template <typename Real>
void RnnCell<Real>::step_forward_projected(const ParameterStore<Real>& params, const Mat<Real>& gx,
                                           const RnnState<Real>& prev, RnnState<Real>& next,
                                           RnnStepCache<Real>& cache) const {
  const uword B = gx.n_cols;
  check_shape(gx, gate_rows(), B, "rnn step: projected input");
  if (!prev.h.is_empty()) check_shape(prev.h, hidden_size_, B, "rnn step: prev.h");
  if (!prev.c.is_empty()) check_shape(prev.c, hidden_size_, B, "rnn step: prev.c");
  cache.x.reset();  // no backward from here
  cache.step.gx = gx;
  next.h.set_size(hidden_size_, B);
  if (type_ == RnnCellType::kLstm)
    next.c.set_size(hidden_size_, B);
  else
    next.c.reset();
  if (type_ == RnnCellType::kGru)
    sequence_forward_projected_impl<GruKernel<Real>, Real>(*this, params, nullptr, B, false, &prev,
                                                     nullptr, &next, 0, cache.step);
  else
    sequence_forward_projected_impl<LstmKernel<Real>, Real>(*this, params, nullptr, B, false, &prev,
                                                      nullptr, &next, 0, cache.step);
}

template <typename Real>
void RnnCell<Real>::step_backward(ParameterStore<Real>& params, RnnStepCache<Real>& cache,
                                  const RnnState<Real>& d_next, Mat<Real>* dx,
                                  RnnState<Real>* d_prev) const {
  const uword B = cache.x.n_cols;
  if (!d_next.h.is_empty()) check_shape(d_next.h, hidden_size_, B, "rnn step: d_next.h");
  if (!d_next.c.is_empty()) check_shape(d_next.c, hidden_size_, B, "rnn step: d_next.c");
  if (dx != nullptr) prepare_gradient(*dx, input_size_, B, "rnn step: dx");
  if (d_prev != nullptr) {
    prepare_gradient(d_prev->h, hidden_size_, B, "rnn step: d_prev.h");
    if (type_ == RnnCellType::kLstm) prepare_gradient(d_prev->c, hidden_size_, B, "rnn step: d_prev.c");
  }
  sequence_backward(params, cache.x, nullptr, B, false, nullptr, &d_next, dx, d_prev, 0,
                    cache.step);
}

// ---------------------------------------------------------------------------------------------
// RnnLayer

template <typename Real>
RnnLayer<Real>::RnnLayer(ParamLayout& layout, const std::string& name, RnnCellType type,
                         uword input_size, uword hidden_size, bool bidirectional)
    : type_(type) {
  cells_.reserve(2);
  if (bidirectional) {
    cells_.emplace_back(layout, name + ".fwd", type, input_size, hidden_size);
    cells_.emplace_back(layout, name + ".bwd", type, input_size, hidden_size);
  } else {
    cells_.emplace_back(layout, name, type, input_size, hidden_size);
  }
}

template <typename Real>
void RnnLayer<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  for (const RnnCell<Real>& cell : cells_) cell.init(params, rng);
}

template <typename Real>
void RnnLayer<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                             const std::vector<uword>& lengths, const RnnState<Real>* initial,
                             Mat<Real>& outputs, RnnState<Real>& final_state,
                             RnnLayerCache<Real>& cache) const {
  const uword B = lengths.size();
  if (B == 0 || x.n_cols % B != 0)
    throw std::invalid_argument("rnn layer: x has " + std::to_string(x.n_cols) +
                                " columns, not a multiple of the batch " + std::to_string(B));
  const uword T = x.n_cols / B;
  for (uword length : lengths)
    if (length < 1 || length > T)
      throw std::invalid_argument("rnn layer: sequence length " + std::to_string(length) +
                                  " outside [1, " + std::to_string(T) + "]");
  const uword DH = output_size();
  if (initial != nullptr) {
    if (!initial->h.is_empty()) check_shape(initial->h, DH, B, "rnn layer: initial.h");
    if (!initial->c.is_empty()) check_shape(initial->c, DH, B, "rnn layer: initial.c");
  }
  cache.lengths = lengths;
  outputs.zeros(DH, T * B);
  final_state.h.set_size(DH, B);
  if (type_ == RnnCellType::kLstm)
    final_state.c.set_size(DH, B);
  else
    final_state.c.reset();
  for (uword d = 0; d < directions(); ++d)
    cells_[d].sequence_forward(params, x, cache.lengths.data(), B, d == 1, initial, &outputs,
                               &final_state, d * hidden_size(), cache.directions[d]);
}

template <typename Real>
void RnnLayer<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& x,
                              RnnLayerCache<Real>& cache, const Mat<Real>* d_outputs,
                              const RnnState<Real>* d_final, Mat<Real>* dx,
                              RnnState<Real>* d_initial) const {
  const uword B = cache.lengths.size();
  const uword DH = output_size();
  if (d_outputs != nullptr) check_shape(*d_outputs, DH, x.n_cols, "rnn layer: d_outputs");
  if (d_final != nullptr) {
    if (!d_final->h.is_empty()) check_shape(d_final->h, DH, B, "rnn layer: d_final.h");
    if (!d_final->c.is_empty()) check_shape(d_final->c, DH, B, "rnn layer: d_final.c");
  }
  if (dx != nullptr) prepare_gradient(*dx, input_size(), x.n_cols, "rnn layer: dx");
  if (d_initial != nullptr) {
    prepare_gradient(d_initial->h, DH, B, "rnn layer: d_initial.h");
    if (type_ == RnnCellType::kLstm) prepare_gradient(d_initial->c, DH, B, "rnn layer: d_initial.c");
  }
  for (uword d = 0; d < directions(); ++d)
    cells_[d].sequence_backward(params, x, cache.lengths.data(), B, d == 1, d_outputs, d_final,
                                dx, d_initial, d * hidden_size(), cache.directions[d]);
}

template class RnnCell<float>;
template class RnnCell<double>;
template class RnnLayer<float>;
template class RnnLayer<double>;

}  // namespace s2s
