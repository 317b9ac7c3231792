// Micro-benchmark of one GRU and one LSTM layer, forward + backward, in float:
// batch 64, input 128, hidden 256, 20 steps (no padding). Prints the median time per iteration
// after warm-up and the achieved GFLOP/s of the GEMM work (the elementwise gate maths is not
// counted). Usage: bench_rnn [runs] (default 15).
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

#include "s2s/core/blas_setup.hpp"
#include "s2s/rnn/rnn_layer.hpp"

namespace {

using Clock = std::chrono::steady_clock;

constexpr s2s::uword kBatch = 64, kInput = 128, kHidden = 256, kSteps = 20;
constexpr int kWarmup = 3;

double median(std::vector<double> values) {
  std::sort(values.begin(), values.end());
  const size_t n = values.size();
  return n % 2 == 1 ? values[n / 2] : 0.5 * (values[n / 2 - 1] + values[n / 2]);
}

double elapsed_ms(Clock::time_point start) {
  return std::chrono::duration<double, std::milli>(Clock::now() - start).count();
}

void bench_layer(s2s::RnnCellType type, bool bidirectional, int runs) {
  using Real = float;
  s2s::ParamLayout layout;
  s2s::RnnLayer<Real> layer(layout, "rnn", type, kInput, kHidden, bidirectional);
  s2s::ParameterStore<Real> params(std::move(layout));
  s2s::Rng rng(1);
  layer.init(params, rng);

  const s2s::uword D = layer.directions();
  s2s::Mat<Real> x(kInput, kSteps * kBatch), d_outputs(D * kHidden, kSteps * kBatch);
  rng.fill_uniform(x, -1.0, 1.0);
  rng.fill_uniform(d_outputs, -1.0, 1.0);
  const std::vector<s2s::uword> lengths(kBatch, kSteps);
  s2s::Mat<Real> outputs, dx;
  s2s::RnnState<Real> final_state, d_initial;
  s2s::RnnLayerCache<Real> cache;

  std::vector<double> forward_ms, backward_ms, total_ms;
  for (int run = 0; run < kWarmup + runs; ++run) {
    params.zero_grad();
    dx.zeros(kInput, kSteps * kBatch);
    const auto start = Clock::now();
    layer.forward(params, x, lengths, nullptr, outputs, final_state, cache);
    const double forward = elapsed_ms(start);
    const auto middle = Clock::now();
    layer.backward(params, x, cache, &d_outputs, nullptr, &dx, &d_initial);
    const double backward = elapsed_ms(middle);
    if (run < kWarmup) continue;
    forward_ms.push_back(forward);
    backward_ms.push_back(backward);
    total_ms.push_back(forward + backward);
  }

  // GEMM flops: forward W_ih X and W_hh h_t; backward dW_ih, dX, dW_hh and W_hhᵀ dG_h each as much.
  const double G = static_cast<double>(s2s::rnn_gate_count(type));
  const double forward_flops = 2.0 * G * kHidden * (kInput + kHidden) * kSteps * kBatch * D;
  const double total_flops = 3.0 * forward_flops;
  const double total = median(total_ms);
  std::printf("%-4s %-4s  forward %7.2f ms  backward %7.2f ms  total %7.2f ms  %6.1f GFLOP/s\n",
              s2s::to_string(type).c_str(), bidirectional ? "bi" : "uni", median(forward_ms),
              median(backward_ms), total, total_flops / (total * 1e-3) / 1e9);
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  const int runs = argc > 1 ? std::max(1, std::atoi(argv[1])) : 15;
  std::printf("bench_rnn: float, batch %llu, input %llu, hidden %llu, steps %llu; median of %d "
              "runs after %d warm-up\n",
              static_cast<unsigned long long>(kBatch), static_cast<unsigned long long>(kInput),
              static_cast<unsigned long long>(kHidden), static_cast<unsigned long long>(kSteps),
              runs, kWarmup);
  std::printf("BLAS: %s\n", s2s::blas_description().c_str());
  for (s2s::RnnCellType type : {s2s::RnnCellType::kGru, s2s::RnnCellType::kLstm})
    for (bool bidirectional : {false, true}) bench_layer(type, bidirectional, runs);
  return 0;
}
