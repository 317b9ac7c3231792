#pragma once
// Every configuration key of s2s, declared once: Program_options parses INI files and
// "--section.key VALUE" overrides with it, to_ini() writes a run's resolved config with it, and
// markdown() generates docs/config.md from it (a test keeps that file in sync).
#include <boost/program_options.hpp>
#include <functional>
#include <string>
#include <vector>

#include "s2s/core/config.hpp"

namespace s2s::app {

class ConfigSchema {
 public:
  explicit ConfigSchema(RunConfig& config);  // every option writes into `config`

  const boost::program_options::options_description& options() const { return options_; }
  std::string to_ini() const;
  std::string markdown() const;

 private:
  template <typename T>
  void add(const std::string& key, T* field, const std::string& help);

  struct Key {
    std::string name;
    std::string help;
    std::string default_value;
    std::function<std::string()> current;
  };
  boost::program_options::options_description options_;
  std::vector<Key> keys_;
};

// Reads a config: defaults, then the INI file (if any), then the overrides (which win).
// Unknown keys, malformed values and contradictions throw std::runtime_error with one line.
RunConfig load_config(const std::string& ini_path, const std::vector<std::string>& overrides);
// Parses INI text (a model directory's saved config.ini).
RunConfig parse_config_text(const std::string& ini_text, const std::string& origin);

}  // namespace s2s::app
