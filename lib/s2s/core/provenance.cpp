#include "s2s/core/provenance.hpp"

#include "s2s/core/blas_setup.hpp"
#include "s2s/core/choice.hpp"
#include "s2s/core/cpu.hpp"
#include "s2s/core/json.hpp"
#include "s2s/core/version.hpp"

namespace s2s {

Reproducibility parse_reproducibility(const std::string& name) {
  return parse_choice<Reproducibility>(
      "reproducibility mode", name,
      {{"fast", Reproducibility::kFast}, {"portable", Reproducibility::kPortable}});
}

const char* reproducibility_name(Reproducibility mode) {
  return mode == Reproducibility::kPortable ? "portable" : "fast";
}

std::string Provenance::value(const std::string& name) const {
  for (const auto& [key, text] : fields)
    if (key == name) return text;
  return "";
}

std::string Provenance::json() const {
  std::string out = "{";
  for (const auto& [key, text] : fields) {
    if (out.size() > 1) out += ", ";
    out += json_string(key) + ": " + text;
  }
  return out + "}";
}

Provenance current_provenance(Reproducibility mode, int workers, int ranks) {
  Provenance p;
  auto add = [&](const char* name, const std::string& json) { p.fields.emplace_back(name, json); };
  add("version", json_string(kVersion));
  add("commit", json_string(build_commit()));
  add("dirty", build_dirty() ? "true" : "false");
  add("blas", json_string(blas_library()));
  add("blas_core", json_string(blas_core_name()));
  add("blas_threads", std::to_string(blas_num_threads()));
  add("cpu", json_string(cpu_model_name()));
  add("cpu_isa", json_string(isa_name(cpu_isa())));
  add("isa", json_string(isa_name(dispatch_isa())));
  add("workers", std::to_string(workers));
  add("ranks", std::to_string(ranks));
  add("reproducible", json_string(reproducibility_name(mode)));
  return p;
}

Provenance provenance_from_text(const std::vector<std::pair<std::string, std::string>>& fields) {
  // The order and kinds of current_provenance: numbers and booleans stay bare.
  static const char* const bare[] = {"dirty", "blas_threads", "workers", "ranks"};
  Provenance p;
  for (const auto& [key, text] : fields) {
    bool is_bare = false;
    for (const char* name : bare) is_bare = is_bare || key == name;
    p.fields.emplace_back(key, is_bare ? text : json_string(text));
  }
  return p;
}

std::vector<std::string> provenance_differences(const Provenance& before, const Provenance& now) {
  std::vector<std::string> out;
  for (const auto& [key, text] : now.fields) {
    const std::string old = before.value(key);
    if (old != text) out.push_back(key + " " + (old.empty() ? "(none)" : old) + " -> " + text);
  }
  return out;
}

bool differences_keep_portable_bits(const Provenance& before, const Provenance& now) {
  const std::string portable = json_string("portable");
  if (before.value("reproducible") != portable || now.value("reproducible") != portable)
    return false;
  for (const auto& [key, text] : now.fields)
    if (key != "cpu" && key != "cpu_isa" && before.value(key) != text) return false;
  return true;
}

}  // namespace s2s
