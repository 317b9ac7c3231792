#pragma once
// The process group of synchronous data-parallel training: R processes (ranks 0..R-1) started by
// `mpirun -np R` or Slurm's `srun`, each holding the same parameters. The trainer needs only
//   allreduce_sum(x)   x ← Σ_r x_r on every rank (the flat gradient buffer, loss statistics)
//   broadcast(x)       x ← x_root on every rank (initial parameters, validation results)
//   gather_text(s)     root receives [s_0 .. s_{R-1}] (per-rank RNG states for checkpoints)
//   barrier()          every rank waits until all have arrived
// Built without MPI (cmake -DS2S_WITH_MPI=OFF), or when no DistributedSession is active, the
// Communicator is the single process: rank 0 of 1, every collective is the identity. Only
// distributed.cpp includes <mpi.h>.
//
// Failure: the communicator uses MPI's default error handler (errors are fatal, the job is
// aborted), and a rank that exits abnormally makes mpirun kill the whole job. A rank that hits
// an error of its own must call DistributedSession::abort, not return from main: the other ranks
// would wait in their next collective forever.
#include <cstddef>
#include <string>
#include <vector>

namespace s2s {

class Communicator {
 public:
  Communicator() = default;  // the single process

  // MPI_COMM_WORLD while a DistributedSession is active; otherwise the single process.
  static Communicator world();

  int rank() const { return rank_; }
  int size() const { return size_; }
  bool is_root() const { return rank_ == 0; }

  // Sums in rank order, ((x_0 + x_1) + x_2) + …, instead of MPI's fastest algorithm, whose order
  // depends on the MPI library, its settings and the network: portable reproducibility.
  void set_ordered_sums(bool on) { ordered_sums_ = on; }
  bool ordered_sums() const { return ordered_sums_; }

  void allreduce_sum(float* data, std::size_t n) const;
  void allreduce_sum(double* data, std::size_t n) const;
  void broadcast(float* data, std::size_t n, int root = 0) const;
  void broadcast(double* data, std::size_t n, int root = 0) const;
  // On root: the texts of all ranks in rank order. Elsewhere: empty.
  std::vector<std::string> gather_text(const std::string& text, int root = 0) const;
  void barrier() const;

 private:
  bool uses_mpi_ = false;
  int rank_ = 0;
  int size_ = 1;
  bool ordered_sums_ = false;
};

// True when this build can run multi-process (S2S_WITH_MPI).
bool mpi_available();

// MPI_Init in the constructor, MPI_Finalize in the destructor. One per program, in main().
// Throws std::runtime_error when the build has no MPI.
class DistributedSession {
 public:
  DistributedSession(int& argc, char**& argv);
  ~DistributedSession();
  DistributedSession(const DistributedSession&) = delete;
  DistributedSession& operator=(const DistributedSession&) = delete;

  // Ends every rank of the job with `exit_code` (MPI_Abort). For errors on some ranks only.
  [[noreturn]] void abort(int exit_code);
};

}  // namespace s2s
