#include "s2s/core/checkpoint.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <boost/archive/archive_exception.hpp>
#include <boost/archive/binary_iarchive.hpp>
#include <boost/archive/binary_oarchive.hpp>
#include <boost/serialization/map.hpp>
#include <boost/serialization/string.hpp>
#include <boost/serialization/vector.hpp>
#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <stdexcept>

#include "s2s/core/version.hpp"

namespace boost::serialization {
template <class Archive>
void serialize(Archive& ar, s2s::TensorRecord& t, const unsigned /*version*/) {
  ar & t.rows & t.cols & t.data;
}
template <class Archive>
void serialize(Archive& ar, s2s::Checkpoint& c, const unsigned /*version*/) {
  ar & c.library_version & c.tensors & c.texts & c.scalars;
}
}  // namespace boost::serialization

namespace s2s {

namespace {

constexpr char kMagic[8] = {'S', '2', 'S', 'C', 'K', 'P', 'T', '\0'};
constexpr std::size_t kHeaderSize = 8 + 4 + 8 + 8;

std::uint64_t fnv1a64(const std::string& bytes) {
  std::uint64_t hash = 1469598103934665603ULL;
  for (unsigned char c : bytes) {
    hash ^= c;
    hash *= 1099511628211ULL;
  }
  return hash;
}

template <typename T>
void append_pod(std::string& out, T value) {
  out.append(reinterpret_cast<const char*>(&value), sizeof(T));
}

template <typename T>
T read_pod(const std::string& in, std::size_t offset) {
  T value;
  std::memcpy(&value, in.data() + offset, sizeof(T));
  return value;
}

std::string directory_of(const std::string& path) {
  const auto slash = path.find_last_of('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

[[noreturn]] void fail_io(const std::string& path, const std::string& what) {
  throw std::runtime_error(path + ": " + what + ": " + std::strerror(errno));
}

}  // namespace

const TensorRecord& Checkpoint::tensor(const std::string& key) const {
  auto it = tensors.find(key);
  if (it == tensors.end()) throw std::runtime_error("checkpoint has no tensor '" + key + "'");
  return it->second;
}

const std::string& Checkpoint::text(const std::string& key) const {
  auto it = texts.find(key);
  if (it == texts.end()) throw std::runtime_error("checkpoint has no entry '" + key + "'");
  return it->second;
}

double Checkpoint::scalar(const std::string& key) const {
  auto it = scalars.find(key);
  if (it == scalars.end()) throw std::runtime_error("checkpoint has no value '" + key + "'");
  return it->second;
}

std::string content_digest(const std::string& bytes) {
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(fnv1a64(bytes)));
  return hex;
}

void write_file_atomically(const std::string& path, const std::string& contents) {
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0) fail_io(tmp, "cannot create");
  std::size_t written = 0;
  while (written < contents.size()) {
    const ssize_t n = ::write(fd, contents.data() + written, contents.size() - written);
    if (n < 0) {
      if (errno == EINTR) continue;
      ::close(fd);
      ::unlink(tmp.c_str());
      fail_io(tmp, "write failed");
    }
    written += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0 || ::close(fd) != 0) {
    ::unlink(tmp.c_str());
    fail_io(tmp, "fsync failed");
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) {
    ::unlink(tmp.c_str());
    fail_io(path, "rename failed");
  }
  const int dir = ::open(directory_of(path).c_str(), O_RDONLY | O_DIRECTORY);
  if (dir >= 0) {
    ::fsync(dir);
    ::close(dir);
  }
}

void save_checkpoint(const std::string& path, const Checkpoint& checkpoint) {
  Checkpoint stamped = checkpoint;
  if (stamped.library_version.empty()) stamped.library_version = kVersion;
  std::ostringstream payload_stream;
  {
    boost::archive::binary_oarchive archive(payload_stream);
    archive << stamped;
  }
  const std::string payload = payload_stream.str();
  std::string file(kMagic, sizeof(kMagic));
  append_pod<std::uint32_t>(file, kCheckpointFormat);
  append_pod<std::uint64_t>(file, payload.size());
  append_pod<std::uint64_t>(file, fnv1a64(payload));
  file += payload;
  write_file_atomically(path, file);
}

Checkpoint load_checkpoint(const std::string& path) {
  std::error_code error;
  if (std::filesystem::is_directory(path, error))
    throw std::runtime_error(path + ": is a directory, not a checkpoint");
  std::ifstream in(path, std::ios::binary);
  if (!in) throw std::runtime_error(path + ": cannot open checkpoint: " + std::strerror(errno));
  std::string file((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (file.size() < kHeaderSize || std::memcmp(file.data(), kMagic, sizeof(kMagic)) != 0)
    throw std::runtime_error(path + ": not an s2s checkpoint (bad magic number)");
  const auto format = read_pod<std::uint32_t>(file, 8);
  if (format != kCheckpointFormat)
    throw std::runtime_error(path + ": checkpoint format " + std::to_string(format) +
                             ", but this s2s " + kVersion + " reads format " +
                             std::to_string(kCheckpointFormat));
  const auto payload_size = read_pod<std::uint64_t>(file, 12);
  const auto checksum = read_pod<std::uint64_t>(file, 20);
  if (file.size() - kHeaderSize != payload_size)
    throw std::runtime_error(path + ": truncated checkpoint (" +
                             std::to_string(file.size() - kHeaderSize) + " of " +
                             std::to_string(payload_size) + " payload bytes)");
  const std::string payload = file.substr(kHeaderSize);
  if (fnv1a64(payload) != checksum)
    throw std::runtime_error(path + ": corrupt checkpoint (checksum mismatch)");
  // Boost's archive begins with the length of its signature and the signature; a damaged length
  // there would have it allocate gigabytes before it notices.
  static const std::string archive_prefix = [] {
    std::ostringstream empty;
    { boost::archive::binary_oarchive archive(empty); }
    return empty.str().substr(0, 8 + 22);  // uint64 length + "serialization::archive"
  }();
  if (payload.compare(0, archive_prefix.size(), archive_prefix) != 0)
    throw std::runtime_error(path + ": damaged checkpoint (its payload is not a Boost archive)");
  Checkpoint checkpoint;
  try {
    std::istringstream payload_stream(payload);
    boost::archive::binary_iarchive archive(payload_stream);
    archive >> checkpoint;
  } catch (const boost::archive::archive_exception& e) {
    throw std::runtime_error(path + ": unreadable checkpoint: " + e.what());
  } catch (const std::exception&) {
    // Sizes read from a payload that passed the checksum but is not what save_checkpoint wrote
    // (std::length_error, std::bad_alloc from a huge count): no library text for the user.
    throw std::runtime_error(path + ": damaged checkpoint (its payload does not decode)");
  }
  for (const auto& [name, tensor] : checkpoint.tensors)
    if (tensor.data.size() != tensor.rows * tensor.cols)
      throw std::runtime_error(path + ": damaged checkpoint (tensor " + name + " holds " +
                               std::to_string(tensor.data.size()) + " values for " +
                               std::to_string(tensor.rows) + " x " +
                               std::to_string(tensor.cols) + ")");
  return checkpoint;
}

}  // namespace s2s
