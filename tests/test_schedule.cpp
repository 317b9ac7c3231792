#include <catch2/catch.hpp>

#include "s2s/training/schedule.hpp"

using namespace s2s;

TEST_CASE("Learning-rate schedules follow their formulas", "[schedule]") {
  ScheduleConfig c;
  c.lr = 0.1;
  c.factor = 0.5;
  c.every = 10;
  c.warmup = 100;

  c.kind = "constant";
  CHECK(LearningRateSchedule(c).lr(12345) == Approx(0.1));

  c.kind = "step";
  LearningRateSchedule step(c);
  CHECK(step.lr(1) == Approx(0.1));
  CHECK(step.lr(10) == Approx(0.1));
  CHECK(step.lr(11) == Approx(0.05));
  CHECK(step.lr(31) == Approx(0.0125));

  c.kind = "noam";
  LearningRateSchedule noam(c);
  CHECK(noam.lr(1) == Approx(0.001));   // 0.1 · 1/100
  CHECK(noam.lr(50) == Approx(0.05));   // warm-up is linear
  CHECK(noam.lr(100) == Approx(0.1));   // the peak
  CHECK(noam.lr(400) == Approx(0.05));  // 0.1 · √(100/400)
}

TEST_CASE("Plateau schedule decays after `patience` validations without improvement",
          "[schedule]") {
  ScheduleConfig c;
  c.kind = "plateau";
  c.lr = 1.0;
  c.factor = 0.5;
  c.patience = 2;
  LearningRateSchedule s(c);
  s.report_validation(3.0);
  s.report_validation(2.0);  // improvement
  s.report_validation(2.5);  // bad 1
  CHECK(s.lr(10) == Approx(1.0));
  s.report_validation(2.1);  // bad 2: decay
  CHECK(s.lr(10) == Approx(0.5));
  s.report_validation(1.0);  // improvement resets
  s.report_validation(1.5);
  CHECK(s.lr(10) == Approx(0.5));
  CHECK_THROWS_WITH(LearningRateSchedule(ScheduleConfig{"cosine"}),
                    Catch::Contains("Valid options: constant, step, plateau, noam"));
}
