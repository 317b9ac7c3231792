#include "s2s/rnn/rnn_stack.hpp"

#include <stdexcept>

namespace s2s {

template <typename Real>
RnnStack<Real>::RnnStack(ParamLayout& layout, const std::string& name,
                         const RnnStackConfig& config)
    : config_(config), dropout_(config.dropout) {
  if (config.num_layers == 0 || config.input_size == 0 || config.hidden_size == 0)
    throw std::invalid_argument("rnn stack " + name +
                                ": input_size, hidden_size and num_layers must be positive");
  const uword directions = config.bidirectional ? 2 : 1;
  layers_.reserve(config.num_layers);
  for (uword l = 0; l < config.num_layers; ++l)
    layers_.emplace_back(layout, name + ".layer" + std::to_string(l), config.cell,
                         l == 0 ? config.input_size : directions * config.hidden_size,
                         config.hidden_size, config.bidirectional);
}

template <typename Real>
void RnnStack<Real>::init(ParameterStore<Real>& params, Rng& rng) const {
  for (const RnnLayer<Real>& layer : layers_) layer.init(params, rng);
}

template <typename Real>
void RnnStack<Real>::forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                             const std::vector<uword>& lengths,
                             const std::vector<RnnState<Real>>* initial, Mat<Real>& outputs,
                             std::vector<RnnState<Real>>& final_states,
                             RnnStackCache<Real>& cache, bool training, Rng& rng) const {
  const uword N = layers_.size();
  if (initial != nullptr && initial->size() != N)
    throw std::invalid_argument("rnn stack: " + std::to_string(initial->size()) +
                                " initial states for " + std::to_string(N) + " layers");
  cache.layers.resize(N);
  cache.inputs.resize(N);
  cache.dropouts.resize(N);
  cache.outputs.resize(N);
  final_states.resize(N);
  for (uword l = 0; l < N; ++l) {
    const Mat<Real>& input = l == 0 ? x : cache.inputs[l];
    Mat<Real>& output = l + 1 == N ? outputs : cache.outputs[l];
    layers_[l].forward(params, input, lengths, initial != nullptr ? &(*initial)[l] : nullptr,
                       output, final_states[l], cache.layers[l]);
    if (l + 1 < N)
      dropout_.forward(output, cache.inputs[l + 1], cache.dropouts[l + 1], training, rng);
  }
}

template <typename Real>
void RnnStack<Real>::backward(ParameterStore<Real>& params, const Mat<Real>& x,
                              RnnStackCache<Real>& cache, const Mat<Real>* d_outputs,
                              const std::vector<RnnState<Real>>* d_final, Mat<Real>* dx,
                              std::vector<RnnState<Real>>* d_initial) const {
  const uword N = layers_.size();
  if (cache.layers.size() != N)
    throw std::invalid_argument("rnn stack backward: the cache does not come from forward");
  if (d_final != nullptr && d_final->size() != N)
    throw std::invalid_argument("rnn stack: " + std::to_string(d_final->size()) +
                                " final-state gradients for " + std::to_string(N) + " layers");
  if (d_initial != nullptr) d_initial->resize(N);
  Mat<Real> d_input, d_below;  // ∂L/∂(layer l's input), ∂L/∂y_{l−1}
  const Mat<Real>* d_out = d_outputs;
  for (uword l = N; l-- > 0;) {
    const Mat<Real>& input = l == 0 ? x : cache.inputs[l];
    Mat<Real>* d_in = dx;
    if (l > 0) {
      d_input.zeros(arma::size(input));
      d_in = &d_input;
    }
    layers_[l].backward(params, input, cache.layers[l], d_out,
                        d_final != nullptr ? &(*d_final)[l] : nullptr, d_in,
                        d_initial != nullptr ? &(*d_initial)[l] : nullptr);
    if (l > 0) {
      d_below.zeros(arma::size(input));
      dropout_.backward(d_input, cache.dropouts[l], d_below);
      d_out = &d_below;
    }
  }
}

template <typename Real>
void RnnStack<Real>::step_forward(const ParameterStore<Real>& params, const Mat<Real>& x,
                                  const std::vector<RnnState<Real>>& prev,
                                  std::vector<RnnState<Real>>& next,
                                  RnnStackStepCache<Real>& cache, bool training,
                                  Rng& rng) const {
  step_layers(params, &x, nullptr, prev, next, cache, training, rng);
}

template <typename Real>
void RnnStack<Real>::step_forward_projected(const ParameterStore<Real>& params,
                                            const Mat<Real>& gx0,
                                            const std::vector<RnnState<Real>>& prev,
                                            std::vector<RnnState<Real>>& next,
                                            RnnStackStepCache<Real>& cache, bool training,
                                            Rng& rng) const {
  step_layers(params, nullptr, &gx0, prev, next, cache, training, rng);
}

template <typename Real>
void RnnStack<Real>::step_layers(const ParameterStore<Real>& params, const Mat<Real>* x,
                                 const Mat<Real>* gx0, const std::vector<RnnState<Real>>& prev,
                                 std::vector<RnnState<Real>>& next, RnnStackStepCache<Real>& cache,
                                 bool training, Rng& rng) const {
  if (config_.bidirectional)
    throw std::invalid_argument("rnn stack: the single-step API needs a unidirectional stack");
  const uword N = layers_.size();
  if (prev.size() != N)
    throw std::invalid_argument("rnn stack step: " + std::to_string(prev.size()) +
                                " states for " + std::to_string(N) + " layers");
  cache.cells.resize(N);
  cache.dropouts.resize(N);
  next.resize(N);
  for (uword l = 0; l < N; ++l) {
    // The cell keeps its input in cache.cells[l].x; dropout writes layer l's input there directly.
    if (l > 0)
      dropout_.forward(next[l - 1].h, cache.cells[l].x, cache.dropouts[l], training, rng);
    if (l == 0 && gx0 != nullptr)
      layers_[0].cell(0).step_forward_projected(params, *gx0, prev[0], next[0], cache.cells[0]);
    else
      layers_[l].cell(0).step_forward(params, l == 0 ? *x : cache.cells[l].x, prev[l], next[l],
                                      cache.cells[l]);
  }
}

template <typename Real>
void RnnStack<Real>::step_backward(ParameterStore<Real>& params, RnnStackStepCache<Real>& cache,
                                   const Mat<Real>* d_output,
                                   const std::vector<RnnState<Real>>* d_next, Mat<Real>* dx,
                                   std::vector<RnnState<Real>>* d_prev) const {
  const uword N = layers_.size();
  if (cache.cells.size() != N)
    throw std::invalid_argument("rnn stack step backward: the cache does not come from forward");
  if (d_next != nullptr && d_next->size() != N)
    throw std::invalid_argument("rnn stack step: " + std::to_string(d_next->size()) +
                                " state gradients for " + std::to_string(N) + " layers");
  if (d_prev != nullptr) d_prev->resize(N);
  const uword H = config_.hidden_size, B = cache.cells[0].x.n_cols;
  const bool lstm = config_.cell == RnnCellType::kLstm;
  RnnState<Real>& d = cache.d_state;
  if (d_output != nullptr)
    d.h = *d_output;
  else
    d.h.zeros(H, B);
  for (uword l = N; l-- > 0;) {
    // d.h holds what reaches layer l's new h from above; add the state's own gradient.
    if (d_next != nullptr && !(*d_next)[l].h.is_empty()) d.h += (*d_next)[l].h;
    if (lstm && d_next != nullptr && !(*d_next)[l].c.is_empty())
      d.c = (*d_next)[l].c;
    else if (lstm)
      d.c.zeros(H, B);
    Mat<Real>* d_in = dx;
    if (l > 0) {
      cache.d_input.zeros(H, B);
      d_in = &cache.d_input;
    }
    layers_[l].cell(0).step_backward(params, cache.cells[l], d, d_in,
                                     d_prev != nullptr ? &(*d_prev)[l] : nullptr);
    if (l > 0) {
      d.h.zeros(H, B);
      dropout_.backward(cache.d_input, cache.dropouts[l], d.h);
    }
  }
}

template class RnnStack<float>;
template class RnnStack<double>;

}  // namespace s2s
