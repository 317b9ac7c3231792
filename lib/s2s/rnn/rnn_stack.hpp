#pragma once
// A stack of N recurrent layers (GRU or LSTM, uni- or bidirectional), as torch.nn.GRU/LSTM with
// num_layers = N and dropout = p: dropout on the outputs of every layer but the top one.
//
//   y_0 = x,   y_l = RnnLayer_l(dropout(y_{l−1}) if l > 1 else x),   outputs = y_N
//
// Shapes (D = 1 or 2, tensor.hpp convention): x (I × T·B); outputs (D·H × T·B); layer l has
// input size I (l = 0) or D·H, and its states h, c (D·H × B) [fwd; bwd]; c only for LSTM.
// Parameter names: <name>.layer{l}.weight_ih ... (uni) or <name>.layer{l}.fwd/.bwd.weight_ih ...
// (bi), ↔ PyTorch weight_ih_l{l} / weight_ih_l{l}_reverse.
//
// The single-step API (unidirectional stacks only) is what an attention decoder runs: one time
// step for a batch, x (I × B) and per-layer states (H × B) in, new states out; the top layer's
// new h is the step's output. It shares the cell code of the sequence API (rnn_layer.hpp).
#include <string>
#include <vector>

#include "s2s/layers/dropout.hpp"
#include "s2s/rnn/rnn_layer.hpp"

namespace s2s {

struct RnnStackConfig {
  RnnCellType cell = RnnCellType::kGru;
  uword input_size = 0;
  uword hidden_size = 0;
  uword num_layers = 1;
  bool bidirectional = false;
  double dropout = 0.0;  // between layers, training only
};

template <typename Real>
struct RnnStackCache {
  std::vector<RnnLayerCache<Real>> layers;
  std::vector<Mat<Real>> inputs;             // [l] = dropout(y_{l−1}) for l ≥ 1 ([0] unused)
  std::vector<DropoutCache<Real>> dropouts;  // [l] for l ≥ 1
  std::vector<Mat<Real>> outputs;            // [l] = y_l for l < N − 1 (the top is the caller's)
};

template <typename Real>
struct RnnStackStepCache {
  std::vector<RnnStepCache<Real>> cells;     // [l]; cells[l].x is layer l's (dropped) input
  std::vector<DropoutCache<Real>> dropouts;  // [l] for l ≥ 1
  // Backward scratch (H × B), reused across calls.
  RnnState<Real> d_state;  // ∂L/∂(layer l's new state), everything that reaches it
  Mat<Real> d_input;       // ∂L/∂(layer l's input), l ≥ 1
};

template <typename Real>
class RnnStack {
 public:
  // Throws std::invalid_argument on zero sizes or layers, or dropout outside [0, 1).
  RnnStack(ParamLayout& layout, const std::string& name, const RnnStackConfig& config);

  void init(ParameterStore<Real>& params, Rng& rng) const;

  // initial: nullptr (zeros) or one state per layer (an empty h/c is zeros).
  // Overwrites outputs (D·H × T·B) and final_states (one per layer, D·H × B).
  // rng drives the dropout masks when training.
  void forward(const ParameterStore<Real>& params, const Mat<Real>& x,
               const std::vector<uword>& lengths, const std::vector<RnnState<Real>>* initial,
               Mat<Real>& outputs, std::vector<RnnState<Real>>& final_states,
               RnnStackCache<Real>& cache, bool training, Rng& rng) const;
  // d_outputs (D·H × T·B) and d_final (one per layer; empty h/c = 0) may be nullptr.
  // Adds into the parameter gradients and, when given, into dx (I × T·B) and d_initial (resized
  // to one state per layer; empty matrices are first set to zeros).
  void backward(ParameterStore<Real>& params, const Mat<Real>& x, RnnStackCache<Real>& cache,
                const Mat<Real>* d_outputs, const std::vector<RnnState<Real>>* d_final,
                Mat<Real>* dx, std::vector<RnnState<Real>>* d_initial) const;

  // One time step (unidirectional stacks only; throws otherwise): x (I × B), prev one state per
  // layer (H × B; empty = zeros). Overwrites next (one per layer); next.back().h is the output.
  void step_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                    const std::vector<RnnState<Real>>& prev, std::vector<RnnState<Real>>& next,
                    RnnStackStepCache<Real>& cache, bool training, Rng& rng) const;
  // step_forward with layer 0's input projection W_ih x (G·H × B) given instead of x (decoding
  // with projected-embedding tables, rnn_seq2seq.hpp). Inference only (no step_backward).
  void step_forward_projected(const ParameterStore<Real>& params, const Mat<Real>& gx0,
                              const std::vector<RnnState<Real>>& prev,
                              std::vector<RnnState<Real>>& next, RnnStackStepCache<Real>& cache,
                              bool training, Rng& rng) const;
  // d_next: one per layer (empty = 0) or nullptr; d_output (H × B) is added to the top layer's
  // d_next.h (either may be absent). Adds into parameter gradients, dx (I × B) and d_prev.
  void step_backward(ParameterStore<Real>& params, RnnStackStepCache<Real>& cache,
                     const Mat<Real>* d_output, const std::vector<RnnState<Real>>* d_next,
                     Mat<Real>* dx, std::vector<RnnState<Real>>* d_prev) const;

  const RnnStackConfig& config() const { return config_; }
  uword num_layers() const { return layers_.size(); }
  uword output_size() const { return layers_.back().output_size(); }
  const RnnLayer<Real>& layer(uword l) const { return layers_.at(l); }

 private:
  // The single step over every layer; layer 0 from x, or from its projection gx0 when given.
  void step_layers(const ParameterStore<Real>& params, const Mat<Real>* x, const Mat<Real>* gx0,
                   const std::vector<RnnState<Real>>& prev, std::vector<RnnState<Real>>& next,
                   RnnStackStepCache<Real>& cache, bool training, Rng& rng) const;

  RnnStackConfig config_;
  std::vector<RnnLayer<Real>> layers_;
  Dropout<Real> dropout_;
};

}  // namespace s2s
