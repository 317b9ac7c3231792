#pragma once
// Checkpoint files made by hand for tests: a mutated payload with its checksum repaired (as
// save_checkpoint computes it, lib/s2s/core/checkpoint.cpp), so that the decoder meets the damage.
#include <cstdint>
#include <string>

namespace s2s::testing {

inline std::string with_valid_checksum(std::string file) {
  std::uint64_t hash = 1469598103934665603ULL;  // FNV-1a 64 over the payload (after 28 bytes)
  for (std::size_t i = 28; i < file.size(); ++i) {
    hash ^= static_cast<unsigned char>(file[i]);
    hash *= 1099511628211ULL;
  }
  for (int b = 0; b < 8; ++b) file[20 + b] = static_cast<char>((hash >> (8 * b)) & 0xff);
  return file;
}

}  // namespace s2s::testing
