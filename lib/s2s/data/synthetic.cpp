#include "s2s/data/synthetic.hpp"

#include <algorithm>
#include <cstdio>
#include <stdexcept>
#include <vector>

#include "s2s/core/choice.hpp"
#include "s2s/core/rng.hpp"

namespace s2s {
namespace {

const char* const kMonthNames[12] = {"january", "february", "march",     "april",
                                     "may",     "june",     "july",      "august",
                                     "september", "october", "november", "december"};
const char* const kMonthAbbrevs[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                       "jul", "aug", "sep", "oct", "nov", "dec"};
const char* const kWeekdays[7] = {"sunday",   "monday", "tuesday", "wednesday",
                                  "thursday", "friday", "saturday"};

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
std::int64_t days_from_civil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const std::int64_t yoe = y - era * 400;
  const std::int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const std::int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + doe - 719468;
}

Date civil_from_days(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const std::int64_t doe = z - era * 146097;
  const std::int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const std::int64_t mp = (5 * doy + 2) / 153;
  const int day = static_cast<int>(doy - (153 * mp + 2) / 5 + 1);
  const int month = static_cast<int>(mp < 10 ? mp + 3 : mp - 9);
  const int year = static_cast<int>(yoe + era * 400 + (month <= 2));
  return {year, month, day};
}

std::string ordinal(int n) {
  const char* suffix = "th";
  if (n % 100 < 11 || n % 100 > 13) {
    if (n % 10 == 1) suffix = "st";
    if (n % 10 == 2) suffix = "nd";
    if (n % 10 == 3) suffix = "rd";
  }
  return std::to_string(n) + suffix;
}

std::string two_digits(int n) {
  char text[8];
  std::snprintf(text, sizeof text, "%02d", n);
  return text;
}

std::string join_tokens(const std::vector<int>& tokens) {
  std::string line;
  for (std::size_t i = 0; i < tokens.size(); ++i) {
    if (i > 0) line.push_back(' ');
    line += std::to_string(tokens[i]);
  }
  return line;
}

}  // namespace

SyntheticTask parse_synthetic_task(std::string_view name) {
  return parse_choice<SyntheticTask>("task", name,
      {{"reverse", SyntheticTask::kReverse}, {"copy", SyntheticTask::kCopy},
       {"sort", SyntheticTask::kSort}, {"date", SyntheticTask::kDate}});
}

std::string synthetic_task_name(SyntheticTask task) {
  switch (task) {
    case SyntheticTask::kReverse: return "reverse";
    case SyntheticTask::kCopy: return "copy";
    case SyntheticTask::kSort: return "sort";
    case SyntheticTask::kDate: return "date";
  }
  return "?";
}

int days_in_month(int year, int month) {
  static const int kDays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
  return month == 2 && leap ? 29 : kDays[month - 1];
}

int day_of_week(const Date& date) {
  const std::int64_t days = days_from_civil(date.year, date.month, date.day);
  return static_cast<int>(((days % 7) + 7 + 4) % 7);  // 1970-01-01 was a thursday
}

std::string iso_date(const Date& date) {
  char text[32];
  std::snprintf(text, sizeof text, "%04d-%02d-%02d", date.year, date.month, date.day);
  return text;
}

std::string render_date(const Date& date, DateFormat format) {
  if (date.month < 1 || date.month > 12 || date.day < 1 ||
      date.day > days_in_month(date.year, date.month))
    throw std::invalid_argument("not a valid date: " + iso_date(date));
  const std::string month = kMonthNames[date.month - 1];
  const std::string abbrev = kMonthAbbrevs[date.month - 1];
  const std::string day = std::to_string(date.day);
  const std::string year = std::to_string(date.year);
  switch (format) {
    case DateFormat::kMonthOrdinalYear: return month + " " + ordinal(date.day) + ", " + year;
    case DateFormat::kDayMonthYear: return day + " " + month + " " + year;
    case DateFormat::kSlashMonthDayYear:
      return two_digits(date.month) + "/" + two_digits(date.day) + "/" + year;
    case DateFormat::kAbbrevMonthDayYear: return abbrev + " " + day + " " + year;
    case DateFormat::kMonthDayYear: return month + " " + day + ", " + year;
    case DateFormat::kOrdinalOfMonthYear:
      return "the " + ordinal(date.day) + " of " + month + " " + year;
    case DateFormat::kWeekdayMonthDayYear:
      return std::string(kWeekdays[day_of_week(date)]) + ", " + month + " " + day + ", " + year;
    case DateFormat::kDotDayMonthYear:
      return two_digits(date.day) + "." + two_digits(date.month) + "." + year;
  }
  throw std::invalid_argument("unknown date format");
}

ParallelText generate_synthetic(const SyntheticConfig& config) {
  Rng rng(config.seed);
  ParallelText text;
  text.source.reserve(config.count);
  text.target.reserve(config.count);
  if (config.task == SyntheticTask::kDate) {
    if (config.min_year > config.max_year || config.min_year < 1 || config.max_year > 9999)
      throw std::invalid_argument("date task: need 1 <= min_year <= max_year <= 9999");
    const std::int64_t first = days_from_civil(config.min_year, 1, 1);
    const std::int64_t last = days_from_civil(config.max_year, 12, 31);
    for (std::size_t i = 0; i < config.count; ++i) {
      const Date date = civil_from_days(first + static_cast<std::int64_t>(rng.below(last - first + 1)));
      const auto format = static_cast<DateFormat>(rng.below(kNumDateFormats));
      text.source.push_back(render_date(date, format));
      text.target.push_back(iso_date(date));
    }
    return text;
  }
  if (config.min_token > config.max_token)
    throw std::invalid_argument("sequence task: min_token > max_token");
  if (config.min_length < 1 || config.min_length > config.max_length)
    throw std::invalid_argument("sequence task: need 1 <= min_length <= max_length");
  const std::uint64_t token_range = static_cast<std::uint64_t>(config.max_token - config.min_token) + 1;
  std::vector<int> tokens, output;
  for (std::size_t i = 0; i < config.count; ++i) {
    const std::size_t length =
        config.min_length + rng.below(config.max_length - config.min_length + 1);
    tokens.resize(length);
    for (auto& token : tokens) token = config.min_token + static_cast<int>(rng.below(token_range));
    output = tokens;
    if (config.task == SyntheticTask::kReverse) std::reverse(output.begin(), output.end());
    if (config.task == SyntheticTask::kSort) std::sort(output.begin(), output.end());
    text.source.push_back(join_tokens(tokens));
    text.target.push_back(join_tokens(output));
  }
  return text;
}

SyntheticConfig reverse_benchmark(std::string_view split) {
  SyntheticConfig config;
  config.task = SyntheticTask::kReverse;
  config.min_token = 0;
  config.max_token = 49;
  config.min_length = 1;
  if (split == "train") {
    config.count = 50000;
    config.max_length = 25;
    config.seed = 1;
  } else if (split == "dev" || split == "test") {
    config.count = 1000;
    config.max_length = 30;
    config.seed = split == "dev" ? 2 : 3;
  } else {
    throw std::invalid_argument("Unknown split: " + std::string(split) +
                                ". Valid options: train, dev, test");
  }
  return config;
}

}  // namespace s2s
