#pragma once
// Parameters and optimizer state <-> checkpoint tensors. Parameters are stored under
// "param/<layout name>", optimizer buffers under "optim/<buffer name>", so a checkpoint is
// readable without the model class, and loading checks every name and shape.
#include "s2s/core/checkpoint.hpp"
#include "s2s/core/params.hpp"
#include "s2s/training/optim.hpp"

namespace s2s {

// The key prefix of parameter tensors in a checkpoint.
inline constexpr const char* kParameterKeyPrefix = "param/";

void save_parameters(const ParameterStore<float>& params, Checkpoint& checkpoint);
// Throws std::runtime_error naming the first missing, extra or mis-shaped parameter.
void load_parameters(const Checkpoint& checkpoint, ParameterStore<float>& params);

void save_optimizer(const Optimizer<float>& optimizer, Checkpoint& checkpoint);
void load_optimizer(const Checkpoint& checkpoint, Optimizer<float>& optimizer);

}  // namespace s2s
