#include "s2s/training/weight_averaging.hpp"

#include <stdexcept>

#include "s2s/training/param_io.hpp"

namespace s2s {

void ParameterEma::update(const arma::fvec& values) {
  const float d = static_cast<float>(decay_), rest = static_cast<float>(1.0 - decay_);
  float* a = average_.memptr();
  const float* theta = values.memptr();
  for (uword i = 0; i < average_.n_elem; ++i) a[i] = d * a[i] + rest * theta[i];
}

Checkpoint average_checkpoints(const std::vector<Checkpoint>& checkpoints) {
  if (checkpoints.empty()) throw std::runtime_error("no checkpoints to average");
  const std::string prefix = kParameterKeyPrefix;
  const Checkpoint& first = checkpoints.front();
  Checkpoint average;
  average.texts = first.texts;
  for (const auto& [key, tensor] : first.tensors) {
    if (key.compare(0, prefix.size(), prefix) != 0) continue;
    std::vector<double> sum(tensor.data.begin(), tensor.data.end());
    for (std::size_t k = 1; k < checkpoints.size(); ++k) {
      const auto it = checkpoints[k].tensors.find(key);
      if (it == checkpoints[k].tensors.end() || it->second.rows != tensor.rows ||
          it->second.cols != tensor.cols || it->second.data.size() != tensor.data.size())
        throw std::runtime_error("checkpoint " + std::to_string(k + 1) + " has no " +
                                 key.substr(prefix.size()) + " of the shape of the first's");
      for (std::size_t i = 0; i < sum.size(); ++i) sum[i] += it->second.data[i];
    }
    TensorRecord mean{tensor.rows, tensor.cols, std::vector<float>(sum.size())};
    const double k = static_cast<double>(checkpoints.size());
    for (std::size_t i = 0; i < sum.size(); ++i) mean.data[i] = static_cast<float>(sum[i] / k);
    average.tensors[key] = std::move(mean);
  }
  for (std::size_t k = 1; k < checkpoints.size(); ++k) {
    std::size_t params = 0;
    for (const auto& [key, tensor] : checkpoints[k].tensors)
      params += key.compare(0, prefix.size(), prefix) == 0;
    if (params != average.tensors.size())
      throw std::runtime_error("checkpoint " + std::to_string(k + 1) + " holds " +
                               std::to_string(params) + " parameters, the first " +
                               std::to_string(average.tensors.size()));
  }
  return average;
}

}  // namespace s2s
