#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "rnn_test_util.hpp"
#include "s2s/rnn/rnn_layer.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("GRU 1-unit forward matches the equations worked by hand", "[gru]") {
  // I = H = 1, B = 1, T = 2, x = (1, −1), h0 = 0.5.
  // weight_ih = [W_ir; W_iz; W_in] = [0.5; −1; 2], weight_hh = [1; 0.5; −0.5],
  // bias_ih = [0; 0.5; 0], bias_hh = [0.1; 0; 0.5].
  // t = 0: a_r = 0.5 + 0.5 + 0.1 = 1.1            r = σ(1.1)   = 0.7502601055951177
  //        a_z = −1 + 0.5 + 0.25 = −0.25          z = σ(−0.25) = 0.43782349911420193
  //        hn = −0.25 + 0.5 = 0.25                a_n = 2 + r · 0.25 = 2.1875650263987794
  //        n = tanh(a_n) = 0.9751398914348269     h1 = (1 − z) n + z · 0.5 = 0.767112481598089
  // t = 1: a_r = −0.5 + h1 + 0.1 = 0.36711248159808896            r = 0.5907610683608617
  //        a_z = 1 + 0.5 + 0.5 h1 = 1.8835562407990445            z = 0.8680190698609903
  //        hn = −0.5 h1 + 0.5 = 0.11644375920095551   a_n = −2 + r · hn = −1.9312095604104886
  //        n = −0.9588310613313705                     h2 = (1 − z) n + z h1 = 0.5393208474348411
  ParamLayout layout;
  GruLayer<double> gru(layout, "gru", 1, 1);
  ParameterStore<double> store(std::move(layout));
  const RnnCell<double>& cell = gru.cell(0);
  store.value(cell.weight_ih_id()) = arma::vec{0.5, -1, 2};
  store.value(cell.weight_hh_id()) = arma::vec{1, 0.5, -0.5};
  store.value(cell.bias_ih_id()) = arma::vec{0, 0.5, 0};
  store.value(cell.bias_hh_id()) = arma::vec{0.1, 0, 0.5};
  const arma::mat x = {{1.0, -1.0}};
  const RnnState<double> initial{arma::mat{0.5}, arma::mat()};
  arma::mat outputs;
  RnnState<double> final_state;
  RnnLayerCache<double> cache;
  gru.forward(store, x, {2}, &initial, outputs, final_state, cache);
  const arma::mat expected = {{0.767112481598089, 0.5393208474348411}};
  CHECK(arma::approx_equal(outputs, expected, "absdiff", 1e-15));
  CHECK(final_state.h(0, 0) == Approx(0.5393208474348411).margin(1e-15));
  CHECK(final_state.c.is_empty());
}

TEST_CASE("GRU parameters have PyTorch names and shapes", "[gru]") {
  ParamLayout layout;
  GruLayer<float> gru(layout, "encoder.layer0", 5, 7, /*bidirectional=*/true);
  for (const char* dir : {"fwd", "bwd"}) {
    const std::string prefix = std::string("encoder.layer0.") + dir;
    CHECK(layout.entry(layout.find(prefix + ".weight_ih")).rows == 21);
    CHECK(layout.entry(layout.find(prefix + ".weight_ih")).cols == 5);
    CHECK(layout.entry(layout.find(prefix + ".weight_hh")).cols == 7);
    CHECK(layout.entry(layout.find(prefix + ".bias_ih")).rows == 21);
    CHECK(layout.entry(layout.find(prefix + ".bias_hh")).rows == 21);
  }
  CHECK(layout.entries().size() == 8);
  CHECK(gru.output_size() == 14);
}

// Generated once by: /usr/bin/python3 tests/reference/rnn_reference.py (torch 1.13, float64),
// section "TorchGru": nn.GRU(3, 2, bidirectional=True) on a packed batch, lengths {4, 2, 3}.
TEST_CASE("GRU bidirectional packed batch matches PyTorch", "[gru]") {
  // (4 x 12)
  const std::vector<double> kTorchGruOutputs = {
      -0.248077158451722, 0.00393862262744991, 0.534308282072466, 0.513022820063566,
      -0.338842912409757, -0.295056448659011, 0.434202900583276, 0.511769323269765,
      -0.393894232617696, -0.448334410971763, 0.259198979215155, 0.602784922470067,
      -0.432409435808169, -0.0312271176123157, 0.529205642991103, 0.510024276066837,
      -0.509688913143828, -0.378790894042657, 0.232501976563233, 0.315281291246976,
      -0.487977678880491, -0.532211771497492, 0.154378880840936, 0.523518906417755,
      -0.527686045169183, -0.0813185396732043, 0.473324483127197, 0.445685864982299, 0, 0, 0,
      0, -0.51618290928883, -0.557246439234025, 0.0438090735543998, 0.381974098292711,
      -0.586001741576266, -0.158146719136389, 0.308679961291481, 0.26017589700156, 0, 0, 0, 0,
      0, 0, 0, 0
  };
  // 1 layer(s) of (4 x 3)
  const std::vector<double> kTorchGruFinalH = {
      -0.586001741576266, -0.158146719136389, 0.534308282072466, 0.513022820063566,
      -0.509688913143828, -0.378790894042657, 0.434202900583276, 0.511769323269765,
      -0.51618290928883, -0.557246439234025, 0.259198979215155, 0.602784922470067
  };
  check_torch_reference(RnnCellType::kGru, kTorchGruOutputs, kTorchGruFinalH, nullptr);
}

TEST_CASE("GRU padded batch equals each sequence alone", "[gru]") {
  SECTION("unidirectional") { check_batch_equals_single_sequences(RnnCellType::kGru, false); }
  SECTION("bidirectional") { check_batch_equals_single_sequences(RnnCellType::kGru, true); }
}

TEST_CASE("GRU gradients match finite differences on a padded batch", "[gru][gradcheck]") {
  SECTION("unidirectional") { check_rnn_layer_gradients(RnnCellType::kGru, false); }
  SECTION("bidirectional") { check_rnn_layer_gradients(RnnCellType::kGru, true); }
}

TEST_CASE("GRU single-step API equals the layer loop", "[gru]") {
  check_step_equals_layer(RnnCellType::kGru);
}

TEST_CASE("GRU in float agrees with GRU in double", "[gru]") {
  check_float_matches_double(RnnCellType::kGru);
}
