#include <catch2/catch.hpp>

#include "gradcheck.hpp"
#include "rnn_test_util.hpp"
#include "s2s/rnn/rnn_layer.hpp"

using namespace s2s;
using namespace s2s::testing;

TEST_CASE("LSTM 1-unit forward matches the equations worked by hand", "[lstm]") {
  // I = H = 1, B = 1, T = 2, x = (1, −1), h0 = 0.5, c0 = −0.5.
  // weight_ih = [W_ii; W_if; W_ig; W_io] = [0.5; −0.5; 1; 2], weight_hh = [1; 0.5; −1; 0.25],
  // bias_ih = [0; 1; 0; 0], bias_hh = [0.1; 0; 0.2; −0.3].
  // t = 0: a = (0.5 + 0.5 + 0.1, −0.5 + 1 + 0.25, 1 − 0.5 + 0.2, 2 + 0.125 − 0.3)
  //          = (1.1, 0.75, 0.7, 1.825)
  //        i = 0.7502601055951177  f = 0.679178699175393  g = 0.6043677771171636
  //        o = 0.8611650064526928
  //        c1 = f · (−0.5) + i g = 0.11384368269051326   h1 = o tanh(c1) = 0.09761684240707391
  // t = 1: a = (−0.5 + h1 + 0.1, 0.5 + 1 + 0.5 h1, −1 − h1 + 0.2, −2 + 0.25 h1 − 0.3)
  //        i = 0.42497500411895284  f = 0.8247415642030305  g = −0.7151354873467655
  //        o = 0.09316437574654467
  //        c2 = f c1 + i g = −0.21002308974399364   h2 = o tanh(c2) = −0.019283963735053526
  ParamLayout layout;
  LstmLayer<double> lstm(layout, "lstm", 1, 1);
  ParameterStore<double> store(std::move(layout));
  const RnnCell<double>& cell = lstm.cell(0);
  store.value(cell.weight_ih_id()) = arma::vec{0.5, -0.5, 1, 2};
  store.value(cell.weight_hh_id()) = arma::vec{1, 0.5, -1, 0.25};
  store.value(cell.bias_ih_id()) = arma::vec{0, 1, 0, 0};
  store.value(cell.bias_hh_id()) = arma::vec{0.1, 0, 0.2, -0.3};
  const arma::mat x = {{1.0, -1.0}};
  const RnnState<double> initial{arma::mat{0.5}, arma::mat{-0.5}};
  arma::mat outputs;
  RnnState<double> final_state;
  RnnLayerCache<double> cache;
  lstm.forward(store, x, {2}, &initial, outputs, final_state, cache);
  const arma::mat expected = {{0.09761684240707391, -0.019283963735053526}};
  CHECK(arma::approx_equal(outputs, expected, "absdiff", 1e-15));
  CHECK(final_state.h(0, 0) == Approx(-0.019283963735053526).margin(1e-15));
  CHECK(final_state.c(0, 0) == Approx(-0.21002308974399364).margin(1e-15));
}

TEST_CASE("LSTM parameters have PyTorch names and shapes", "[lstm]") {
  ParamLayout layout;
  LstmLayer<float> lstm(layout, "decoder.layer1", 6, 4);
  CHECK(layout.entry(layout.find("decoder.layer1.weight_ih")).rows == 16);
  CHECK(layout.entry(layout.find("decoder.layer1.weight_ih")).cols == 6);
  CHECK(layout.entry(layout.find("decoder.layer1.weight_hh")).cols == 4);
  CHECK(layout.entry(layout.find("decoder.layer1.bias_ih")).rows == 16);
  CHECK(layout.entry(layout.find("decoder.layer1.bias_hh")).rows == 16);
  CHECK(layout.entries().size() == 4);
  CHECK(lstm.output_size() == 4);
}

TEST_CASE("LSTM init is U(-1/sqrt(H), 1/sqrt(H)) like PyTorch", "[lstm]") {
  ParamLayout layout;
  LstmLayer<double> lstm(layout, "lstm", 8, 16, true);
  ParameterStore<double> store(std::move(layout));
  Rng rng(1);
  lstm.init(store, rng);
  const arma::vec& values = store.values();
  CHECK(values.max() <= 0.25);
  CHECK(values.min() >= -0.25);
  CHECK(values.max() > 0.24);   // the whole range is used
  CHECK(values.min() < -0.24);
}

// Generated once by: /usr/bin/python3 tests/reference/rnn_reference.py (torch 1.13, float64),
// section "TorchLstm": nn.LSTM(3, 2, bidirectional=True) on a packed batch, lengths {4, 2, 3}.
TEST_CASE("LSTM bidirectional packed batch matches PyTorch", "[lstm]") {
  // (4 x 12)
  const std::vector<double> kTorchLstmOutputs = {
      -0.291646148677925, -0.00991033413807873, 0.209782668367526, 0.14892037254682,
      -0.290401918282899, -0.157136332799229, 0.228688802713941, 0.149365235333431,
      -0.195509955423076, -0.219945122029478, 0.181674174086831, 0.184712880695554,
      -0.366801129846353, -0.0190720657554487, 0.216055395181067, 0.146549565362245,
      -0.394556579881799, -0.25007482153913, 0.205392291187432, 0.147166805395618,
      -0.308341977936806, -0.351601776148864, 0.15240240742102, 0.18507566686211,
      -0.40981148217819, -0.0530780543007162, 0.217998583015196, 0.144481434150638, 0, 0, 0,
      0, -0.328236183449234, -0.375370452297828, 0.138165424284255, 0.162608428165424,
      -0.434465032797427, -0.109188740114543, 0.198803023619313, 0.1455962126173, 0, 0, 0, 0,
      0, 0, 0, 0
  };
  // 1 layer(s) of (4 x 3)
  const std::vector<double> kTorchLstmFinalH = {
      -0.434465032797427, -0.109188740114543, 0.209782668367526, 0.14892037254682,
      -0.394556579881799, -0.25007482153913, 0.228688802713941, 0.149365235333431,
      -0.328236183449234, -0.375370452297828, 0.181674174086831, 0.184712880695554
  };
  // 1 layer(s) of (4 x 3)
  const std::vector<double> kTorchLstmFinalC = {
      -0.822490917948538, -0.153285748384925, 0.374252245774819, 0.405327580503975,
      -0.795847114508395, -0.362927725064034, 0.353680288212462, 0.357481533630297,
      -0.853145132200335, -0.673202041864646, 0.256855310690001, 0.369416656192716
  };
  check_torch_reference(RnnCellType::kLstm, kTorchLstmOutputs, kTorchLstmFinalH,
                        &kTorchLstmFinalC);
}

TEST_CASE("LSTM padded batch equals each sequence alone", "[lstm]") {
  SECTION("unidirectional") { check_batch_equals_single_sequences(RnnCellType::kLstm, false); }
  SECTION("bidirectional") { check_batch_equals_single_sequences(RnnCellType::kLstm, true); }
}

TEST_CASE("LSTM gradients match finite differences on a padded batch", "[lstm][gradcheck]") {
  SECTION("unidirectional") { check_rnn_layer_gradients(RnnCellType::kLstm, false); }
  SECTION("bidirectional") { check_rnn_layer_gradients(RnnCellType::kLstm, true); }
}

TEST_CASE("LSTM single-step API equals the layer loop", "[lstm]") {
  check_step_equals_layer(RnnCellType::kLstm);
}

TEST_CASE("LSTM in float agrees with LSTM in double", "[lstm]") {
  check_float_matches_double(RnnCellType::kLstm);
}
