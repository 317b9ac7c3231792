#include "s2s/data/task_data.hpp"

#include <fstream>
#include <stdexcept>

namespace s2s {

namespace {

std::vector<std::string> split_tabs(const std::string& line) {
  std::vector<std::string> fields;
  std::size_t start = 0;
  while (true) {
    const auto tab = line.find('\t', start);
    fields.push_back(line.substr(start, tab == std::string::npos ? std::string::npos : tab - start));
    if (tab == std::string::npos) return fields;
    start = tab + 1;
  }
}

void copy_file(const std::string& from, const std::string& to) {
  std::ifstream in(from, std::ios::binary);
  if (!in) throw std::runtime_error(from + ": cannot open SentencePiece model");
  std::ofstream out(to, std::ios::binary);
  out << in.rdbuf();
  if (!out) throw std::runtime_error(to + ": cannot write");
}

// The tokenizer of one side; for spm, trains a model on `lines` (or copies the given one) into
// model_dir/<side>.spm.model.
std::unique_ptr<Tokenizer> make_side_tokenizer(const std::string& kind, const std::string& given,
                                               const std::vector<std::string>* lines,
                                               const DataConfig& config,
                                               const std::string& model_dir,
                                               const std::string& side) {
  TokenizerConfig tc;
  tc.kind = parse_tokenizer_kind(kind);
  if (tc.kind == TokenizerKind::kSpm) {
    tc.spm_model = model_dir + "/" + side + ".spm.model";
    if (lines != nullptr) {
      if (!given.empty()) {
        copy_file(given, tc.spm_model);
      } else {
        SpmTrainConfig sc;
        sc.model_prefix = model_dir + "/" + side + ".spm";
        sc.model_type = config.spm_model_type;
        sc.vocab_size = config.spm_vocab_size;
        tc.spm_model = train_spm(*lines, sc);
      }
    }
  }
  return make_tokenizer(tc);
}

}  // namespace

std::vector<Index> Codec::encode_source(const std::string& line) const {
  return source_vocab.encode(source_tokenizer->encode(line));
}

std::vector<Index> Codec::encode_target(const std::string& line) const {
  return target_vocab.encode(target_tokenizer->encode(line));
}

std::string Codec::decode_target(const std::vector<Index>& ids) const {
  return target_tokenizer->decode(target_vocab.decode(ids));
}

TrainingData prepare_training_data(const DataConfig& config, const std::string& model_dir,
                                   bool reuse_codec) {
  if (config.train.empty()) throw std::runtime_error("data.train is not set");
  const ParallelText text = config.train_tgt.empty()
                                ? read_parallel_tsv(config.train)
                                : read_parallel_files(config.train, config.train_tgt);
  TrainingData data;
  Codec& codec = data.codec;
  if (reuse_codec) {
    codec = load_codec(config, model_dir);
  } else {
    codec.source_tokenizer = make_side_tokenizer(config.src_tokenizer, config.src_spm_model,
                                                 &text.source, config, model_dir, "src");
    codec.target_tokenizer = make_side_tokenizer(config.tgt_tokenizer, config.tgt_spm_model,
                                                 &text.target, config, model_dir, "tgt");
  }
  TokenizedText tokens = tokenize(text, *codec.source_tokenizer, *codec.target_tokenizer);
  LengthFilter filter;
  filter.max_source = static_cast<std::size_t>(config.max_src_len);
  filter.max_target = static_cast<std::size_t>(config.max_tgt_len);
  data.train_filter = filter_by_length(tokens, filter);
  if (tokens.size() == 0)
    throw std::runtime_error(config.train + ": no training pair is left after the length filter");
  if (!reuse_codec) {
    TokenCounts src_counts, tgt_counts;
    for (const auto& s : tokens.source) count_tokens(s, src_counts);
    for (const auto& t : tokens.target) count_tokens(t, tgt_counts);
    codec.source_vocab = Vocab::build(src_counts, config.min_freq, config.max_vocab);
    codec.target_vocab = Vocab::build(tgt_counts, config.min_freq, config.max_vocab);
    codec.source_vocab.save(model_dir + "/src.vocab");
    codec.target_vocab.save(model_dir + "/tgt.vocab");
  }
  data.train = to_ids(tokens, codec.source_vocab, codec.target_vocab);
  if (!config.dev.empty()) {
    const EvalData dev = read_eval_data(
        config.dev, config.dev_tgt.empty() ? std::vector<std::string>{}
                                           : std::vector<std::string>{config.dev_tgt});
    data.dev = make_dev_set(dev, codec);
  }
  return data;
}

Codec load_codec(const DataConfig& config, const std::string& model_dir) {
  Codec codec;
  codec.source_tokenizer =
      make_side_tokenizer(config.src_tokenizer, "", nullptr, config, model_dir, "src");
  codec.target_tokenizer =
      make_side_tokenizer(config.tgt_tokenizer, "", nullptr, config, model_dir, "tgt");
  codec.source_vocab = Vocab::load(model_dir + "/src.vocab");
  codec.target_vocab = Vocab::load(model_dir + "/tgt.vocab");
  return codec;
}

EvalData read_eval_data(const std::string& source_or_tsv,
                        const std::vector<std::string>& reference_files) {
  EvalData data;
  const std::vector<std::string> lines = read_text_lines(source_or_tsv);
  for (std::size_t i = 0; i < lines.size(); ++i) {
    std::vector<std::string> fields = split_tabs(lines[i]);
    if (reference_files.empty() && fields.size() < 2)
      throw std::runtime_error(source_or_tsv + ":" + std::to_string(i + 1) +
                               ": no tab between source and reference");
    data.sources.push_back(fields[0]);
    if (reference_files.empty()) data.references.emplace_back(fields.begin() + 1, fields.end());
  }
  if (reference_files.empty()) return data;
  std::vector<std::vector<std::string>> sets;
  for (const std::string& path : reference_files) {
    sets.push_back(read_text_lines(path));
    if (sets.back().size() != lines.size())
      throw std::runtime_error(path + " has " + std::to_string(sets.back().size()) +
                               " lines but " + source_or_tsv + " has " +
                               std::to_string(lines.size()));
  }
  try {
    data.references = gather_references(sets, /*split_tabs=*/true);
  } catch (const std::invalid_argument& e) {
    throw std::runtime_error(reference_files.front() + ": " + e.what());
  }
  return data;
}

DevSet make_dev_set(const EvalData& data, const Codec& codec) {
  DevSet dev;
  dev.references = data.references;
  for (std::size_t i = 0; i < data.sources.size(); ++i) {
    SequencePair pair;
    pair.source = codec.encode_source(data.sources[i]);
    pair.target = codec.encode_target(data.references[i].front());
    if (pair.source.empty()) continue;  // nothing to translate; keeps refs aligned below
    dev.pairs.push_back(std::move(pair));
  }
  if (dev.pairs.size() != data.sources.size())
    throw std::runtime_error("the dev set has empty sources");
  return dev;
}

}  // namespace s2s
