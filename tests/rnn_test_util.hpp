#pragma once
// Shared by test_gru.cpp, test_lstm.cpp and test_rnn_stack.cpp: the closed-form parameters and
// inputs of tests/reference/rnn_reference.py, and the checks every cell type goes through.
#include <catch2/catch.hpp>

#include <cmath>
#include <vector>

#include "gradcheck.hpp"
#include "s2s/rnn/rnn_layer.hpp"

namespace s2s::testing {

// Parameter p (layout order = PyTorch named_parameters() order), entry (r, c):
// 0.4 · sin(0.9 r + 1.7 c + 0.5 p).
inline void set_formula_parameters(ParameterStore<double>& store) {
  const auto& entries = store.layout().entries();
  for (uword p = 0; p < entries.size(); ++p) {
    arma::mat& value = store.value(ParamId{p});
    for (uword r = 0; r < value.n_rows; ++r)
      for (uword c = 0; c < value.n_cols; ++c)
        value(r, c) = 0.4 * std::sin(0.9 * r + 1.7 * c + 0.5 * p);
  }
}

// x (I × T·B): x(i, t·B + b) = sin(0.3 t + 1.1 b + 0.5 i).
inline arma::mat formula_inputs(uword steps, uword batch, uword input) {
  arma::mat x(input, steps * batch);
  for (uword t = 0; t < steps; ++t)
    for (uword b = 0; b < batch; ++b)
      for (uword i = 0; i < input; ++i) x(i, t * batch + b) = std::sin(0.3 * t + 1.1 * b + 0.5 * i);
  return x;
}

// One state per layer, (D·H × B); PyTorch index d = layer·D + direction:
// h = 0.2 · cos(0.6 j + 1.3 b + 2 d),  c = 0.3 · sin(0.8 j + 0.4 b + d) (LSTM only).
inline std::vector<RnnState<double>> formula_initial(uword layers, uword directions,
                                                     uword hidden, uword batch, bool lstm) {
  std::vector<RnnState<double>> states(layers);
  for (uword l = 0; l < layers; ++l) {
    states[l].h.set_size(directions * hidden, batch);
    if (lstm) states[l].c.set_size(directions * hidden, batch);
    for (uword dir = 0; dir < directions; ++dir)
      for (uword b = 0; b < batch; ++b)
        for (uword j = 0; j < hidden; ++j) {
          const double d = static_cast<double>(l * directions + dir);
          states[l].h(dir * hidden + j, b) = 0.2 * std::cos(0.6 * j + 1.3 * b + 2 * d);
          if (lstm) states[l].c(dir * hidden + j, b) = 0.3 * std::sin(0.8 * j + 0.4 * b + d);
        }
  }
  return states;
}

// A reference array printed by rnn_reference.py as column-major (rows × cols) blocks.
inline arma::mat reference_block(const std::vector<double>& values, uword rows, uword cols,
                                 uword block = 0) {
  REQUIRE(values.size() >= (block + 1) * rows * cols);
  return arma::mat(values.data() + block * rows * cols, rows, cols);
}

// Every column t·B + b with t ≥ lengths[b] is exactly zero.
inline void check_padding_is_zero(const arma::mat& m, const std::vector<uword>& lengths,
                                  const char* what) {
  const uword batch = lengths.size();
  for (uword col = 0; col < m.n_cols; ++col) {
    if (col / batch < lengths[col % batch]) continue;
    INFO(what << " column " << col << " is a padded position");
    CHECK(arma::all(m.col(col) == 0.0));
  }
}

// The padded batch of the gradient checks: B = 3, T = 4, I = 3, H = 2.
struct PaddedBatch {
  static constexpr uword kSteps = 4, kBatch = 3, kInput = 3, kHidden = 2;
  std::vector<uword> lengths{4, 2, 3};
};

// Gradient check of one RnnLayer (uni or bi) on the padded batch, for every parameter, the input
// and the initial state, with L = Σ R ⊙ outputs + Σ S ⊙ h_final (+ Σ U ⊙ c_final); then again
// with d_outputs absent (L from the final state only) and with d_final absent.
inline void check_rnn_layer_gradients(RnnCellType type, bool bidirectional) {
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = pb.kHidden, D = bidirectional ? 2 : 1;
  const bool lstm = type == RnnCellType::kLstm;
  ParamLayout layout;
  RnnLayer<double> layer(layout, "enc", type, pb.kInput, H, bidirectional);
  ParameterStore<double> store(std::move(layout));
  Rng rng(3);
  layer.init(store, rng);
  arma::mat x = random_matrix(pb.kInput, T * B, 21);
  RnnState<double> initial = formula_initial(1, D, H, B, lstm)[0];
  const arma::mat R = random_matrix(D * H, T * B, 22);
  const arma::mat S = random_matrix(D * H, B, 23);
  const arma::mat U = random_matrix(D * H, B, 24);

  for (int variant = 0; variant < 3; ++variant) {
    const bool use_outputs = variant != 1, use_final = variant != 2;
    INFO("variant: d_outputs " << (use_outputs ? "given" : "absent") << ", d_final "
                               << (use_final ? "given" : "absent"));
    auto loss = [&] {
      arma::mat outputs;
      RnnState<double> final_state;
      RnnLayerCache<double> cache;
      layer.forward(store, x, pb.lengths, &initial, outputs, final_state, cache);
      double value = 0;
      if (use_outputs) value += arma::accu(R % outputs);
      if (use_final) value += arma::accu(S % final_state.h);
      if (use_final && lstm) value += arma::accu(U % final_state.c);
      return value;
    };
    arma::mat outputs;
    RnnState<double> final_state, d_final{S, lstm ? U : arma::mat()}, d_initial;
    RnnLayerCache<double> cache;
    layer.forward(store, x, pb.lengths, &initial, outputs, final_state, cache);
    check_padding_is_zero(outputs, pb.lengths, "outputs");
    store.zero_grad();
    arma::mat dx;
    layer.backward(store, x, cache, use_outputs ? &R : nullptr, use_final ? &d_final : nullptr,
                   &dx, &d_initial);
    check_padding_is_zero(dx, pb.lengths, "dx");
    check_parameter_gradients(store, loss);
    check_input_gradient("x", x, dx, loss);
    check_input_gradient("initial.h", initial.h, d_initial.h, loss);
    if (lstm) check_input_gradient("initial.c", initial.c, d_initial.c, loss);
  }
}

// A padded batch gives, column for column, what each sequence gives alone (B = 1, T = its
// length): the state freezes past the end and the reverse direction starts at the last token.
inline void check_batch_equals_single_sequences(RnnCellType type, bool bidirectional) {
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = pb.kHidden, D = bidirectional ? 2 : 1;
  const bool lstm = type == RnnCellType::kLstm;
  ParamLayout layout;
  RnnLayer<double> layer(layout, "enc", type, pb.kInput, H, bidirectional);
  ParameterStore<double> store(std::move(layout));
  Rng rng(5);
  layer.init(store, rng);
  const arma::mat x = random_matrix(pb.kInput, T * B, 31);
  const RnnState<double> initial = formula_initial(1, D, H, B, lstm)[0];
  arma::mat outputs;
  RnnState<double> final_state;
  RnnLayerCache<double> cache;
  layer.forward(store, x, pb.lengths, &initial, outputs, final_state, cache);
  for (uword b = 0; b < B; ++b) {
    const uword L = pb.lengths[b];
    arma::mat x_b(pb.kInput, L);
    for (uword t = 0; t < L; ++t) x_b.col(t) = x.col(t * B + b);
    const RnnState<double> initial_b{arma::mat(initial.h.col(b)),
                                     lstm ? arma::mat(initial.c.col(b)) : arma::mat()};
    arma::mat outputs_b;
    RnnState<double> final_b;
    RnnLayerCache<double> cache_b;
    layer.forward(store, x_b, {L}, &initial_b, outputs_b, final_b, cache_b);
    INFO("sequence " << b << " of length " << L);
    for (uword t = 0; t < L; ++t)
      CHECK(arma::approx_equal(outputs.col(t * B + b), outputs_b.col(t), "absdiff", 1e-13));
    CHECK(arma::approx_equal(final_state.h.col(b), final_b.h, "absdiff", 1e-13));
    if (lstm) CHECK(arma::approx_equal(final_state.c.col(b), final_b.c, "absdiff", 1e-13));
  }
}

// The single-step API run over T steps equals the unidirectional layer, forward and backward.
inline void check_step_equals_layer(RnnCellType type) {
  const uword T = 4, B = 3, I = 3, H = 2;
  const bool lstm = type == RnnCellType::kLstm;
  ParamLayout layout_a, layout_b;
  RnnLayer<double> layer(layout_a, "dec", type, I, H, false);
  RnnLayer<double> stepper(layout_b, "dec", type, I, H, false);
  ParameterStore<double> store_a(std::move(layout_a)), store_b(std::move(layout_b));
  Rng rng(9);
  layer.init(store_a, rng);
  store_b.values() = store_a.values();
  const arma::mat x = random_matrix(I, T * B, 41);
  const RnnState<double> initial = formula_initial(1, 1, H, B, lstm)[0];
  const arma::mat R = random_matrix(H, T * B, 42);
  const RnnState<double> d_final{random_matrix(H, B, 43), lstm ? random_matrix(H, B, 44)
                                                               : arma::mat()};

  arma::mat outputs, dx_layer;
  RnnState<double> final_state, d_initial_layer;
  RnnLayerCache<double> cache;
  const std::vector<uword> lengths(B, T);
  layer.forward(store_a, x, lengths, &initial, outputs, final_state, cache);
  layer.backward(store_a, x, cache, &R, &d_final, &dx_layer, &d_initial_layer);

  const RnnCell<double>& cell = stepper.cell(0);
  std::vector<RnnStepCache<double>> step_caches(T);
  std::vector<RnnState<double>> states(T + 1);
  states[0] = initial;
  for (uword t = 0; t < T; ++t) {
    cell.step_forward(store_b, step_view(x, t, B), states[t], states[t + 1], step_caches[t]);
    CHECK(arma::approx_equal(states[t + 1].h, step_view(outputs, t, B), "absdiff", 1e-13));
  }
  CHECK(arma::approx_equal(states[T].h, final_state.h, "absdiff", 1e-13));
  if (lstm) CHECK(arma::approx_equal(states[T].c, final_state.c, "absdiff", 1e-13));

  arma::mat dx_steps(I, T * B);
  RnnState<double> d_state = d_final;  // ∂L/∂(state after step t)
  for (uword t = T; t-- > 0;) {
    d_state.h += step_view(R, t, B);
    RnnState<double> d_prev;
    arma::mat dx_t;
    cell.step_backward(store_b, step_caches[t], d_state, &dx_t, &d_prev);
    step_view(dx_steps, t, B) = dx_t;
    d_state = d_prev;
  }
  CHECK(arma::approx_equal(store_a.grads(), store_b.grads(), "absdiff", 1e-12));
  CHECK(arma::approx_equal(dx_layer, dx_steps, "absdiff", 1e-12));
  CHECK(arma::approx_equal(d_initial_layer.h, d_state.h, "absdiff", 1e-12));
  if (lstm) CHECK(arma::approx_equal(d_initial_layer.c, d_state.c, "absdiff", 1e-12));
}

// The float layer (approximate activations, activations.hpp) agrees with the double one.
inline void check_float_matches_double(RnnCellType type) {
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = 8, I = 5;
  const bool lstm = type == RnnCellType::kLstm;
  ParamLayout layout_d, layout_f;
  RnnLayer<double> layer_d(layout_d, "enc", type, I, H, true);
  RnnLayer<float> layer_f(layout_f, "enc", type, I, H, true);
  ParameterStore<double> store_d(std::move(layout_d));
  ParameterStore<float> store_f(std::move(layout_f));
  Rng rng(19);
  layer_d.init(store_d, rng);
  store_d.values() *= 4.0;  // saturate some gates too
  store_f.values() = arma::conv_to<arma::fvec>::from(store_d.values());
  const arma::mat x = 2.0 * random_matrix(I, T * B, 91);
  const arma::mat R = random_matrix(2 * H, T * B, 92);
  arma::mat outputs_d, dx_d;
  arma::fmat outputs_f, dx_f;
  RnnState<double> final_d, d_initial_d;
  RnnState<float> final_f, d_initial_f;
  RnnLayerCache<double> cache_d;
  RnnLayerCache<float> cache_f;
  layer_d.forward(store_d, x, pb.lengths, nullptr, outputs_d, final_d, cache_d);
  layer_f.forward(store_f, arma::conv_to<arma::fmat>::from(x), pb.lengths, nullptr, outputs_f,
                  final_f, cache_f);
  CHECK(arma::approx_equal(arma::conv_to<arma::mat>::from(outputs_f), outputs_d, "absdiff",
                           1e-5));
  if (lstm)
    CHECK(arma::approx_equal(arma::conv_to<arma::mat>::from(final_f.c), final_d.c, "absdiff",
                             1e-5));
  layer_d.backward(store_d, x, cache_d, &R, nullptr, &dx_d, &d_initial_d);
  const arma::fmat R_f = arma::conv_to<arma::fmat>::from(R);
  layer_f.backward(store_f, arma::conv_to<arma::fmat>::from(x), cache_f, &R_f, nullptr, &dx_f,
                   &d_initial_f);
  CHECK(arma::approx_equal(arma::conv_to<arma::vec>::from(store_f.grads()), store_d.grads(),
                           "absdiff", 1e-4));
  CHECK(arma::approx_equal(arma::conv_to<arma::mat>::from(dx_f), dx_d, "absdiff", 1e-4));
}

// The PyTorch reference of rnn_reference.py for a 1-layer bidirectional layer.
inline void check_torch_reference(RnnCellType type, const std::vector<double>& outputs_ref,
                                  const std::vector<double>& final_h_ref,
                                  const std::vector<double>* final_c_ref) {
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = pb.kHidden;
  const bool lstm = type == RnnCellType::kLstm;
  ParamLayout layout;
  RnnLayer<double> layer(layout, "enc", type, pb.kInput, H, true);
  ParameterStore<double> store(std::move(layout));
  set_formula_parameters(store);
  const arma::mat x = formula_inputs(T, B, pb.kInput);
  const RnnState<double> initial = formula_initial(1, 2, H, B, lstm)[0];
  arma::mat outputs;
  RnnState<double> final_state;
  RnnLayerCache<double> cache;
  layer.forward(store, x, pb.lengths, &initial, outputs, final_state, cache);
  INFO("max |outputs - reference| = "
       << arma::abs(outputs - reference_block(outputs_ref, 2 * H, T * B)).max());
  CHECK(arma::approx_equal(outputs, reference_block(outputs_ref, 2 * H, T * B), "absdiff", 1e-13));
  CHECK(arma::approx_equal(final_state.h, reference_block(final_h_ref, 2 * H, B), "absdiff",
                           1e-13));
  if (final_c_ref != nullptr)
    CHECK(arma::approx_equal(final_state.c, reference_block(*final_c_ref, 2 * H, B), "absdiff",
                             1e-13));
}

}  // namespace s2s::testing
