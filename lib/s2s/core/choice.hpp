#pragma once
// A configuration choice parsed into its enum once, where the config is read, so that the maths
// switches on enums and never compares strings. Every parser of the library is one call:
//
//   return parse_choice<Bridge>("bridge", name, {{"zero", Bridge::kZero}, {"copy", ...}});
//
// An unknown name throws std::invalid_argument "Unknown WHAT: NAME. Valid options: a, b, c",
// the options in the order given.
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>

namespace s2s {

template <typename Enum>
Enum parse_choice(std::string_view what, std::string_view name,
                  std::initializer_list<std::pair<std::string_view, Enum>> options) {
  for (const auto& [option, value] : options)
    if (name == option) return value;
  std::string valid;
  for (const auto& option : options) {
    if (!valid.empty()) valid += ", ";
    valid += option.first;
  }
  throw std::invalid_argument("Unknown " + std::string(what) + ": " + std::string(name) +
                              ". Valid options: " + valid);
}

}  // namespace s2s
