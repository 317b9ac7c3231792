#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "rnn_test_util.hpp"
#include "s2s/rnn/rnn_stack.hpp"

using namespace s2s;
using namespace s2s::testing;

namespace {

RnnStackConfig small_config(RnnCellType cell, bool bidirectional, double dropout) {
  RnnStackConfig config;
  config.cell = cell;
  config.input_size = PaddedBatch::kInput;
  config.hidden_size = PaddedBatch::kHidden;
  config.num_layers = 2;
  config.bidirectional = bidirectional;
  config.dropout = dropout;
  return config;
}

// 2-layer stack, dropout 0.3 active, padded batch: every parameter, x and both layers' initial
// states. The dropout Rng is reseeded identically for every loss evaluation (same masks).
void check_stack_gradients(RnnCellType cell, bool bidirectional) {
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = pb.kHidden, D = bidirectional ? 2 : 1;
  const bool lstm = cell == RnnCellType::kLstm;
  ParamLayout layout;
  RnnStack<double> stack(layout, "enc", small_config(cell, bidirectional, 0.3));
  ParameterStore<double> store(std::move(layout));
  Rng init_rng(11);
  stack.init(store, init_rng);
  arma::mat x = random_matrix(pb.kInput, T * B, 51);
  std::vector<RnnState<double>> initial = formula_initial(2, D, H, B, lstm);
  const arma::mat R = random_matrix(D * H, T * B, 52);
  std::vector<RnnState<double>> d_final(2);
  for (uword l = 0; l < 2; ++l) {
    d_final[l].h = random_matrix(D * H, B, 53 + l);
    if (lstm) d_final[l].c = random_matrix(D * H, B, 55 + l);
  }
  auto run = [&](arma::mat& outputs, std::vector<RnnState<double>>& final_states,
                 RnnStackCache<double>& cache) {
    Rng dropout_rng(77);
    stack.forward(store, x, pb.lengths, &initial, outputs, final_states, cache, true,
                  dropout_rng);
  };
  auto loss = [&] {
    arma::mat outputs;
    std::vector<RnnState<double>> final_states;
    RnnStackCache<double> cache;
    run(outputs, final_states, cache);
    double value = arma::accu(R % outputs);
    for (uword l = 0; l < 2; ++l) {
      value += arma::accu(d_final[l].h % final_states[l].h);
      if (lstm) value += arma::accu(d_final[l].c % final_states[l].c);
    }
    return value;
  };
  arma::mat outputs, dx;
  std::vector<RnnState<double>> final_states, d_initial;
  RnnStackCache<double> cache;
  run(outputs, final_states, cache);
  REQUIRE(arma::any(arma::vectorise(cache.dropouts[1].scale) == 0.0));  // dropout really active
  check_padding_is_zero(outputs, pb.lengths, "outputs");
  store.zero_grad();
  stack.backward(store, x, cache, &R, &d_final, &dx, &d_initial);
  check_padding_is_zero(dx, pb.lengths, "dx");
  check_parameter_gradients(store, loss);
  check_input_gradient("x", x, dx, loss);
  for (uword l = 0; l < 2; ++l) {
    INFO("layer " << l);
    check_input_gradient("initial.h", initial[l].h, d_initial[l].h, loss);
    if (lstm) check_input_gradient("initial.c", initial[l].c, d_initial[l].c, loss);
  }
}

// The step API over T steps equals the sequence API (eval mode, unidirectional, no padding).
void check_stack_step_equals_sequence(RnnCellType cell) {
  const uword T = 4, B = 3, H = PaddedBatch::kHidden, L = 2;
  const bool lstm = cell == RnnCellType::kLstm;
  const RnnStackConfig config = small_config(cell, false, 0.5);
  ParamLayout layout_a, layout_b;
  RnnStack<double> stack(layout_a, "dec", config);
  RnnStack<double> stepper(layout_b, "dec", config);
  ParameterStore<double> store_a(std::move(layout_a)), store_b(std::move(layout_b));
  Rng rng(13);
  stack.init(store_a, rng);
  store_b.values() = store_a.values();
  const arma::mat x = random_matrix(config.input_size, T * B, 61);
  const std::vector<RnnState<double>> initial = formula_initial(L, 1, H, B, lstm);
  const arma::mat R = random_matrix(H, T * B, 62);
  std::vector<RnnState<double>> d_final(L);
  for (uword l = 0; l < L; ++l) {
    d_final[l].h = random_matrix(H, B, 63 + l);
    if (lstm) d_final[l].c = random_matrix(H, B, 65 + l);
  }

  arma::mat outputs, dx_sequence;
  std::vector<RnnState<double>> final_states, d_initial_sequence;
  RnnStackCache<double> cache;
  stack.forward(store_a, x, std::vector<uword>(B, T), &initial, outputs, final_states, cache,
                false, rng);
  stack.backward(store_a, x, cache, &R, &d_final, &dx_sequence, &d_initial_sequence);

  std::vector<std::vector<RnnState<double>>> states(T + 1);
  std::vector<RnnStackStepCache<double>> step_caches(T);
  states[0] = initial;
  for (uword t = 0; t < T; ++t) {
    stepper.step_forward(store_b, step_view(x, t, B), states[t], states[t + 1], step_caches[t],
                         false, rng);
    CHECK(arma::approx_equal(states[t + 1].back().h, step_view(outputs, t, B), "absdiff", 1e-13));
  }
  for (uword l = 0; l < L; ++l) {
    CHECK(arma::approx_equal(states[T][l].h, final_states[l].h, "absdiff", 1e-13));
    if (lstm) CHECK(arma::approx_equal(states[T][l].c, final_states[l].c, "absdiff", 1e-13));
  }

  arma::mat dx_steps(config.input_size, T * B);
  std::vector<RnnState<double>> d_state = d_final;
  for (uword t = T; t-- > 0;) {
    const arma::mat d_output = step_view(R, t, B);
    std::vector<RnnState<double>> d_prev;
    arma::mat dx_t;
    stepper.step_backward(store_b, step_caches[t], &d_output, &d_state, &dx_t, &d_prev);
    step_view(dx_steps, t, B) = dx_t;
    d_state = d_prev;
  }
  CHECK(arma::approx_equal(store_a.grads(), store_b.grads(), "absdiff", 1e-12));
  CHECK(arma::approx_equal(dx_sequence, dx_steps, "absdiff", 1e-12));
  for (uword l = 0; l < L; ++l) {
    CHECK(arma::approx_equal(d_initial_sequence[l].h, d_state[l].h, "absdiff", 1e-12));
    if (lstm) CHECK(arma::approx_equal(d_initial_sequence[l].c, d_state[l].c, "absdiff", 1e-12));
  }
}

// The step API with dropout active, unrolled over 3 steps: L = Σ_t R_t ⊙ output_t + Σ_l S_l ⊙ h_l.
void check_stack_step_gradients(RnnCellType cell) {
  const uword T = 3, B = 2, H = PaddedBatch::kHidden, L = 2;
  const bool lstm = cell == RnnCellType::kLstm;
  const RnnStackConfig config = small_config(cell, false, 0.4);
  ParamLayout layout;
  RnnStack<double> stack(layout, "dec", config);
  ParameterStore<double> store(std::move(layout));
  Rng init_rng(17);
  stack.init(store, init_rng);
  arma::mat x = random_matrix(config.input_size, T * B, 71);
  std::vector<RnnState<double>> initial = formula_initial(L, 1, H, B, lstm);
  const arma::mat R = random_matrix(H, T * B, 72);
  std::vector<RnnState<double>> d_final(L);
  for (uword l = 0; l < L; ++l) d_final[l].h = random_matrix(H, B, 73 + l);

  std::vector<std::vector<RnnState<double>>> states(T + 1);
  std::vector<RnnStackStepCache<double>> caches(T);
  auto run = [&] {
    Rng dropout_rng(79);
    states[0] = initial;
    for (uword t = 0; t < T; ++t)
      stack.step_forward(store, step_view(x, t, B), states[t], states[t + 1], caches[t], true,
                         dropout_rng);
  };
  auto loss = [&] {
    run();
    double value = 0;
    for (uword t = 0; t < T; ++t) value += arma::accu(step_view(R, t, B) % states[t + 1].back().h);
    for (uword l = 0; l < L; ++l) value += arma::accu(d_final[l].h % states[T][l].h);
    return value;
  };
  run();
  REQUIRE(arma::any(arma::vectorise(caches[0].dropouts[1].scale) == 0.0));
  store.zero_grad();
  arma::mat dx(config.input_size, T * B);
  std::vector<RnnState<double>> d_state = d_final;
  for (uword t = T; t-- > 0;) {
    const arma::mat d_output = step_view(R, t, B);
    std::vector<RnnState<double>> d_prev;
    arma::mat dx_t;
    stack.step_backward(store, caches[t], &d_output, &d_state, &dx_t, &d_prev);
    step_view(dx, t, B) = dx_t;
    d_state = d_prev;
  }
  check_parameter_gradients(store, loss);
  check_input_gradient("x", x, dx, loss);
  for (uword l = 0; l < L; ++l) {
    INFO("layer " << l);
    check_input_gradient("initial.h", initial[l].h, d_state[l].h, loss);
    if (lstm) check_input_gradient("initial.c", initial[l].c, d_state[l].c, loss);
  }
}

}  // namespace

TEST_CASE("RNN stack parameter names map to PyTorch's", "[rnn_stack]") {
  ParamLayout layout;
  RnnStack<float> stack(layout, "encoder", small_config(RnnCellType::kGru, true, 0.0));
  const std::vector<std::string> expected = {
      "encoder.layer0.fwd.weight_ih", "encoder.layer0.fwd.weight_hh",
      "encoder.layer0.fwd.bias_ih",   "encoder.layer0.fwd.bias_hh",
      "encoder.layer0.bwd.weight_ih", "encoder.layer0.bwd.weight_hh",
      "encoder.layer0.bwd.bias_ih",   "encoder.layer0.bwd.bias_hh",
      "encoder.layer1.fwd.weight_ih", "encoder.layer1.fwd.weight_hh",
      "encoder.layer1.fwd.bias_ih",   "encoder.layer1.fwd.bias_hh",
      "encoder.layer1.bwd.weight_ih", "encoder.layer1.bwd.weight_hh",
      "encoder.layer1.bwd.bias_ih",   "encoder.layer1.bwd.bias_hh"};
  REQUIRE(layout.entries().size() == expected.size());
  for (uword p = 0; p < expected.size(); ++p) CHECK(layout.entries()[p].name == expected[p]);
  CHECK(layout.entry(layout.find("encoder.layer1.fwd.weight_ih")).cols == 4);  // 2H from below
  CHECK(stack.output_size() == 4);
}

TEST_CASE("RNN stack rejects bad configurations", "[rnn_stack]") {
  ParamLayout layout;
  CHECK_THROWS_AS(RnnStack<float>(layout, "a", small_config(RnnCellType::kGru, false, 1.0)),
                  std::invalid_argument);
  RnnStackConfig no_layers = small_config(RnnCellType::kGru, false, 0.0);
  no_layers.num_layers = 0;
  CHECK_THROWS_AS(RnnStack<float>(layout, "b", no_layers), std::invalid_argument);
  CHECK_THROWS_WITH(parse_rnn_cell_type("rnn"),
                    "Unknown RNN cell type: rnn. Valid options: gru, lstm");
  CHECK(parse_rnn_cell_type("lstm") == RnnCellType::kLstm);

  RnnStack<double> bi(layout, "c", small_config(RnnCellType::kGru, true, 0.0));
  ParameterStore<double> store(std::move(layout));
  std::vector<RnnState<double>> prev(2), next;
  RnnStackStepCache<double> cache;
  Rng rng(1);
  CHECK_THROWS_AS(bi.step_forward(store, arma::mat(3, 2, arma::fill::zeros), prev, next, cache,
                                  false, rng),
                  std::invalid_argument);
}

TEST_CASE("RNN stack rejects lengths outside [1, T]", "[rnn_stack]") {
  ParamLayout layout;
  RnnStack<double> stack(layout, "enc", small_config(RnnCellType::kLstm, false, 0.0));
  ParameterStore<double> store(std::move(layout));
  arma::mat outputs;
  std::vector<RnnState<double>> final_states;
  RnnStackCache<double> cache;
  Rng rng(1);
  const arma::mat x(3, 6, arma::fill::zeros);  // T = 3, B = 2
  CHECK_THROWS_AS(stack.forward(store, x, {3, 0}, nullptr, outputs, final_states, cache, false,
                                rng),
                  std::invalid_argument);
  CHECK_THROWS_AS(stack.forward(store, x, {4, 2}, nullptr, outputs, final_states, cache, false,
                                rng),
                  std::invalid_argument);
}

// Generated once by: /usr/bin/python3 tests/reference/rnn_reference.py (torch 1.13, float64),
// section "TorchLstmStack": nn.LSTM(3, 2, num_layers=2, bidirectional=True) on a packed batch,
// lengths {4, 2, 3}.
TEST_CASE("RNN stack: 2-layer bidirectional LSTM matches PyTorch", "[rnn_stack]") {
  // (4 x 12)
  const std::vector<double> kTorchLstmStackOutputs = {
      0.08365813353005, -0.0441440967245612, -0.295128902960971, -0.161376252439493,
      0.0719281561436001, -0.0704385901084736, -0.237496377789677, -0.17661534428641,
      0.0611599557382605, -0.0741711923067281, -0.238166541961898, -0.18168965355873,
      0.0819042590519907, -0.0889651426787252, -0.282960960407756, -0.157949950165242,
      0.0784547786754954, -0.0967730709408484, -0.191112245356794, -0.19252734269557,
      0.0776932287136736, -0.0838035229345314, -0.207607095551806, -0.170123454826001,
      0.0817043329045445, -0.117153022699921, -0.254502780518691, -0.165476660125446, 0, 0, 0,
      0, 0.0844736286778461, -0.0859908145714822, -0.169817078505398, -0.173246633336451,
      0.0818447308163461, -0.13029637482254, -0.205042713860306, -0.19553798829117, 0, 0, 0,
      0, 0, 0, 0, 0
  };
  // 2 layer(s) of (4 x 3)
  const std::vector<double> kTorchLstmStackFinalH = {
      -0.434465032797427, -0.109188740114543, 0.209782668367526, 0.14892037254682,
      -0.394556579881799, -0.25007482153913, 0.228688802713941, 0.149365235333431,
      -0.328236183449234, -0.375370452297828, 0.181674174086831, 0.184712880695554,
      0.0818447308163461, -0.13029637482254, -0.295128902960971, -0.161376252439493,
      0.0784547786754954, -0.0967730709408484, -0.237496377789677, -0.17661534428641,
      0.0844736286778461, -0.0859908145714822, -0.238166541961898, -0.18168965355873
  };
  // 2 layer(s) of (4 x 3)
  const std::vector<double> kTorchLstmStackFinalC = {
      -0.822490917948538, -0.153285748384925, 0.374252245774819, 0.405327580503975,
      -0.795847114508395, -0.362927725064034, 0.353680288212462, 0.357481533630297,
      -0.853145132200335, -0.673202041864646, 0.256855310690001, 0.369416656192716,
      0.234232292686117, -0.346082698667541, -0.596421025715869, -0.26237918035502,
      0.217768358660164, -0.248813312967422, -0.474544073046995, -0.295855591290983,
      0.227050115687311, -0.222599737472877, -0.492191490173145, -0.310283481322969
  };
  const PaddedBatch pb;
  const uword T = pb.kSteps, B = pb.kBatch, H = pb.kHidden;
  ParamLayout layout;
  RnnStack<double> stack(layout, "enc", small_config(RnnCellType::kLstm, true, 0.0));
  ParameterStore<double> store(std::move(layout));
  set_formula_parameters(store);
  const arma::mat x = formula_inputs(T, B, pb.kInput);
  const std::vector<RnnState<double>> initial = formula_initial(2, 2, H, B, true);
  arma::mat outputs;
  std::vector<RnnState<double>> final_states;
  RnnStackCache<double> cache;
  Rng rng(1);
  stack.forward(store, x, pb.lengths, &initial, outputs, final_states, cache, true, rng);
  CHECK(arma::approx_equal(outputs, reference_block(kTorchLstmStackOutputs, 2 * H, T * B),
                           "absdiff", 1e-13));
  for (uword l = 0; l < 2; ++l) {
    INFO("layer " << l);
    CHECK(arma::approx_equal(final_states[l].h,
                             reference_block(kTorchLstmStackFinalH, 2 * H, B, l), "absdiff",
                             1e-13));
    CHECK(arma::approx_equal(final_states[l].c,
                             reference_block(kTorchLstmStackFinalC, 2 * H, B, l), "absdiff",
                             1e-13));
  }
}

TEST_CASE("RNN stack gradients match finite differences with dropout active",
          "[rnn_stack][gradcheck]") {
  SECTION("GRU unidirectional") { check_stack_gradients(RnnCellType::kGru, false); }
  SECTION("GRU bidirectional") { check_stack_gradients(RnnCellType::kGru, true); }
  SECTION("LSTM unidirectional") { check_stack_gradients(RnnCellType::kLstm, false); }
  SECTION("LSTM bidirectional") { check_stack_gradients(RnnCellType::kLstm, true); }
}

TEST_CASE("RNN stack single-step API equals the sequence API", "[rnn_stack]") {
  SECTION("GRU") { check_stack_step_equals_sequence(RnnCellType::kGru); }
  SECTION("LSTM") { check_stack_step_equals_sequence(RnnCellType::kLstm); }
}

TEST_CASE("RNN stack single-step gradients match finite differences with dropout active",
          "[rnn_stack][gradcheck]") {
  SECTION("GRU") { check_stack_step_gradients(RnnCellType::kGru); }
  SECTION("LSTM") { check_stack_step_gradients(RnnCellType::kLstm); }
}
