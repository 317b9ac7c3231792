// The s2s command-line program: parsing, wiring, printing. Everything else lives in lib/.
#include <exception>
#include <iostream>
#include <string>

#include "s2s/blas_setup.hpp"
#include "s2s/version.hpp"

namespace {

int print_version() {
  std::cout << "s2s " << s2s::kVersion << "\n"
            << "BLAS: " << s2s::blas_description() << "\n";
  return 0;
}

void print_help(std::ostream& out) {
  out << "usage: s2s <command> [options]\n\n"
         "commands:\n"
         "  help         this message\n"
         "  version      library version, BLAS core and threads (also --version)\n";
}

}  // namespace

int main(int argc, char** argv) {
  s2s::ensure_blas_core(argc, argv);
  try {
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
    std::cerr << "s2s: unknown command '" << command << "'. Valid commands: help, version\n";
    return 2;
  } catch (const std::exception& e) {
    std::cerr << "s2s: error: " << e.what() << "\n";
    return 1;
  }
}
