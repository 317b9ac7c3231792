#pragma once
// Generated tasks, deterministic functions of their seed, as ParallelText (write_parallel_tsv
// writes them as "source<TAB>target").
//
//   reverse  "3 17 5"  -> "5 17 3"      tokens: integers in [min_token, max_token], space-separated
//   copy     "3 17 5"  -> "3 17 5"      lengths uniform in [min_length, max_length]
//   sort     "3 17 5"  -> "3 5 17"      ascending numeric order
//   date     "march 3rd, 1999" -> "1999-03-03"   uniform dates in [min_year-01-01,
//            max_year-12-31], each rendered in one of the DateFormats drawn uniformly
//
// The reverse benchmark (as in Joey NMT's generate_reverse_task): tokens 0–49; train 50,000 pairs
// of lengths 1–25; dev and test 1,000 pairs each of lengths 1–30 (longer than any training one).
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "s2s/data/parallel_data.hpp"

namespace s2s {

enum class SyntheticTask { kReverse, kCopy, kSort, kDate };

// "reverse" | "copy" | "sort" | "date"; otherwise throws
// std::invalid_argument("Unknown task: X. Valid options: reverse, copy, sort, date").
SyntheticTask parse_synthetic_task(std::string_view name);
std::string synthetic_task_name(SyntheticTask task);

struct SyntheticConfig {
  SyntheticTask task = SyntheticTask::kReverse;
  std::size_t count = 1000;
  std::uint64_t seed = 1;
  int min_token = 0;  // reverse / copy / sort
  int max_token = 49;
  std::size_t min_length = 1;
  std::size_t max_length = 25;
  int min_year = 1900;  // date
  int max_year = 2099;
};

// Throws std::invalid_argument on an empty token, length or year range.
ParallelText generate_synthetic(const SyntheticConfig& config);

// The reverse benchmark split "train", "dev" or "test" (seeds 1, 2, 3).
SyntheticConfig reverse_benchmark(std::string_view split);

struct Date {
  int year;
  int month;  // 1..12
  int day;    // 1..31
};

enum class DateFormat {
  kMonthOrdinalYear,    // march 3rd, 1999
  kDayMonthYear,        // 3 march 1999
  kSlashMonthDayYear,   // 03/03/1999  (month first, as in the US)
  kAbbrevMonthDayYear,  // mar 3 1999
  kMonthDayYear,        // march 3, 1999
  kOrdinalOfMonthYear,  // the 3rd of march 1999
  kWeekdayMonthDayYear, // wednesday, march 3, 1999
  kDotDayMonthYear,     // 03.03.1999  (day first, as in Europe)
};
inline constexpr int kNumDateFormats = 8;

std::string render_date(const Date& date, DateFormat format);
std::string iso_date(const Date& date);  // "1999-03-03"
int days_in_month(int year, int month);
int day_of_week(const Date& date);  // 0 = sunday .. 6 = saturday (proleptic Gregorian)

}  // namespace s2s
