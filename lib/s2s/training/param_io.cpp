#include "s2s/training/param_io.hpp"

#include <stdexcept>

namespace s2s {

namespace {
const std::string kParamPrefix = kParameterKeyPrefix;
const std::string kOptimPrefix = "optim/";
}  // namespace

void save_parameters(const ParameterStore<float>& params, Checkpoint& checkpoint) {
  for (const ParamEntry& e : params.layout().entries()) {
    const float* begin = params.values().memptr() + e.offset;
    checkpoint.tensors[kParamPrefix + e.name] =
        TensorRecord{e.rows, e.cols, std::vector<float>(begin, begin + e.size())};
  }
}

void load_parameters(const Checkpoint& checkpoint, ParameterStore<float>& params) {
  std::size_t stored = 0;
  for (const auto& [key, tensor] : checkpoint.tensors)
    if (key.compare(0, kParamPrefix.size(), kParamPrefix) == 0) ++stored;
  if (stored != params.layout().entries().size())
    throw std::runtime_error("checkpoint holds " + std::to_string(stored) +
                             " parameters but the model has " +
                             std::to_string(params.layout().entries().size()));
  for (const ParamEntry& e : params.layout().entries()) {
    auto it = checkpoint.tensors.find(kParamPrefix + e.name);
    if (it == checkpoint.tensors.end())
      throw std::runtime_error("checkpoint has no parameter " + e.name);
    const TensorRecord& t = it->second;
    if (t.rows != e.rows || t.cols != e.cols || t.data.size() != e.size())
      throw std::runtime_error("parameter " + e.name + " is " + std::to_string(t.rows) + "x" +
                               std::to_string(t.cols) + " in the checkpoint but " +
                               std::to_string(e.rows) + "x" + std::to_string(e.cols) +
                               " in the model");
    std::copy(t.data.begin(), t.data.end(), params.values().memptr() + e.offset);
  }
}

void save_optimizer(const Optimizer<float>& optimizer, Checkpoint& checkpoint) {
  const OptimizerState<float>& state = optimizer.state();
  checkpoint.texts["optim.name"] = optimizer.name();
  checkpoint.scalars["optim.step"] = static_cast<double>(state.step);
  for (const auto& [name, buffer] : state.buffers)
    checkpoint.tensors[kOptimPrefix + name] =
        TensorRecord{buffer.n_elem, 1, std::vector<float>(buffer.begin(), buffer.end())};
}

void load_optimizer(const Checkpoint& checkpoint, Optimizer<float>& optimizer) {
  if (checkpoint.text("optim.name") != optimizer.name())
    throw std::runtime_error("checkpoint was trained with optimizer " +
                             checkpoint.text("optim.name") + ", not " + optimizer.name());
  OptimizerState<float> state;
  state.step = static_cast<std::uint64_t>(checkpoint.scalar("optim.step"));
  for (const auto& [key, tensor] : checkpoint.tensors)
    if (key.compare(0, kOptimPrefix.size(), kOptimPrefix) == 0)
      state.buffers[key.substr(kOptimPrefix.size())] = arma::Col<float>(tensor.data);
  optimizer.set_state(state);
}

}  // namespace s2s
