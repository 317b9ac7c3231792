#include <catch2/catch.hpp>

#include <cmath>

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
  CHECK_THROWS_WITH(LearningRateSchedule(ScheduleConfig{"exponential"}),
                    Catch::Contains("Valid options: constant, step, plateau, noam, cosine, linear"));
}

TEST_CASE("Cosine and linear schedules warm up, decay to min_lr at `total`, then stay",
          "[schedule]") {
  ScheduleConfig c;
  c.lr = 0.1;
  c.min_lr = 0.01;
  c.warmup = 10;
  c.total = 110;

  c.kind = "cosine";
  LearningRateSchedule cosine(c);
  CHECK(cosine.lr(1) == Approx(0.01));           // 0.1 · 1/10
  CHECK(cosine.lr(5) == Approx(0.05));           // warm-up is linear
  CHECK(cosine.lr(10) == Approx(0.1));           // the peak
  CHECK(cosine.lr(35) == Approx(0.01 + 0.09 * 0.5 * (1 + std::cos(3.141592653589793 / 4))));
  CHECK(cosine.lr(60) == Approx(0.055));         // halfway: the mean of lr and min_lr
  CHECK(cosine.lr(110) == Approx(0.01));         // the end
  CHECK(cosine.lr(1000) == Approx(0.01));        // and after it
  for (long s = 11; s <= 110; ++s) CHECK(cosine.lr(s) < cosine.lr(s - 1));

  c.kind = "linear";
  LearningRateSchedule linear(c);
  CHECK(linear.lr(5) == Approx(0.05));
  CHECK(linear.lr(35) == Approx(0.1 - 0.09 * 0.25));
  CHECK(linear.lr(60) == Approx(0.055));
  CHECK(linear.lr(110) == Approx(0.01));
  CHECK(linear.lr(111) == Approx(0.01));

  // No warm-up: the decay starts at the first step from the full rate.
  c.warmup = 0;
  c.min_lr = 0.0;
  c.total = 100;
  CHECK(LearningRateSchedule(c).lr(1) == Approx(0.1 * 0.99));
  c.kind = "cosine";
  CHECK(LearningRateSchedule(c).lr(50) == Approx(0.05));
  CHECK(LearningRateSchedule(c).lr(100) == Approx(0.0).margin(1e-12));

  // A budget no longer than the warm-up is refused, naming both.
  c.warmup = 100;
  CHECK_THROWS_WITH(LearningRateSchedule(c), Catch::Contains("warm-up steps (100) < total steps (100)"));
  c.warmup = 0;
  c.total = 0;
  CHECK_THROWS_WITH(LearningRateSchedule(c), Catch::Contains("total steps (0)"));
}
