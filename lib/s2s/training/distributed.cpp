#include "s2s/training/distributed.hpp"

#include <algorithm>
#include <climits>
#include <cstdlib>
#include <stdexcept>

#ifdef S2S_WITH_MPI
#include <mpi.h>
#endif

namespace s2s {

bool mpi_available() {
#ifdef S2S_WITH_MPI
  return true;
#else
  return false;
#endif
}

#ifdef S2S_WITH_MPI

namespace {

bool g_session_active = false;

// MPI counts are int: long buffers go in pieces of at most 2^30 elements.
constexpr std::size_t kMaxChunk = std::size_t(1) << 30;

template <typename T>
MPI_Datatype mpi_type();
template <>
MPI_Datatype mpi_type<float>() { return MPI_FLOAT; }
template <>
MPI_Datatype mpi_type<double>() { return MPI_DOUBLE; }

template <typename T>
void allreduce_sum_mpi(T* data, std::size_t n) {
  for (std::size_t start = 0; start < n; start += kMaxChunk) {
    const int count = static_cast<int>(std::min(kMaxChunk, n - start));
    MPI_Allreduce(MPI_IN_PLACE, data + start, count, mpi_type<T>(), MPI_SUM, MPI_COMM_WORLD);
  }
}

// The same sum with a fixed order whatever MPI's algorithm: every rank receives all ranks' values
// (in pieces, so the buffer stays at most kOrderedChunk · R elements) and adds them up as
// ((x_0 + x_1) + x_2) + …, so the bits depend on the rank count only.
constexpr std::size_t kOrderedChunk = std::size_t(1) << 20;

template <typename T>
void allreduce_sum_in_rank_order(T* data, std::size_t n, int ranks) {
  std::vector<T> all;
  for (std::size_t start = 0; start < n; start += kOrderedChunk) {
    const std::size_t count = std::min(kOrderedChunk, n - start);
    all.resize(count * static_cast<std::size_t>(ranks));
    MPI_Allgather(data + start, static_cast<int>(count), mpi_type<T>(), all.data(),
                  static_cast<int>(count), mpi_type<T>(), MPI_COMM_WORLD);
    for (std::size_t i = 0; i < count; ++i) {
      T sum = all[i];
      for (int r = 1; r < ranks; ++r) sum += all[static_cast<std::size_t>(r) * count + i];
      data[start + i] = sum;
    }
  }
}

template <typename T>
void broadcast_mpi(T* data, std::size_t n, int root) {
  for (std::size_t start = 0; start < n; start += kMaxChunk) {
    const int count = static_cast<int>(std::min(kMaxChunk, n - start));
    MPI_Bcast(data + start, count, mpi_type<T>(), root, MPI_COMM_WORLD);
  }
}

}  // namespace

Communicator Communicator::world() {
  Communicator c;
  if (!g_session_active) return c;
  c.uses_mpi_ = true;
  MPI_Comm_rank(MPI_COMM_WORLD, &c.rank_);
  MPI_Comm_size(MPI_COMM_WORLD, &c.size_);
  return c;
}

void Communicator::allreduce_sum(float* data, std::size_t n) const {
  if (!uses_mpi_ || size_ == 1) return;
  if (ordered_sums_)
    allreduce_sum_in_rank_order(data, n, size_);
  else
    allreduce_sum_mpi(data, n);
}
void Communicator::allreduce_sum(double* data, std::size_t n) const {
  if (!uses_mpi_ || size_ == 1) return;
  if (ordered_sums_)
    allreduce_sum_in_rank_order(data, n, size_);
  else
    allreduce_sum_mpi(data, n);
}
void Communicator::broadcast(float* data, std::size_t n, int root) const {
  if (uses_mpi_ && size_ > 1) broadcast_mpi(data, n, root);
}
void Communicator::broadcast(double* data, std::size_t n, int root) const {
  if (uses_mpi_ && size_ > 1) broadcast_mpi(data, n, root);
}

std::vector<std::string> Communicator::gather_text(const std::string& text, int root) const {
  if (!uses_mpi_ || size_ == 1) return {text};
  if (text.size() > static_cast<std::size_t>(INT_MAX))
    throw std::invalid_argument("gather_text: text longer than 2^31 bytes");
  const int length = static_cast<int>(text.size());
  std::vector<int> lengths(rank_ == root ? size_ : 0), offsets(lengths.size());
  MPI_Gather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, root, MPI_COMM_WORLD);
  std::string all;
  if (rank_ == root) {
    long total = 0;
    for (int r = 0; r < size_; ++r) {
      offsets[r] = static_cast<int>(total);
      total += lengths[r];
    }
    if (total > INT_MAX) throw std::invalid_argument("gather_text: texts longer than 2^31 bytes");
    all.resize(static_cast<std::size_t>(total));
  }
  MPI_Gatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
              root, MPI_COMM_WORLD);
  std::vector<std::string> texts;
  for (std::size_t r = 0; r < lengths.size(); ++r)
    texts.push_back(all.substr(offsets[r], lengths[r]));
  return texts;
}

void Communicator::barrier() const {
  if (uses_mpi_ && size_ > 1) MPI_Barrier(MPI_COMM_WORLD);
}

DistributedSession::DistributedSession(int& argc, char**& argv) {
  if (g_session_active) throw std::logic_error("DistributedSession: MPI is already initialised");
  MPI_Init(&argc, &argv);
  // Errors in MPI calls end the job with MPI's message instead of returning codes nobody checks.
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_ARE_FATAL);
  g_session_active = true;
}

DistributedSession::~DistributedSession() {
  g_session_active = false;
  MPI_Finalize();
}

void DistributedSession::abort(int exit_code) {
  MPI_Abort(MPI_COMM_WORLD, exit_code);
  std::exit(exit_code);  // MPI_Abort does not return; this keeps [[noreturn]] honest
}

#else  // the single process

Communicator Communicator::world() { return Communicator(); }
void Communicator::allreduce_sum(float*, std::size_t) const {}
void Communicator::allreduce_sum(double*, std::size_t) const {}
void Communicator::broadcast(float*, std::size_t, int) const {}
void Communicator::broadcast(double*, std::size_t, int) const {}
std::vector<std::string> Communicator::gather_text(const std::string& text, int) const {
  return {text};
}
void Communicator::barrier() const {}

DistributedSession::DistributedSession(int&, char**&) {
  throw std::runtime_error("this s2s was built without MPI (cmake -DS2S_WITH_MPI=ON needs "
                           "libopenmpi-dev); it cannot run as several processes");
}
DistributedSession::~DistributedSession() = default;
void DistributedSession::abort(int exit_code) { std::exit(exit_code); }

#endif

}  // namespace s2s
