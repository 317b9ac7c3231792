// The s2s command-line program: parsing, wiring, printing. Everything else lives in lib/.
#include <boost/program_options/errors.hpp>
#include <exception>
#include <cstdlib>
#include <iostream>
#include <new>
#include <optional>
#include <string>

#include "cli_util.hpp"
#include "commands.hpp"
#include "output_file.hpp"
#include "s2s/core/blas_setup.hpp"
#include "s2s/core/cpu.hpp"
#include "s2s/core/provenance.hpp"
#include "s2s/core/version.hpp"
#include "s2s/core/worker_pool.hpp"
#include "s2s/training/distributed.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const s2s::app::Args&);
  const char* help;
  bool multi_process;  // runs as all ranks of an MPI job when started by mpirun or srun
};

const Command kCommands[] = {
    {"train", s2s::app::run_train, "train a model from a config file (or resume one)", true},
    {"translate", s2s::app::run_translate, "translate lines from stdin or a file with a model", false},
    {"evaluate", s2s::app::run_evaluate, "decode a test set and print BLEU, chrF, PER, WER, accuracy", false},
    {"average", s2s::app::run_average, "average the last K validation checkpoints of a model", false},
    {"score", s2s::app::run_score, "score existing hypotheses against references", false},
    {"score-model", s2s::app::run_score_model, "the log-probability a model gives given outputs, token by token (forced scoring)", false},
    {"generate", s2s::app::run_generate, "write a generated task (reverse, copy, sort, date)", false},
    {"config-doc", s2s::app::run_config_doc, "print every config key as Markdown (docs/config.md)", false},
};

int print_version() {
  std::cout << "s2s " << s2s::kVersion << "\n"
            << "BLAS: " << s2s::blas_description() << "\n"
            << "CPU: " << s2s::cpu_model_name() << " (" << s2s::isa_name(s2s::cpu_isa())
            << "; dispatch " << s2s::isa_name(s2s::dispatch_isa()) << ")\n"
            << "commit: " << s2s::build_commit() << (s2s::build_dirty() ? " (dirty)" : "") << "\n"
            << "MPI: " << (s2s::mpi_available() ? "yes" : "no (single process only)") << "\n";
  return 0;
}

// Runs the command and prints its error, if any, as one line. Returns the exit code.
int run_command(const Command& c, const std::string& command, int& argc, char**& argv,
                std::optional<s2s::DistributedSession>& mpi) {
  std::string where = command;
  try {
    // A plain `s2s train` skips MPI_Init, which costs half a second even for a single process.
    if (c.multi_process && s2s::app::started_by_mpi_launcher()) {
      mpi.emplace(argc, argv);
      const s2s::Communicator world = s2s::Communicator::world();
      if (world.size() > 1)
        where += " (rank " + std::to_string(world.rank()) + " of " +
                 std::to_string(world.size()) + ")";
    }
    const int code = c.run(s2s::app::Args(argv + 2, argv + argc));
    s2s::app::check_stdout();  // a result printed into a full disk is an error, not a success
    return code;
  } catch (const s2s::app::UsageError& e) {
    std::cerr << "s2s " << where << ": " << e.what() << "\n";
    return 2;
  } catch (const boost::program_options::error& e) {
    std::cerr << "s2s " << where << ": " << e.what() << "\n";
    return 2;
  } catch (const std::bad_alloc&) {
    std::cerr << "s2s " << where << ": error: out of memory (the model, a batch or the data does "
                                    "not fit in this machine's memory: try smaller model sizes, "
                                    "train.batch_size or --batch-size)\n";
    return 1;
  } catch (const std::exception& e) {
    std::cerr << "s2s " << where << ": error: " << e.what() << "\n";
    return 1;
  } catch (...) {
    std::cerr << "s2s " << where << ": error: an unexpected failure of an unknown kind\n";
    return 1;
  }
}

void print_help(std::ostream& out) {
  out << "usage: s2s <command> [options]     (s2s <command> --help for its options)\n\n"
         "commands:\n";
  for (const Command& c : kCommands) {
    std::string name = c.name;
    name.resize(12, ' ');
    out << "  " << name << c.help << "\n";
  }
  out << "  help        this message\n"
         "  version     library version, BLAS core and threads (also --version)\n";
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  s2s::tune_malloc();  // one arena, blocks kept for reuse (worker_pool.hpp)
  if (argc < 2) {
    print_help(std::cerr);
    return 2;
  }
  const std::string command = argv[1];
  if (command == "--version" || command == "version") return print_version();
  if (command == "help" || command == "--help" || command == "-h") {
    print_help(std::cout);
    return 0;
  }
  for (const Command& c : kCommands) {
    if (command != c.name) continue;
    std::optional<s2s::DistributedSession> mpi;
    const int code = run_command(c, command, argc, argv, mpi);
    // The other ranks may be waiting in a collective for this one: end them all, now.
    if (mpi && code != 0 && s2s::Communicator::world().size() > 1) mpi->abort(code);
    return code;
  }
  std::string valid;
  for (const Command& c : kCommands) valid += std::string(valid.empty() ? "" : ", ") + c.name;
  std::cerr << "s2s: unknown command '" << command << "'. Valid commands: " << valid
            << ", help, version\n";
  return 2;
}
