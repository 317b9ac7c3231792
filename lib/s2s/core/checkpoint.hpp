#pragma once
// Checkpoint files: a small, self-checking container written with Boost.Serialization.
//
// File layout (all integers little-endian, as written by this machine):
//   magic        8 bytes  "S2SCKPT\0"
//   format       uint32   kCheckpointFormat; a file of another format is refused by name
//   payload_size uint64   bytes that follow the header
//   checksum     uint64   FNV-1a 64 of the payload: a truncated or corrupt file is refused
//   payload      a boost::archive::binary_oarchive of a Checkpoint
//
// A Checkpoint is a plain bag of named things: tensors (parameters, optimizer moments), texts
// (the resolved config, RNG states, vocabularies) and scalars (step, epoch, best metric). What
// they mean is the caller's business (trainer.hpp); parameters are stored under their layout
// names, so a checkpoint loads into any model whose layout has the same names and shapes.
//
// Writes are atomic: a temporary file in the same directory, fsync, rename, fsync of the
// directory. A kill at any moment leaves either the old or the new file, both loadable.
#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace s2s {

inline constexpr std::uint32_t kCheckpointFormat = 1;

struct TensorRecord {
  std::uint64_t rows = 0;
  std::uint64_t cols = 0;
  std::vector<float> data;  // column-major, rows·cols values
};

struct Checkpoint {
  std::string library_version;  // stamped with this s2s's version on save when empty
  std::map<std::string, TensorRecord> tensors;
  std::map<std::string, std::string> texts;
  std::map<std::string, double> scalars;

  // Accessors that fail with a clear message naming the missing key.
  const TensorRecord& tensor(const std::string& key) const;
  const std::string& text(const std::string& key) const;
  double scalar(const std::string& key) const;
};

// A digest of some bytes (FNV-1a 64, as 16 hex digits): what a checkpoint records of the files
// that belong with it (the vocabularies), to tell when one was damaged or replaced.
std::string content_digest(const std::string& bytes);

// Throws std::runtime_error naming the path on any I/O failure.
void save_checkpoint(const std::string& path, const Checkpoint& checkpoint);
// Throws std::runtime_error "PATH: ..." for a missing file, a file that is not a checkpoint, a
// checkpoint of another format version, a truncated or a corrupt file.
Checkpoint load_checkpoint(const std::string& path);

// Writes `contents` to `path` atomically (temp file, fsync, rename, directory fsync).
void write_file_atomically(const std::string& path, const std::string& contents);

}  // namespace s2s
