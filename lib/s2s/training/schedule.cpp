#include "s2s/training/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>
#include <string>

#include "s2s/core/choice.hpp"

namespace s2s {

namespace {
constexpr double kPi = 3.14159265358979323846;
}  // namespace

ScheduleKind parse_schedule_kind(const std::string& name) {
  return parse_choice<ScheduleKind>("learning-rate schedule", name,
      {{"constant", ScheduleKind::kConstant}, {"step", ScheduleKind::kStep},
       {"plateau", ScheduleKind::kPlateau}, {"noam", ScheduleKind::kNoam},
       {"cosine", ScheduleKind::kCosine}, {"linear", ScheduleKind::kLinear}});
}

LearningRateSchedule::LearningRateSchedule(const ScheduleConfig& config)
    : config_(config), kind_(parse_schedule_kind(config.kind)) {
  if ((kind_ == ScheduleKind::kCosine || kind_ == ScheduleKind::kLinear) &&
      !(config_.warmup >= 0 && config_.total > config_.warmup))
    throw std::invalid_argument(config.kind + " schedule: needs 0 <= warm-up steps (" +
                                std::to_string(config_.warmup) + ") < total steps (" +
                                std::to_string(config_.total) + ")");
}

double LearningRateSchedule::lr(long step) const {
  const double s = static_cast<double>(std::max<long>(step, 1));
  switch (kind_) {
    case ScheduleKind::kConstant:
      return config_.lr;
    case ScheduleKind::kStep:
      return config_.lr * std::pow(config_.factor, std::floor((s - 1) / config_.every));
    case ScheduleKind::kPlateau:
      return config_.lr * std::pow(config_.factor, state_.decays);
    case ScheduleKind::kNoam: {
      const double warmup = config_.warmup;
      return config_.lr * std::min(s / warmup, std::sqrt(warmup / s));
    }
    case ScheduleKind::kCosine:
    case ScheduleKind::kLinear: {
      const double warmup = config_.warmup;
      if (s < warmup) return config_.lr * s / warmup;
      const double p = std::min(1.0, (s - warmup) / static_cast<double>(config_.total - warmup));
      const double left = kind_ == ScheduleKind::kCosine ? 0.5 * (1.0 + std::cos(kPi * p))
                                                         : 1.0 - p;
      return config_.min_lr + (config_.lr - config_.min_lr) * left;
    }
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
  if (++state_.bad_validations >= config_.patience && kind_ == ScheduleKind::kPlateau) {
    ++state_.decays;
    state_.bad_validations = 0;
  }
}

}  // namespace s2s
