#include "s2s/training/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

namespace s2s {

LearningRateSchedule::LearningRateSchedule(const ScheduleConfig& config) : config_(config) {
  const std::string& k = config.kind;
  if (k != "constant" && k != "step" && k != "plateau" && k != "noam")
    throw std::invalid_argument("Unknown learning-rate schedule: " + k +
                                ". Valid options: constant, step, plateau, noam");
}

double LearningRateSchedule::lr(long step) const {
  const double s = static_cast<double>(std::max<long>(step, 1));
  if (config_.kind == "step")
    return config_.lr * std::pow(config_.factor, std::floor((s - 1) / config_.every));
  if (config_.kind == "plateau") return config_.lr * std::pow(config_.factor, state_.decays);
  if (config_.kind == "noam") {
    const double warmup = config_.warmup;
    return config_.lr * std::min(s / warmup, std::sqrt(warmup / s));
  }
  return config_.lr;
}

void LearningRateSchedule::report_validation(double value) {
  if (!state_.has_best || value < state_.best) {
    state_.best = value;
    state_.has_best = true;
    state_.bad_validations = 0;
    return;
  }
  if (++state_.bad_validations >= config_.patience && config_.kind == "plateau") {
    ++state_.decays;
    state_.bad_validations = 0;
  }
}

}  // namespace s2s
