#include "s2s/training/schedule.hpp"

#include <algorithm>
#include <cmath>
#include <stdexcept>

#include "s2s/core/choice.hpp"

namespace s2s {

ScheduleKind parse_schedule_kind(const std::string& name) {
  return parse_choice<ScheduleKind>("learning-rate schedule", name,
      {{"constant", ScheduleKind::kConstant}, {"step", ScheduleKind::kStep},
       {"plateau", ScheduleKind::kPlateau}, {"noam", ScheduleKind::kNoam}});
}

LearningRateSchedule::LearningRateSchedule(const ScheduleConfig& config)
    : config_(config), kind_(parse_schedule_kind(config.kind)) {}

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
