// s2s translate --model DIR [--beam K | --sample ...] [--input FILE] [--output FILE]
//               [--attention-out FILE]
//
// Outputs: --output and --attention-out appear whole, when every line is done (output_file.hpp);
// standard output streams, and a failed write ends the run with an error.
//
// Streams: lines are translated as they arrive. Lines that are already waiting are decoded
// together (up to --batch-size), so a pipe of a million lines runs batched while an interactive
// user gets each answer at once.
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <iostream>
#include <optional>

#include "cli_util.hpp"
#include "model_dir.hpp"
#include "output_file.hpp"
#include "s2s/core/utf8.hpp"
#include "s2s/core/json.hpp"

namespace po = boost::program_options;

namespace s2s::app {

namespace {

// Reads lines from a file descriptor and tells whether more input is ready without blocking.
class LineReader {
 public:
  explicit LineReader(int fd) : fd_(fd) {}

  bool next(std::string& line) {
    while (true) {
      const auto newline = buffer_.find('\n', pos_);
      if (newline != std::string::npos) {
        line.assign(buffer_, pos_, newline - pos_);
        pos_ = newline + 1;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        return true;
      }
      if (eof_) {
        if (pos_ >= buffer_.size()) return false;
        line.assign(buffer_, pos_, std::string::npos);
        pos_ = buffer_.size();
        return true;
      }
      fill();
    }
  }

  // True when a next line can be had without waiting.
  bool ready() const {
    if (buffer_.find('\n', pos_) != std::string::npos || eof_) return true;
    pollfd p{fd_, POLLIN, 0};
    return ::poll(&p, 1, 0) > 0;
  }

 private:
  void fill() {
    if (pos_ > 0) {
      buffer_.erase(0, pos_);
      pos_ = 0;
    }
    char chunk[1 << 16];
    ssize_t n;
    do n = ::read(fd_, chunk, sizeof chunk);
    while (n < 0 && errno == EINTR);
    if (n < 0) throw std::runtime_error(std::string("read failed: ") + std::strerror(errno));
    if (n == 0) eof_ = true;
    buffer_.append(chunk, static_cast<std::size_t>(n));
  }

  int fd_;
  std::string buffer_;
  std::size_t pos_ = 0;
  bool eof_ = false;
};

// One JSON object per input line (docs/attention_format.md).
void write_attention(std::ostream& out, std::size_t line_number,
                     const std::vector<std::string>& source_tokens,
                     const std::vector<std::string>& output_tokens, const Hypothesis& h) {
  out << "{\"line\": " << line_number << ", \"source\": [";
  for (std::size_t i = 0; i < source_tokens.size(); ++i)
    out << (i ? ", " : "") << json_string(source_tokens[i]);
  out << "], \"output\": [";
  for (std::size_t i = 0; i < output_tokens.size(); ++i)
    out << (i ? ", " : "") << json_string(output_tokens[i]);
  // Only the real source positions (padding weights are exactly zero).
  auto write_row = [&](const std::vector<float>& weights) {
    out << "[";
    for (std::size_t s = 0; s < source_tokens.size() && s < weights.size(); ++s) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%s%.6g", s ? ", " : "", weights[s]);
      out << buf;
    }
    out << "]";
  };
  out << "], \"weights\": [";
  for (std::size_t t = 0; t < h.attention.size(); ++t) {
    out << (t ? ", " : "");
    write_row(h.attention[t]);
  }
  out << "]";
  if (!h.head_attention.empty()) {  // heads[k][t]: head k of the last layer at output step t
    out << ", \"heads\": [";
    for (std::size_t k = 0; k < h.head_attention.front().size(); ++k) {
      out << (k ? ", " : "") << "[";
      for (std::size_t t = 0; t < h.head_attention.size(); ++t) {
        out << (t ? ", " : "");
        write_row(h.head_attention[t][k]);
      }
      out << "]";
    }
    out << "]";
  }
  out << "}\n";
}

}  // namespace

int run_translate(const Args& args) {
  ModelFlags model;
  std::string input, output, attention_out;
  DecodeFlags flags;
  po::options_description opts("s2s translate options");
  model.add_to(opts);
  opts.add_options()
      ("help", "this message")
      ("input", po::value<std::string>(&input), "input file (default: standard input), one sequence per line")
      ("output", po::value<std::string>(&output), "output file (default: standard output)")
      ("attention-out", po::value<std::string>(&attention_out), "write the attention weights of each output as JSON lines (docs/attention_format.md)");
  flags.add_to(opts);
  flags.add_sampling_to(opts);
  po::variables_map vm;
  parse_args(args, opts, vm);
  if (vm.count("help")) {
    print_usage("translate --model DIR [options] < input > output", opts);
    return 0;
  }

  DecodingModels models = model.load();
  // Before any input is read: portable mode may restart the program.
  enter_reproducibility(flags.reproducibility(models.config().train), "portable mode");
  flags.enter_precision(models.config().train, "s2s translate");
  DecodeOptions options = flags.resolve(models.config().decode);
  options.keep_attention = !attention_out.empty();
  const Codec& codec = models.codec();

  int fd = STDIN_FILENO;
  const std::string input_name = input.empty() ? "<stdin>" : input;
  if (!input.empty()) {
    fd = ::open(input.c_str(), O_RDONLY);
    if (fd < 0) throw std::runtime_error(input + ": " + std::strerror(errno));
  }
  refuse_same_file(input, output, "--input", "--output");
  refuse_same_file(input, attention_out, "--input", "--attention-out");
  refuse_same_file(output, attention_out, "--output", "--attention-out");
  std::optional<OutputFile> output_file, attention_file;
  if (!output.empty()) output_file.emplace(output);
  if (!attention_out.empty()) attention_file.emplace(attention_out);
  std::ostream& out = output_file ? output_file->stream() : std::cout;

  const std::size_t max_length = models.model().max_length();
  const auto pool = make_decoding_pool(flags.workers);
  LineReader reader(fd);
  std::vector<std::string> lines;
  std::size_t line_number = 0;
  auto flush = [&] {
    std::vector<std::vector<Index>> sources;
    std::vector<std::size_t> non_empty, numbers;  // numbers: 0-based input lines
    // model.copy: each line's source tokens outside the vocabulary, which outputs can copy.
    std::vector<std::vector<std::string>> oovs(lines.size()), kept_oovs;
    const std::size_t first_line = line_number - lines.size() + 1;
    for (std::size_t i = 0; i < lines.size(); ++i) {
      std::vector<Index> ids = codec.encode_source(lines[i], &oovs[i]);
      if (ids.empty()) continue;  // an empty line translates to an empty line
      if (max_length > 0 && ids.size() > max_length)
        throw std::runtime_error(input_name + ":" + std::to_string(first_line + i) + ": " +
                                 std::to_string(ids.size()) +
                                 " tokens, more than the model takes (" +
                                 std::to_string(max_length) + ")");
      sources.push_back(std::move(ids));
      if (codec.extended) kept_oovs.push_back(oovs[i]);
      non_empty.push_back(i);
      numbers.push_back(first_line - 1 + i);
    }
    std::vector<Translation> translations(lines.size());
    if (!sources.empty()) {
      auto done = translate(models.model(), sources, codec.target_vocab, *codec.target_tokenizer,
                            options, static_cast<uword>(flags.batch_size), pool.get(), numbers,
                            kept_oovs);
      for (std::size_t k = 0; k < non_empty.size(); ++k)
        translations[non_empty[k]] = std::move(done[k]);
    }
    const std::size_t first = line_number - lines.size();
    for (std::size_t i = 0; i < lines.size(); ++i) {
      const Translation& t = translations[i];
      if (options.nbest > 1) {
        for (const Hypothesis& h : t.nbest)
          out << first + i << " ||| " << codec.decode_target(h.tokens, oovs[i]) << " ||| " << h.score
              << "\n";
      } else {
        out << t.text << "\n";
      }
      if (attention_file && !t.nbest.empty())
        write_attention(attention_file->stream(), first + i + 1,
                        codec.source_tokenizer->encode(lines[i]),
                        codec.target_vocab.decode(t.nbest.front().tokens, oovs[i]),
                        t.nbest.front());
    }
    // A failed write ends the run now, not after the whole input.
    if (output_file) output_file->check(); else check_stdout();
    if (attention_file) attention_file->check();
    lines.clear();
  };
  std::string line;
  while (reader.next(line)) {
    ++line_number;
    if (line_number == 1) strip_utf8_bom(line);
    check_utf8(line, input_name + ":" + std::to_string(line_number));
    lines.push_back(line);
    if (lines.size() >= static_cast<std::size_t>(flags.batch_size) || !reader.ready()) flush();
  }
  flush();
  if (fd != STDIN_FILENO) ::close(fd);
  if (output_file) output_file->commit();
  if (attention_file) attention_file->commit();
  return 0;
}

}  // namespace s2s::app
