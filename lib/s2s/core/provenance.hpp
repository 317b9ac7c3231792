#pragma once
// Where and how a run ran: what `train` records in model.json and in the first line of
// train_log.jsonl, and what `train --resume` compares, since a run continued on another setup is
// no longer bit-identical to one that ran straight through.
//
// Reproducibility modes (train.reproducible, translate/evaluate --reproducible):
//   fast       OpenBLAS's kernels for this CPU and any BLAS thread count: bit-identical reruns on
//              the same kind of machine, with the same worker count and BLAS threads
//   portable   the AVX2 dispatch on every machine (S2S_CPU_ISA=avx2: OpenBLAS's Haswell kernels),
//              BLAS on one thread, MPI sums in rank order: bit-identical reruns on any x86-64
//              machine with AVX2 and FMA, given the same build, libraries, worker count and ranks
#include <string>
#include <utility>
#include <vector>

namespace s2s {

enum class Reproducibility { kFast, kPortable };

Reproducibility parse_reproducibility(const std::string& name);  // throws std::invalid_argument
const char* reproducibility_name(Reproducibility mode);

// The commit the sources were built from ("unknown" outside a git checkout) and whether tracked
// files differed from it (lib/build_info.cmake, run at every build).
const char* build_commit();
bool build_dirty();

// One record, as (name, JSON value) pairs in a fixed order: version, commit, dirty, blas,
// blas_core, blas_threads, cpu, cpu_isa, isa, workers, ranks, reproducible. String values are
// JSON-quoted, numbers and booleans are not.
struct Provenance {
  std::vector<std::pair<std::string, std::string>> fields;

  // The value of a field as JSON text, or "" if absent.
  std::string value(const std::string& name) const;
  // {"version": "0.1.0", "commit": "…", …} on one line.
  std::string json() const;
};

// This process now. `blas_threads` as training or decoding sets them.
Provenance current_provenance(Reproducibility mode, int workers, int ranks);

// From a JSON object's fields as text (unquoted strings), e.g. read back from model.json.
Provenance provenance_from_text(const std::vector<std::pair<std::string, std::string>>& fields);

// "cpu \"A\" -> \"B\"" for each field of `now` whose value differs from `before` (a field that
// `before` lacks counts as differing).
std::vector<std::string> provenance_differences(const Provenance& before, const Provenance& now);

// True when every difference leaves a portable run bit-identical: both portable, and only the CPU
// model and its own instruction set differ.
bool differences_keep_portable_bits(const Provenance& before, const Provenance& now);

}  // namespace s2s
