#pragma once
// Learning-rate schedules. lr(step) for step = 1, 2, ... (the step about to be taken):
//
//   constant  lr
//   step      lr · factor^⌊(step − 1) / every⌋
//   plateau   lr · factor^k, k = decays so far; a decay happens after `patience` validations
//             in a row without improvement of the validation metric (as ReduceLROnPlateau)
//   noam      lr · min(step / warmup, √(warmup / step)): linear warm-up to the peak lr at
//             step = warmup, then inverse square root decay (Vaswani et al. 2017, with the peak
//             given directly instead of d_model^-0.5)
//   cosine    linear warm-up to lr at step = warmup, then min_lr + (lr − min_lr) · (1 + cos πp) / 2
//             with p = (step − warmup) / (total − warmup), then min_lr from step = total on
//             (Loshchilov & Hutter 2017 without restarts)
//   linear    the same warm-up, then lr − (lr − min_lr) · p, then min_lr
//
// cosine and linear spend a known budget of `total` steps: the rate reaches min_lr at its end
// whatever the validations say.
//
// The schedule's whole state is (decays, bad_validations, best); it goes into checkpoints.
#include <string>

namespace s2s {

// ScheduleConfig::kind, parsed once by the schedule's constructor.
enum class ScheduleKind { kConstant, kStep, kPlateau, kNoam, kCosine, kLinear };
// Throws std::invalid_argument listing the valid kinds.
ScheduleKind parse_schedule_kind(const std::string& name);

struct ScheduleConfig {
  std::string kind = "constant";  // constant | step | plateau | noam | cosine | linear
  double lr = 1e-3;
  double factor = 0.5;
  int every = 1000;
  int patience = 2;
  int warmup = 4000;  // noam: >= 1; cosine and linear: >= 0 (0: no warm-up)
  long total = 0;     // cosine and linear: the step at which the rate reaches min_lr (> warmup)
  double min_lr = 0.0;
};

class LearningRateSchedule {
 public:
  // Throws std::invalid_argument on an unknown kind, or when cosine or linear have no
  // 0 <= warmup < total.
  explicit LearningRateSchedule(const ScheduleConfig& config);

  double lr(long step) const;
  // Reports a validation result (lower is better: pass −metric for higher-is-better metrics).
  void report_validation(double value);

  struct State {
    int decays = 0;
    int bad_validations = 0;
    double best = 0.0;
    bool has_best = false;
  };
  const State& state() const { return state_; }
  void set_state(const State& state) { state_ = state; }

 private:
  ScheduleConfig config_;
  ScheduleKind kind_;
  State state_;
};

}  // namespace s2s
