#pragma once
// The sequence machinery shared by the GRU (gru.hpp) and LSTM (lstm.hpp) layers. The gate maths of
// each cell lives in its own file as two column kernels; everything here is cell-agnostic.
//
// RnnCell: ONE direction's parameters, PyTorch names and shapes (G = 3 for GRU, 4 for LSTM):
//   <prefix>.weight_ih (G·H × I)   <prefix>.weight_hh (G·H × H)
//   <prefix>.bias_ih   (G·H × 1)   <prefix>.bias_hh   (G·H × 1)
//   init as PyTorch: all four ~ U(−1/√H, 1/√H).
// RnnLayer: one (uni) or two (bi) cells run over a padded batch. Parameter names:
//   unidirectional  <name>.weight_ih, ...           ↔ PyTorch weight_ih_l{k}
//   bidirectional   <name>.fwd.weight_ih, ...       ↔ PyTorch weight_ih_l{k}
//                   <name>.bwd.weight_ih, ...       ↔ PyTorch weight_ih_l{k}_reverse
//
// Shapes (tensor.hpp convention, D = 1 or 2 directions):
//   x        (I × T·B)    time-major; lengths[b] ∈ [1, T]
//   outputs  (D·H × T·B)  [fwd; bwd] along features; exactly 0 where t ≥ lengths[b]
//   states   h, c (D·H × B) [fwd; bwd]; c only for LSTM. Initial state zeros when absent.
// Padding: the state is frozen past a sequence's end (h_t = h_{t−1} where mask = 0), so the final
// state is the state at each sequence's own last step. The reverse direction starts at each
// sequence's own last real token (as PyTorch packed sequences do).
//
// Cost: the input projections W_ih x of all steps are one GEMM; each step is one GEMM
// W_hh h_{t−1} over the whole batch, then a fused per-column gate kernel. Backward accumulates
//   ∂L/∂W_ih += dG_x xᵀ,  ∂L/∂x += W_ihᵀ dG_x,  ∂L/∂W_hh += dG_h [h_{−1} … h_{T−2}]ᵀ
// as one GEMM each over all steps, where dG_x, dG_h (G·H × T·B) are the gradients w.r.t. the
// input and recurrent pre-activations; per step only ∂L/∂h_{t−1} += W_hhᵀ dG_h(t) is a GEMM.
// All buffers live in the caches and are sized before the time loop: the loop never allocates,
// and a repeated forward + backward of the same shape makes no heap allocation at all.
#include <string>
#include <vector>

#include "s2s/core/params.hpp"
#include "s2s/core/rng.hpp"
#include "s2s/core/tensor.hpp"

namespace s2s {

enum class RnnCellType { kGru, kLstm };

// "gru" | "lstm"; throws std::invalid_argument listing the valid names otherwise.
RnnCellType parse_rnn_cell_type(const std::string& name);
std::string to_string(RnnCellType type);
// G: 3 for GRU (r, z, n), 4 for LSTM (i, f, g, o).
uword rnn_gate_count(RnnCellType type);

template <typename Real>
struct RnnState {
  Mat<Real> h;  // (D·H × B)
  Mat<Real> c;  // (D·H × B) LSTM only; empty for GRU
};

// What one direction keeps from forward for backward, plus backward's scratch. "Processing
// order" block k holds, for every sequence b, what the direction computed at its k-th step
// (time t = k forward; t = lengths[b] − 1 − k in reverse).
template <typename Real>
struct RnnDirectionCache {
  Mat<Real> gx;     // (G·H × T·B) W_ih x, time order
  Mat<Real> gh;     // (G·H × B) W_hh h_{k−1} of the current step
  Mat<Real> h;      // (H × (T+1)·B) processing order; block k = state entering step k, block T = final
  Mat<Real> c;      // (H × (T+1)·B) as h, LSTM only
  Mat<Real> gates;  // (K·H × T·B) processing order; the cell kernel's cache (K per cell type)
  // Backward scratch, sized by backward.
  Mat<Real> dgx;                       // (G·H × T·B) ∂L/∂(input pre-activations), time order
  Mat<Real> dgh;                       // (G·H × T·B) ∂L/∂(recurrent pre-activations), processing order
  Mat<Real> dh, dh_prev, dc, dc_prev;  // (H × B) carried gradients
};

template <typename Real>
struct RnnLayerCache {
  std::vector<uword> lengths;
  RnnDirectionCache<Real> directions[2];
};

// One time step of one cell (a decoder's step): the direction cache with T = 1 and the input.
template <typename Real>
struct RnnStepCache {
  Mat<Real> x;  // (I × B) copy of the step's input
  RnnDirectionCache<Real> step;
};

template <typename Real>
class RnnCell {
 public:
  RnnCell(ParamLayout& layout, const std::string& prefix, RnnCellType type, uword input_size,
          uword hidden_size);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // One step for a batch, every column active: x (I × B), prev.h/.c (H × B; empty = zeros).
  // next.h/.c are overwritten with the new state (H × B).
  void step_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                    const RnnState<Real>& prev, RnnState<Real>& next,
                    RnnStepCache<Real>& cache) const;
  // d_next.h/.c (H × B; empty = zero). Adds into the parameter gradients and, when given, into
  // dx (I × B) and d_prev->h/.c (H × B; an empty matrix is first set to zeros).
  void step_backward(ParameterStore<Real>& params, RnnStepCache<Real>& cache,
                     const RnnState<Real>& d_next, Mat<Real>* dx, RnnState<Real>* d_prev) const;
  // step_forward from the input projection gx = W_ih x (G·H × B, without b_ih) that the caller
  // computed, e.g. from a table of projected embeddings when decoding. Inference only: the
  // cache cannot be used by step_backward.
  void step_forward_projected(const ParameterStore<Real>& params, const Mat<Real>& gx,
                              const RnnState<Real>& prev, RnnState<Real>& next,
                              RnnStepCache<Real>& cache) const;

  // One direction over a padded batch, the building block of RnnLayer. The states and the
  // outputs are the rows [row, row + H) of (D·H × ·) matrices; lengths == nullptr means every
  // sequence spans all T = x.n_cols / batch steps. `outputs` must be zero at padded positions
  // already (forward writes only real positions).
  void sequence_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                        const uword* lengths, uword batch, bool reverse,
                        const RnnState<Real>* initial, Mat<Real>* outputs, RnnState<Real>* final,
                        uword row, RnnDirectionCache<Real>& cache) const;
  void sequence_backward(ParameterStore<Real>& params, const Mat<Real>& x, const uword* lengths,
                         uword batch, bool reverse, const Mat<Real>* d_outputs,
                         const RnnState<Real>* d_final, Mat<Real>* dx, RnnState<Real>* d_initial,
                         uword row, RnnDirectionCache<Real>& cache) const;

  RnnCellType type() const { return type_; }
  uword input_size() const { return input_size_; }
  uword hidden_size() const { return hidden_size_; }
  uword gate_rows() const { return rnn_gate_count(type_) * hidden_size_; }
  ParamId weight_ih_id() const { return weight_ih_; }
  ParamId weight_hh_id() const { return weight_hh_; }
  ParamId bias_ih_id() const { return bias_ih_; }
  ParamId bias_hh_id() const { return bias_hh_; }

 private:
  RnnCellType type_;
  uword input_size_, hidden_size_;
  ParamId weight_ih_, weight_hh_, bias_ih_, bias_hh_;
};

template <typename Real>
class RnnLayer {
 public:
  RnnLayer(ParamLayout& layout, const std::string& name, RnnCellType type, uword input_size,
           uword hidden_size, bool bidirectional);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // x (I × T·B) with T = x.n_cols / lengths.size(); initial->h/.c (D·H × B) or nullptr (zeros).
  // Overwrites outputs (D·H × T·B) and final_state.h/.c (D·H × B).
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x,
               const std::vector<uword>& lengths, const RnnState<Real>* initial,
               Mat<Real>& outputs, RnnState<Real>& final_state, RnnLayerCache<Real>& cache) const;
  // x as in forward. d_outputs (D·H × T·B) and d_final (D·H × B) may be nullptr (zero), as may
  // d_final->c. Adds into the parameter gradients and, when given, into dx (I × T·B) and
  // d_initial->h/.c (D·H × B; an empty matrix is first set to zeros).
  void backward(ParameterStore<Real>& params, const Mat<Real>& x, RnnLayerCache<Real>& cache,
                const Mat<Real>* d_outputs, const RnnState<Real>* d_final, Mat<Real>* dx,
                RnnState<Real>* d_initial) const;

  RnnCellType type() const { return type_; }
  bool bidirectional() const { return cells_.size() == 2; }
  uword directions() const { return cells_.size(); }
  uword input_size() const { return cells_[0].input_size(); }
  uword hidden_size() const { return cells_[0].hidden_size(); }
  uword output_size() const { return directions() * hidden_size(); }
  // 0 = forward, 1 = reverse.
  const RnnCell<Real>& cell(uword direction) const { return cells_.at(direction); }

 private:
  RnnCellType type_;
  std::vector<RnnCell<Real>> cells_;
};

// Fixed-type cells and layers, for code that builds one by hand: GruCell, GruLayer, LstmCell,
// LstmLayer (the cell type in the name instead of an argument).
template <typename Real, RnnCellType kType>
class TypedRnnCell : public RnnCell<Real> {
 public:
  TypedRnnCell(ParamLayout& layout, const std::string& prefix, uword input_size,
               uword hidden_size)
      : RnnCell<Real>(layout, prefix, kType, input_size, hidden_size) {}
};

template <typename Real, RnnCellType kType>
class TypedRnnLayer : public RnnLayer<Real> {
 public:
  TypedRnnLayer(ParamLayout& layout, const std::string& name, uword input_size,
                uword hidden_size, bool bidirectional = false)
      : RnnLayer<Real>(layout, name, kType, input_size, hidden_size, bidirectional) {}
};

template <typename Real>
using GruCell = TypedRnnCell<Real, RnnCellType::kGru>;
template <typename Real>
using GruLayer = TypedRnnLayer<Real, RnnCellType::kGru>;
template <typename Real>
using LstmCell = TypedRnnCell<Real, RnnCellType::kLstm>;
template <typename Real>
using LstmLayer = TypedRnnLayer<Real, RnnCellType::kLstm>;

}  // namespace s2s
