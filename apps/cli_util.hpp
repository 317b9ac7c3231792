#pragma once
// Small helpers shared by the subcommands.
#include <boost/program_options.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

#include "commands.hpp"
#include "s2s/core/config.hpp"
#include "s2s/core/provenance.hpp"
#include "s2s/decoding/decoding.hpp"
#include "s2s/decoding/evaluation.hpp"

namespace s2s::app {

// Parses args against opts into vm; with `rest`, unknown options are returned there instead of
// being an error. Positional arguments are always a usage error.
void parse_args(const Args& args, const boost::program_options::options_description& opts,
                boost::program_options::variables_map& vm, Args* rest = nullptr);

// "usage: s2s CMD ...\n" + the options with their defaults.
void print_usage(const std::string& synopsis,
                 const boost::program_options::options_description& opts);

// The decoding options of a run, from its [decode] section and the command-line overrides.
struct DecodeFlags {
  int beam = 0;                // 0: the config's decode.beam_size
  double length_penalty = -1;  // < 0: the config's
  double coverage_penalty = -1;  // < 0: the config's
  int nbest = 1;
  int batch_size = 64;
  int workers = 0;             // 0: one per core
  std::string reproducible;    // "": the model's train.reproducible
  std::string precision;       // "": the model's train.precision where this machine runs it
  // Sampling (translate only: add_sampling_to); --nbest is then the number of samples.
  bool sample = false;
  double temperature = 1.0, top_p = 1.0;
  int top_k = 0;
  unsigned long long seed = 1;
  void add_to(boost::program_options::options_description& opts);
  void add_sampling_to(boost::program_options::options_description& opts);
  DecodeOptions resolve(const DecodeConfig& config) const;
  // --reproducible, or the model's train.reproducible; a bad name is a usage error.
  Reproducibility reproducibility(const TrainConfig& model_training) const;
  // Sets the precision of the weight products (s2s/core/gemm.hpp): --precision (an error where
  // it cannot run), or the model's train.precision, falling back to fp32 with a note on stderr
  // where bf16 cannot run. Call it after enter_reproducibility. `command` starts the note.
  void enter_precision(const TrainConfig& model_training, const std::string& command) const;
};

// Started as one rank of a job by Open MPI's mpirun (OMPI_COMM_WORLD_SIZE) or by a PMI/PMIx
// launcher such as Slurm's srun --mpi=pmix (PMIX_RANK) or --mpi=pmi2 (PMI_RANK).
bool started_by_mpi_launcher();

// Puts the program into `mode` (s2s/core/provenance.hpp). Portable: the AVX2 dispatch, which may
// restart the program (so call it before any output, input or file write), and one BLAS thread.
// `why` starts the messages ("train.reproducible = portable"). Under an MPI launcher the ranks
// cannot restart themselves: they must have been started with S2S_CPU_ISA=avx2.
void enter_reproducibility(Reproducibility mode, const std::string& why);

// Threads that decode whole batches concurrently (decode_batches in decoding.hpp): `workers`
// of them, 0 meaning one per core. With more than one, BLAS is set to one thread.
std::unique_ptr<WorkerPool> make_decoding_pool(int workers);

void print_metrics(std::ostream& out, const EvalMetrics& m, bool json);

}  // namespace s2s::app
