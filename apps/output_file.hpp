#pragma once
// Output files that are never left half-written: the text goes to PATH.tmp.PID in the same
// directory, and commit() renames it onto PATH once every write has succeeded (flushed and
// fsynced). An error or a kill before that leaves PATH as it was; the destructor removes the
// temporary of an output that was not committed, and the next write to the same path removes
// the temporaries that killed processes left. A path that exists and is not a regular file
// (a device such as /dev/full, a FIFO, a link such as /dev/stdout) is written directly, with the
// same checks.
#include <fstream>
#include <string>
#include <vector>

namespace s2s::app {

class OutputFile {
 public:
  // Throws std::runtime_error "PATH: cannot write: REASON".
  explicit OutputFile(const std::string& path);
  ~OutputFile();
  OutputFile(const OutputFile&) = delete;
  OutputFile& operator=(const OutputFile&) = delete;

  std::ostream& stream() { return out_; }
  // Flushes and throws std::runtime_error "PATH: write failed: REASON" if a write failed.
  void check();
  // check(), then fsync and rename onto the path. Throws as check().
  void commit();

 private:
  std::string path_, written_;  // written_: the temporary, or path_ when writing directly
  std::ofstream out_;
  bool committed_ = false;
};

// Throws std::runtime_error when `output` names the same file as `input` (both existing):
// writing the output would destroy the input it is made from.
void refuse_same_file(const std::string& input, const std::string& output,
                      const std::string& input_flag, const std::string& output_flag);

// Removes the temporaries NAME.tmp.PID, for NAME in `names`, that processes which are gone
// (killed during a write) left in dir; a live writer's temporary stays.
void remove_dead_temporaries(const std::string& dir, const std::vector<std::string>& names);

// Flushes standard output; throws std::runtime_error "standard output: write failed: REASON".
void check_stdout();

}  // namespace s2s::app
