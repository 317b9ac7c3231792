#include <catch2/catch.hpp>

#include <cmath>

#include "s2s/training/optim.hpp"

using namespace s2s;

namespace {

OptimizerConfig config_for(const std::string& name) {
  OptimizerConfig config;
  config.name = name;
  return config;
}

}  // namespace

TEST_CASE("clip_grad_norm scales to the max norm and returns the norm before", "[optim]") {
  arma::vec grads = {3.0, 0.0, -4.0};  // norm 5
  const double before = clip_grad_norm(grads, 1.0);
  CHECK(before == Approx(5.0).epsilon(1e-15));
  // As PyTorch: scaled by max_norm / (norm + 1e-6).
  CHECK(arma::norm(grads) == Approx(5.0 / (5.0 + 1e-6)).epsilon(1e-15));
  CHECK(arma::norm(grads) == Approx(1.0).epsilon(1e-6));
  CHECK(grads(0) / grads(2) == Approx(-0.75).epsilon(1e-15));

  arma::fvec small = {0.3f, -0.4f};  // norm 0.5 < 1: untouched
  const arma::fvec copy = small;
  CHECK(clip_grad_norm(small, 1.0) == Approx(0.5).epsilon(1e-7));
  CHECK(arma::all(small == copy));
  CHECK_THROWS_AS(clip_grad_norm(small, 0.0), std::invalid_argument);
}

TEST_CASE("SGD steps match hand computation", "[optim]") {
  SECTION("plain, with weight decay") {
    OptimizerConfig config = config_for("sgd");
    config.weight_decay = 0.1;
    auto sgd = make_optimizer<double>(config);
    arma::vec theta = {1.0, -2.0};
    sgd->step(theta, arma::vec{0.5, 0.0}, 0.1);
    // g' = g + λθ = (0.6, −0.2);  θ − η g'
    CHECK(theta(0) == Approx(1.0 - 0.1 * 0.6).epsilon(1e-15));
    CHECK(theta(1) == Approx(-2.0 + 0.1 * 0.2).epsilon(1e-15));
    CHECK(sgd->state().buffers.empty());
  }
  SECTION("momentum, two steps") {
    OptimizerConfig config = config_for("sgd");
    config.momentum = 0.9;
    auto sgd = make_optimizer<double>(config);
    arma::vec theta = {1.0};
    sgd->step(theta, arma::vec{0.5}, 0.1);  // b = 0.5, θ = 1 − 0.05
    CHECK(theta(0) == Approx(0.95).epsilon(1e-15));
    sgd->step(theta, arma::vec{-1.0}, 0.2);  // b = 0.45 − 1 = −0.55, θ = 0.95 + 0.11
    CHECK(theta(0) == Approx(1.06).epsilon(1e-15));
    CHECK(sgd->state().buffers.at("momentum_buffer")(0) == Approx(-0.55).epsilon(1e-15));
    CHECK(sgd->step_count() == 2);
  }
  SECTION("nesterov, two steps") {
    OptimizerConfig config = config_for("sgd");
    config.momentum = 0.5;
    config.nesterov = true;
    auto sgd = make_optimizer<double>(config);
    arma::vec theta = {0.0};
    sgd->step(theta, arma::vec{1.0}, 0.1);  // b = 1, d = 1 + 0.5 = 1.5, θ = −0.15
    CHECK(theta(0) == Approx(-0.15).epsilon(1e-15));
    sgd->step(theta, arma::vec{2.0}, 0.1);  // b = 2.5, d = 2 + 1.25 = 3.25, θ = −0.475
    CHECK(theta(0) == Approx(-0.475).epsilon(1e-15));
  }
}

TEST_CASE("Adam and AdamW steps match hand computation", "[optim]") {
  const double beta1 = 0.9, beta2 = 0.999, eps = 1e-8, lr = 0.01, wd = 0.1;
  const double theta0 = 2.0, g1 = 0.5, g2 = -1.0;
  for (bool decoupled : {false, true}) {
    OptimizerConfig config = config_for(decoupled ? "adamw" : "adam");
    config.weight_decay = wd;
    auto adam = make_optimizer<double>(config);
    CHECK(adam->name() == config.name);
    arma::vec theta = {theta0};

    // Step 1. Adam: g ← g + λθ. AdamW: θ ← θ(1 − ηλ).
    double expected = theta0;
    double g = decoupled ? g1 : g1 + wd * expected;
    if (decoupled) expected *= 1 - lr * wd;
    double m = (1 - beta1) * g, v = (1 - beta2) * g * g;
    expected -= lr / (1 - beta1) * m / (std::sqrt(v) / std::sqrt(1 - beta2) + eps);
    adam->step(theta, arma::vec{g1}, lr);
    CHECK(theta(0) == Approx(expected).epsilon(1e-14));

    // Step 2, with a different learning rate.
    const double lr2 = lr / 2;
    g = decoupled ? g2 : g2 + wd * expected;
    if (decoupled) expected *= 1 - lr2 * wd;
    m = beta1 * m + (1 - beta1) * g;
    v = beta2 * v + (1 - beta2) * g * g;
    const double bc1 = 1 - beta1 * beta1, bc2 = 1 - beta2 * beta2;
    expected -= lr2 / bc1 * m / (std::sqrt(v) / std::sqrt(bc2) + eps);
    adam->step(theta, arma::vec{g2}, lr2);
    CHECK(theta(0) == Approx(expected).epsilon(1e-14));
    CHECK(adam->state().buffers.at("exp_avg")(0) == Approx(m).epsilon(1e-14));
    CHECK(adam->state().buffers.at("exp_avg_sq")(0) == Approx(v).epsilon(1e-14));
  }
}

TEST_CASE("Optimizers match torch.optim over three steps", "[optim]") {
  // From tests/reference/optim_reference.py (torch 1.13, float64).
  const arma::vec initial = {0.5, -1.0, 2.0, 0.0};
  const std::vector<arma::vec> grads = {
      {0.1, -0.2, 0.3, 0.0}, {-0.5, 0.4, 0.0, 1.0}, {0.05, 0.05, -0.05, 2.0}};
  const std::vector<double> lrs = {0.1, 0.05, 0.02};

  OptimizerConfig sgd = config_for("sgd");
  sgd.momentum = 0.9;
  sgd.weight_decay = 0.01;
  OptimizerConfig nesterov = sgd;
  nesterov.nesterov = true;
  OptimizerConfig adam = config_for("adam");
  adam.beta2 = 0.98;
  adam.eps = 1e-9;
  adam.weight_decay = 0.01;
  OptimizerConfig adamw = config_for("adamw");
  adamw.weight_decay = 0.1;

  const std::vector<std::pair<OptimizerConfig, arma::vec>> cases = {
      {sgd, {0.51563923395, -0.9934844679, 1.9476872368, -0.10799}},
      {nesterov,
       {0.52723410464804998, -0.99346986929610004, 1.9205867384511999, -0.18716390000000002}},
      {adam,
       {0.43703789702184082, -0.92329045007251043, 1.8543605392919229, -0.05347544973007605}},
      {adamw,
       {0.43005574329626894, -0.90909279111303154, 1.8253074346066465, -0.053703879415998426}},
  };
  for (const auto& [config, torch_result] : cases) {
    auto optimizer = make_optimizer<double>(config);
    arma::vec theta = initial;
    for (size_t s = 0; s < grads.size(); ++s) optimizer->step(theta, grads[s], lrs[s]);
    INFO(config.name << (config.nesterov ? " nesterov" : ""));
    CHECK(arma::approx_equal(theta, torch_result, "absdiff", 1e-13));

    auto optimizer_f = make_optimizer<float>(config);
    arma::fvec theta_f = arma::conv_to<arma::fvec>::from(initial);
    for (size_t s = 0; s < grads.size(); ++s)
      optimizer_f->step(theta_f, arma::conv_to<arma::fvec>::from(grads[s]), lrs[s]);
    CHECK(arma::approx_equal(arma::conv_to<arma::vec>::from(theta_f), torch_result, "absdiff",
                             1e-6));
  }
}

TEST_CASE("Optimizers treat the flat store buffer element-wise", "[optim]") {
  // A store with two parameters steps exactly as each parameter would on its own.
  ParamLayout layout;
  const ParamId a = layout.add("a.weight", 2, 2);
  const ParamId b = layout.add("b.bias", 3, 1);
  ParameterStore<double> store(std::move(layout));
  store.values() = arma::linspace<arma::vec>(-1, 1, 7);
  store.grads() = arma::linspace<arma::vec>(0.5, -0.3, 7);
  const arma::vec a_value = arma::vectorise(store.value(a)), b_value = store.value(b);
  const arma::vec a_grad = arma::vectorise(store.grad(a)), b_grad = store.grad(b);
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    OptimizerConfig config = config_for(name);
    config.momentum = 0.9;
    config.weight_decay = 0.05;
    store.values() = arma::join_cols(a_value, b_value);
    auto whole = make_optimizer<double>(config);
    whole->step(store, 0.1);
    whole->step(store, 0.1);
    arma::vec a_alone = a_value, b_alone = b_value;
    auto opt_a = make_optimizer<double>(config), opt_b = make_optimizer<double>(config);
    for (int s = 0; s < 2; ++s) {
      opt_a->step(a_alone, a_grad, 0.1);
      opt_b->step(b_alone, b_grad, 0.1);
    }
    INFO(name);
    CHECK(arma::all(arma::vectorise(store.value(a)) == a_alone));
    CHECK(arma::all(store.value(b) == b_alone));
  }
}

TEST_CASE("Optimizer state round-trips for exact resume", "[optim]") {
  const arma::vec g1 = {0.1, -0.2, 0.3}, g2 = {-0.4, 0.5, 0.0}, g3 = {1.0, 1.0, -1.0};
  for (const std::string name : {"sgd", "adam", "adamw"}) {
    OptimizerConfig config = config_for(name);
    config.momentum = 0.9;
    config.weight_decay = 0.01;
    auto straight = make_optimizer<double>(config);
    arma::vec theta = {1.0, 2.0, 3.0};
    straight->step(theta, g1, 0.1);
    straight->step(theta, g2, 0.1);
    const OptimizerState<double> saved = straight->state();
    const arma::vec theta_saved = theta;
    straight->step(theta, g3, 0.1);

    auto resumed = make_optimizer<double>(config);
    resumed->set_state(saved);
    CHECK(resumed->step_count() == 2);
    arma::vec theta_resumed = theta_saved;
    resumed->step(theta_resumed, g3, 0.1);
    INFO(name);
    CHECK(arma::all(theta_resumed == theta));
  }
  // Wrong buffers are refused.
  auto adam = make_optimizer<double>(config_for("adam"));
  OptimizerState<double> bad;
  bad.buffers["momentum_buffer"] = arma::vec(3, arma::fill::zeros);
  CHECK_THROWS_AS(adam->set_state(bad), std::invalid_argument);
  bad.buffers.clear();
  bad.buffers["exp_avg"] = arma::vec(3, arma::fill::zeros);
  bad.buffers["exp_avg_sq"] = arma::vec(4, arma::fill::zeros);
  CHECK_THROWS_AS(adam->set_state(bad), std::invalid_argument);
  // A state of another size than the parameters is refused at the step.
  bad.buffers["exp_avg_sq"] = arma::vec(3, arma::fill::zeros);
  adam->set_state(bad);
  arma::vec theta(5, arma::fill::zeros);
  CHECK_THROWS_AS(adam->step(theta, arma::vec(5, arma::fill::zeros), 0.1), std::invalid_argument);
}

TEST_CASE("make_optimizer lists the valid names", "[optim]") {
  CHECK_THROWS_WITH(make_optimizer<float>(config_for("adagrad")),
                    "Unknown optimizer: adagrad. Valid options: sgd, adam, adamw");
  OptimizerConfig config = config_for("sgd");
  config.nesterov = true;  // without momentum
  CHECK_THROWS_AS(make_optimizer<float>(config), std::invalid_argument);
  config = config_for("adam");
  config.beta1 = 1.0;
  CHECK_THROWS_AS(make_optimizer<float>(config), std::invalid_argument);
}
