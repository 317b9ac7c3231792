// The s2s command-line program: parsing, wiring, printing. Everything else lives in lib/.
#include <boost/program_options/errors.hpp>
#include <exception>
#include <iostream>
#include <string>

#include "commands.hpp"
#include "s2s/blas_setup.hpp"
#include "s2s/version.hpp"

namespace {

struct Command {
  const char* name;
  int (*run)(const s2s::app::Args&);
  const char* help;
};

const Command kCommands[] = {
    {"train", s2s::app::run_train, "train a model from a config file (or resume one)"},
    {"translate", s2s::app::run_translate, "translate lines from stdin or a file with a model"},
    {"evaluate", s2s::app::run_evaluate, "decode a test set and print BLEU, chrF, PER, WER, accuracy"},
    {"score", s2s::app::run_score, "score existing hypotheses against references"},
    {"generate", s2s::app::run_generate, "write a generated task (reverse, copy, sort, date)"},
    {"config-doc", s2s::app::run_config_doc, "print every config key as Markdown (docs/config.md)"},
};

int print_version() {
  std::cout << "s2s " << s2s::kVersion << "\n"
            << "BLAS: " << s2s::blas_description() << "\n";
  return 0;
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
    try {
      return c.run(s2s::app::Args(argv + 2, argv + argc));
    } catch (const s2s::app::UsageError& e) {
      std::cerr << "s2s " << command << ": " << e.what() << "\n";
      return 2;
    } catch (const boost::program_options::error& e) {
      std::cerr << "s2s " << command << ": " << e.what() << "\n";
      return 2;
    } catch (const std::exception& e) {
      std::cerr << "s2s " << command << ": error: " << e.what() << "\n";
      return 1;
    }
  }
  std::string valid;
  for (const Command& c : kCommands) valid += std::string(valid.empty() ? "" : ", ") + c.name;
  std::cerr << "s2s: unknown command '" << command << "'. Valid commands: " << valid
            << ", help, version\n";
  return 2;
}
