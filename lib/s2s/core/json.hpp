#pragma once
// The one JSON string writer of the project (model.json, attention maps, score --json).
#include <string>

namespace s2s {

// A JSON string literal: "…" with quotes, backslashes and control characters escaped.
std::string json_string(const std::string& text);

}  // namespace s2s
